// Depacketizer: reassembly, loss, duplicates, reordering, eviction, limits;
// never a partial or corrupted frame out, every drop counted.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "datatrack/depacketizer.h"
#include "datatrack/packetizer.h"

namespace lk::datatrack {
namespace {

using Bytes = std::vector<uint8_t>;
constexpr size_t kChunk = 15988;  // payload per packet without extensions

Bytes pattern(size_t n, uint8_t seed = 1) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = uint8_t(i * 13 + seed);
  return b;
}

Bytes packet(Marker marker, uint16_t seq, uint16_t frame, const Bytes& payload, const Extensions& ext = {}) {
  Header h;
  h.marker = marker;
  h.handle = 5;
  h.sequence = seq;
  h.frame_number = frame;
  h.timestamp = 1234;
  h.extensions = ext;
  Bytes out(header_size(ext));
  EXPECT_TRUE(write_header(h, out).ok());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

// The packets the real packetizer makes for `frame` (sequence/frame number start at 0).
std::vector<Bytes> packetize(const std::vector<Bytes>& frames, const Extensions& ext = {}) {
  Packetizer p(5, 0, [] { return uint64_t(0); });
  std::vector<Bytes> out;
  for (const Bytes& f : frames) {
    EXPECT_TRUE(p.packetize(f, ext, [&](std::span<const uint8_t> b) { out.emplace_back(b.begin(), b.end()); }).ok());
  }
  return out;
}

std::vector<Frame> push_all(Depacketizer& d, const std::vector<Bytes>& packets) {
  std::vector<Frame> frames;
  for (const Bytes& p : packets) {
    if (auto f = d.push(p)) frames.push_back(std::move(*f));
  }
  return frames;
}

TEST(DatatrackDepacketizer, SinglePacketFrameIsDeliveredWithItsFields) {
  Depacketizer d;
  Extensions ext;
  ext.user_timestamp = 77;
  auto frame = d.push(packet(Marker::Single, 9, 4, pattern(10), ext));
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->payload, pattern(10));
  EXPECT_EQ(frame->extensions, ext);
  EXPECT_EQ(frame->frame_number, 4);
  EXPECT_EQ(frame->timestamp, 1234u);
  EXPECT_EQ(d.drops().total(), 0u);
}

TEST(DatatrackDepacketizer, ReassemblesPacketizerOutputForManySizes) {
  std::vector<Bytes> frames;
  for (size_t n : {size_t(1), kChunk - 1, kChunk, kChunk + 1, 5 * kChunk, 5 * kChunk + 3, 128 * kChunk}) {
    frames.push_back(pattern(n, uint8_t(n)));
  }
  Extensions ext;
  ext.e2ee = E2eeExtension{2, {1, 2, 3}};
  for (const Extensions& e : {Extensions{}, ext}) {
    if (!e.empty()) frames.back().resize(128 * (kChunk - 20));  // keep within 128 packets
    Depacketizer d;
    auto out = push_all(d, packetize(frames, e));
    ASSERT_EQ(out.size(), frames.size());
    for (size_t i = 0; i < frames.size(); ++i) {
      EXPECT_EQ(out[i].payload, frames[i]) << i;
      EXPECT_EQ(out[i].extensions, e);
      EXPECT_EQ(out[i].frame_number, i);
    }
    EXPECT_EQ(d.drops().total(), 0u);
  }
}

TEST(DatatrackDepacketizer, RepeatedFrameSizeIsAssembledInOneBufferWithoutRegrowth) {
  const Bytes frame = pattern(10 * kChunk + 5);
  Depacketizer d;
  auto out = push_all(d, packetize({frame, frame, frame}));
  ASSERT_EQ(out.size(), 3u);
  for (size_t i = 1; i < 3; ++i) {
    EXPECT_EQ(out[i].payload, frame);
    EXPECT_EQ(out[i].payload.capacity(), frame.size());  // reserved once from the size hint, filled in place
  }
}

TEST(DatatrackDepacketizer, OutOfOrderPacketsWithinAFrameAssemble) {
  const Bytes frame = pattern(4 * kChunk + 100);
  auto packets = packetize({frame});
  ASSERT_EQ(packets.size(), 5u);
  std::swap(packets[1], packets[3]);
  std::swap(packets[2], packets[1]);
  Depacketizer d;
  auto out = push_all(d, packets);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, frame);
}

TEST(DatatrackDepacketizer, LostInterDropsFrameAsIncompleteAndNextFrameStillArrives) {
  auto packets = packetize({pattern(3 * kChunk), pattern(7)});
  packets.erase(packets.begin() + 1);
  Depacketizer d;
  auto out = push_all(d, packets);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, pattern(7));
  EXPECT_EQ(d.drops()[DropReason::Incomplete], 1u);
  EXPECT_EQ(d.open_frames(), 0u);
}

TEST(DatatrackDepacketizer, FinalBeforeInterDropsFrameAndLateInterIsUnknown) {
  auto packets = packetize({pattern(3 * kChunk)});
  std::swap(packets[1], packets[2]);  // Start, Final, Inter
  Depacketizer d;
  EXPECT_TRUE(push_all(d, packets).empty());
  EXPECT_EQ(d.drops()[DropReason::Incomplete], 1u);
  EXPECT_EQ(d.drops()[DropReason::UnknownFrame], 1u);
}

TEST(DatatrackDepacketizer, LostStartMakesEveryOtherPacketUnknown) {
  auto packets = packetize({pattern(4 * kChunk)});
  packets.erase(packets.begin());
  Depacketizer d;
  EXPECT_TRUE(push_all(d, packets).empty());
  EXPECT_EQ(d.drops()[DropReason::UnknownFrame], 3u);
}

TEST(DatatrackDepacketizer, DuplicateSequenceReplacesEarlierPayload) {
  Depacketizer d;
  EXPECT_FALSE(d.push(packet(Marker::Start, 10, 1, pattern(4, 1))));
  EXPECT_FALSE(d.push(packet(Marker::Inter, 11, 1, pattern(4, 2))));
  EXPECT_FALSE(d.push(packet(Marker::Inter, 11, 1, pattern(4, 3))));
  auto frame = d.push(packet(Marker::Final, 12, 1, pattern(2, 4)));
  ASSERT_TRUE(frame);
  Bytes expected = pattern(4, 1);
  for (const Bytes& part : {pattern(4, 3), pattern(2, 4)}) expected.insert(expected.end(), part.begin(), part.end());
  EXPECT_EQ(frame->payload, expected);
  EXPECT_EQ(d.drops().total(), 0u);
}

TEST(DatatrackDepacketizer, SequenceWrapsInsideAFrame) {
  Depacketizer d;
  EXPECT_FALSE(d.push(packet(Marker::Start, 65534, 8, pattern(3, 1))));
  EXPECT_FALSE(d.push(packet(Marker::Inter, 65535, 8, pattern(3, 2))));
  EXPECT_FALSE(d.push(packet(Marker::Inter, 0, 8, pattern(3, 3))));
  auto frame = d.push(packet(Marker::Final, 1, 8, pattern(1, 4)));
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->payload.size(), 10u);
  EXPECT_EQ(frame->payload[9], pattern(1, 4)[0]);
}

TEST(DatatrackDepacketizer, NewStartEvictsOpenFrameAtDefaultLimit) {
  Depacketizer d;
  EXPECT_FALSE(d.push(packet(Marker::Start, 0, 1, pattern(4))));
  EXPECT_FALSE(d.push(packet(Marker::Start, 5, 2, pattern(4))));
  EXPECT_EQ(d.drops()[DropReason::Interrupted], 1u);
  EXPECT_FALSE(d.push(packet(Marker::Final, 1, 1, pattern(4))));  // belongs to the evicted frame
  EXPECT_EQ(d.drops()[DropReason::UnknownFrame], 1u);
  EXPECT_TRUE(d.push(packet(Marker::Final, 6, 2, pattern(4))));
}

TEST(DatatrackDepacketizer, SingleEvictsOpenFrameAtLimit) {
  Depacketizer d;
  EXPECT_FALSE(d.push(packet(Marker::Start, 0, 1, pattern(4))));
  EXPECT_TRUE(d.push(packet(Marker::Single, 1, 2, pattern(4))));
  EXPECT_EQ(d.drops()[DropReason::Interrupted], 1u);
  EXPECT_EQ(d.open_frames(), 0u);
}

TEST(DatatrackDepacketizer, InterleavedFramesAssembleWithHigherLimitAndOldestIsEvicted) {
  Depacketizer d(2);
  EXPECT_FALSE(d.push(packet(Marker::Start, 0, 1, pattern(4, 1))));
  EXPECT_FALSE(d.push(packet(Marker::Start, 10, 2, pattern(4, 2))));
  EXPECT_TRUE(d.push(packet(Marker::Single, 20, 3, pattern(4, 3))));  // 2 open < limit? no: evicts frame 1
  EXPECT_EQ(d.drops()[DropReason::Interrupted], 1u);
  EXPECT_FALSE(d.push(packet(Marker::Start, 30, 4, pattern(4, 4))));
  auto f2 = d.push(packet(Marker::Final, 11, 2, pattern(1, 5)));
  auto f4 = d.push(packet(Marker::Final, 31, 4, pattern(1, 6)));
  ASSERT_TRUE(f2);
  ASSERT_TRUE(f4);
  EXPECT_EQ(f2->payload.size(), 5u);
  EXPECT_EQ(f2->payload[0], pattern(4, 2)[0]);
  EXPECT_EQ(f4->payload[4], pattern(1, 6)[0]);
  EXPECT_FALSE(d.push(packet(Marker::Final, 1, 1, pattern(1))));
  EXPECT_EQ(d.drops()[DropReason::UnknownFrame], 1u);
}

TEST(DatatrackDepacketizer, RestartedFrameNumberReplacesOldAttempt) {
  Depacketizer d(4);
  EXPECT_FALSE(d.push(packet(Marker::Start, 0, 1, pattern(4, 1))));
  EXPECT_FALSE(d.push(packet(Marker::Start, 9, 1, pattern(4, 2))));
  EXPECT_EQ(d.drops()[DropReason::Interrupted], 1u);
  EXPECT_EQ(d.open_frames(), 1u);
  auto f = d.push(packet(Marker::Final, 10, 1, pattern(4, 3)));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->payload[0], pattern(4, 2)[0]);
}

TEST(DatatrackDepacketizer, FrameOf128PacketsPassesAndLongerIsDropped) {
  Depacketizer d;
  for (int n : {128, 130}) {
    const uint16_t base = uint16_t(n * 1000);
    EXPECT_FALSE(d.push(packet(Marker::Start, base, uint16_t(n), pattern(4))));
    for (int i = 1; i < n - 1; ++i) EXPECT_FALSE(d.push(packet(Marker::Inter, uint16_t(base + i), uint16_t(n), pattern(4))));
    auto f = d.push(packet(Marker::Final, uint16_t(base + n - 1), uint16_t(n), pattern(2)));
    if (n == 128) {
      ASSERT_TRUE(f);
      EXPECT_EQ(f->payload.size(), 127u * 4 + 2);
    } else {
      EXPECT_FALSE(f);
    }
  }
  EXPECT_EQ(d.drops()[DropReason::TooManyPackets], 1u);
  EXPECT_EQ(d.drops()[DropReason::UnknownFrame], 1u);  // the 129th packet dropped the frame, the 130th has none
}

// Packets of `frame` cut at `sizes` (the last takes the rest), numbered from `seq`.
std::vector<Bytes> split(const Bytes& frame, const std::vector<size_t>& sizes, uint16_t seq, uint16_t number) {
  std::vector<Bytes> out;
  size_t at = 0;
  for (size_t i = 0; i <= sizes.size(); ++i) {
    size_t n = i < sizes.size() ? sizes[i] : frame.size() - at;
    Marker m = i == 0 ? Marker::Start : i == sizes.size() ? Marker::Final : Marker::Inter;
    out.push_back(packet(m, uint16_t(seq + i), number, Bytes(frame.begin() + at, frame.begin() + at + n)));
    at += n;
  }
  return out;
}

// Other SDKs packetize on their own: any split up to the packet limit is a
// frame, in order, reordered, or with duplicates.
TEST(DatatrackDepacketizer, FramesSplitUnevenlyAssembleInAnyOrder) {
  const Bytes frame = pattern(3 * kChunk + 17);
  const std::vector<size_t> sizes = {1, kChunk, 0, 7, kChunk - 3, kChunk / 2};  // the Final takes the rest
  auto packets = split(frame, sizes, 65530, 3);  // wraps the sequence too
  ASSERT_EQ(packets.size(), 7u);
  Depacketizer d;
  auto out = push_all(d, packets);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, frame);

  auto reordered = split(frame, sizes, 100, 4);
  std::swap(reordered[1], reordered[4]);
  std::swap(reordered[2], reordered[5]);
  reordered.insert(reordered.begin() + 3, reordered[2]);  // a duplicate, before its gap fills
  out = push_all(d, reordered);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, frame);
  EXPECT_EQ(d.drops().total(), 0u);
}

TEST(DatatrackDepacketizer, DuplicateOfADifferentSizeReplacesInPlace) {
  Depacketizer d;
  EXPECT_FALSE(d.push(packet(Marker::Start, 0, 1, pattern(4, 1))));
  EXPECT_FALSE(d.push(packet(Marker::Inter, 1, 1, pattern(3, 2))));
  EXPECT_FALSE(d.push(packet(Marker::Inter, 2, 1, pattern(5, 3))));
  EXPECT_FALSE(d.push(packet(Marker::Inter, 1, 1, pattern(6, 4))));
  auto f = d.push(packet(Marker::Final, 3, 1, pattern(2, 5)));
  ASSERT_TRUE(f);
  Bytes expected;
  for (const Bytes& part : {pattern(4, 1), pattern(6, 4), pattern(5, 3), pattern(2, 5)})
    expected.insert(expected.end(), part.begin(), part.end());
  EXPECT_EQ(f->payload, expected);
}

TEST(DatatrackDepacketizer, PacketOverThePacketLimitIsDropped) {
  Depacketizer d;
  EXPECT_FALSE(d.push(packet(Marker::Start, 0, 1, pattern(kChunk + 1))));
  EXPECT_EQ(d.drops()[DropReason::OversizedPacket], 1u);
  EXPECT_FALSE(d.push(packet(Marker::Start, 0, 2, pattern(4))));
  EXPECT_FALSE(d.push(packet(Marker::Inter, 1, 2, pattern(kChunk + 1))));
  EXPECT_EQ(d.drops()[DropReason::OversizedPacket], 2u);
  EXPECT_EQ(d.open_frames(), 0u);
}

TEST(DatatrackDepacketizer, MalformedBytesAreCounted) {
  Depacketizer d;
  Bytes bad = packet(Marker::Single, 0, 0, pattern(3));
  bad[0] |= 0x20;  // version 1
  EXPECT_FALSE(d.push(bad));
  EXPECT_FALSE(d.push(Bytes{1, 2, 3}));
  EXPECT_EQ(d.drops()[DropReason::Malformed], 2u);
  EXPECT_EQ(d.drops().total(), 2u);
}

TEST(DatatrackDepacketizer, ExtensionsComeFromTheStartPacket) {
  Extensions a, b;
  a.user_timestamp = 1;
  b.user_timestamp = 2;
  Depacketizer d;
  EXPECT_FALSE(d.push(packet(Marker::Start, 0, 1, pattern(4), a)));
  auto f = d.push(packet(Marker::Final, 1, 1, pattern(4), b));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->extensions, a);
}

TEST(DatatrackDepacketizer, ResetForgetsOpenFrames) {
  Depacketizer d;
  EXPECT_FALSE(d.push(packet(Marker::Start, 0, 1, pattern(4))));
  d.reset();
  EXPECT_FALSE(d.push(packet(Marker::Final, 1, 1, pattern(4))));
  EXPECT_EQ(d.drops()[DropReason::UnknownFrame], 1u);
}

TEST(DatatrackDepacketizer, DropReasonsHaveNames) {
  for (size_t i = 0; i < kDropReasonCount; ++i) EXPECT_NE(to_string(DropReason(i)), "unknown");
}

}  // namespace
}  // namespace lk::datatrack
