// Packetizer: split sizes, markers, counters and their wraparound, timestamps, limits.
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "datatrack/packetizer.h"

namespace lk::datatrack {
namespace {

using Bytes = std::vector<uint8_t>;

struct Captured {
  PacketView view;
  Bytes bytes;
};

// A packetizer whose clock the test moves by hand.
struct Fixture {
  uint64_t now_ns = 1'000'000'000;
  Packetizer packetizer{7, 1000, [this] { return now_ns; }};

  std::vector<Captured> run(const Bytes& payload, const Extensions& ext = {}) {
    std::vector<Bytes> raw;
    auto result = packetizer.packetize(payload, ext, [&](std::span<const uint8_t> p) {
      EXPECT_LE(p.size(), Packetizer::kMaxPacketSize);
      raw.emplace_back(p.begin(), p.end());
    });
    EXPECT_TRUE(result.ok()) << result.error().message;
    std::vector<Captured> out;
    for (Bytes& b : raw) {
      ParsedPacket parsed = parse_packet(b);
      EXPECT_TRUE(parsed.ok());
      out.push_back({parsed.packet, std::move(b)});
    }
    return out;
  }
};

Bytes pattern(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = uint8_t(i * 31 + 7);
  return b;
}

TEST(DatatrackPacketizer, SmallFrameIsOneSinglePacket) {
  Fixture f;
  auto packets = f.run(pattern(100));
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].view.header.marker, Marker::Single);
  EXPECT_EQ(packets[0].view.header.handle, 7);
  EXPECT_EQ(packets[0].bytes.size(), 112u);
}

TEST(DatatrackPacketizer, SplitsAtSixteenThousandBytesIncludingHeader) {
  const size_t payload_per_packet[] = {15988, 15976, 15968, 15960};
  Extensions ext[4];
  ext[1].user_timestamp = 42;
  ext[2].e2ee = E2eeExtension{3, {}};
  ext[3] = ext[2];
  ext[3].user_timestamp = 42;
  for (int e = 0; e < 4; ++e) {
    const size_t chunk = payload_per_packet[e];
    Fixture f;
    EXPECT_EQ(f.run(pattern(chunk), ext[e]).size(), 1u);  // exactly full: still Single
    const Bytes frame = pattern(3 * chunk + 1);
    auto packets = f.run(frame, ext[e]);
    ASSERT_EQ(packets.size(), 4u);
    const Marker markers[] = {Marker::Start, Marker::Inter, Marker::Inter, Marker::Final};
    Bytes joined;
    for (size_t i = 0; i < 4; ++i) {
      const Header& h = packets[i].view.header;
      EXPECT_EQ(h.marker, markers[i]);
      EXPECT_EQ(h.extensions, ext[e]);  // same extensions in every packet
      EXPECT_EQ(h.frame_number, 1);
      EXPECT_EQ(h.sequence, 1 + i);
      EXPECT_EQ(packets[i].bytes.size(), i < 3 ? 16000u : header_size(ext[e]) + 1);
      joined.insert(joined.end(), packets[i].view.payload.begin(), packets[i].view.payload.end());
    }
    EXPECT_EQ(joined, frame);
  }
}

TEST(DatatrackPacketizer, SequenceRunsAcrossFramesAndBothCountersWrap) {
  Fixture f;
  // 65535 frames of one packet, then a 3-packet frame crossing the wrap.
  for (int i = 0; i < 65535; ++i) f.run(pattern(1));
  EXPECT_EQ(f.packetizer.next_sequence(), 65535);
  EXPECT_EQ(f.packetizer.next_frame_number(), 65535);
  auto packets = f.run(pattern(2 * 15988 + 5));
  ASSERT_EQ(packets.size(), 3u);
  EXPECT_EQ(packets[0].view.header.sequence, 65535);
  EXPECT_EQ(packets[1].view.header.sequence, 0);
  EXPECT_EQ(packets[2].view.header.sequence, 1);
  for (auto& p : packets) EXPECT_EQ(p.view.header.frame_number, 65535);
  auto next = f.run(pattern(1));
  EXPECT_EQ(next[0].view.header.frame_number, 0);
  EXPECT_EQ(next[0].view.header.sequence, 2);
}

TEST(DatatrackPacketizer, EmptyFrameSendsNothingButUsesAFrameNumber) {
  Fixture f;
  EXPECT_TRUE(f.run({}).empty());
  auto packets = f.run(pattern(1));
  EXPECT_EQ(packets[0].view.header.frame_number, 1);
  EXPECT_EQ(packets[0].view.header.sequence, 0);
}

TEST(DatatrackPacketizer, TimestampIsBasePlusElapsedAt90kHzSampledPerFrame) {
  Fixture f;
  EXPECT_EQ(f.run(pattern(1))[0].view.header.timestamp, 1000u);
  f.now_ns += 1'000'000'000;  // 1 s
  EXPECT_EQ(f.run(pattern(1))[0].view.header.timestamp, 91000u);
  f.now_ns += 5'555;  // 0.4999 tick: rounds down
  EXPECT_EQ(f.run(pattern(1))[0].view.header.timestamp, 91000u);
  f.now_ns += 1;  // 0.5 tick: rounds up
  auto packets = f.run(pattern(40000));
  for (auto& p : packets) EXPECT_EQ(p.view.header.timestamp, 91001u);
}

TEST(DatatrackPacketizer, TimestampWrapsAndNeverStepsBack) {
  uint64_t now = 500;
  Packetizer p(1, 0xFFFFFFF0u, [&] { return now; });
  uint32_t ts = 0;
  auto take = [&](const Bytes& frame) {
    ASSERT_TRUE(p.packetize(frame, {}, [&](std::span<const uint8_t> b) {
                   ts = parse_packet(b).packet.header.timestamp;
                 }).ok());
  };
  take(pattern(1));
  EXPECT_EQ(ts, 0xFFFFFFF0u);
  now += 1'000'000;  // 1 ms = 90 ticks
  take(pattern(1));
  EXPECT_EQ(ts, 0xFFFFFFF0u + 90u);  // wrapped to 74
  now -= 1'000'000;  // a clock that goes back does not move the timestamp back
  take(pattern(1));
  EXPECT_EQ(ts, 74u);
}

TEST(DatatrackPacketizer, RefusesFramesAbove128PacketsWithoutSideEffects) {
  Fixture f;
  Extensions ext;
  ext.user_timestamp = 9;
  const size_t max = Packetizer::max_frame_size(ext);
  EXPECT_EQ(max, 128u * 15976u);
  int emitted = 0;
  auto refused = f.packetizer.packetize(pattern(max + 1), ext, [&](auto) { ++emitted; });
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::InvalidArgument);
  EXPECT_EQ(emitted, 0);
  EXPECT_EQ(f.packetizer.next_frame_number(), 0);
  EXPECT_EQ(f.packetizer.next_sequence(), 0);
  auto packets = f.run(pattern(max), ext);
  EXPECT_EQ(packets.size(), 128u);
  EXPECT_EQ(packets.back().view.header.marker, Marker::Final);
}

TEST(DatatrackPacketizer, RefusesHandleZero) {
  Packetizer p(0, 0, [] { return uint64_t(0); });
  EXPECT_FALSE(p.packetize(pattern(3), {}, [](auto) {}).ok());
}

TEST(DatatrackPacketizer, SystemClockTimestampsDoNotDecrease) {
  Packetizer p = Packetizer::with_system_clock(3);
  uint32_t first = 0, last = 0;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(p.packetize(pattern(5), {}, [&](std::span<const uint8_t> b) {
                   last = parse_packet(b).packet.header.timestamp;
                   if (i == 0) first = last;
                 }).ok());
  }
  EXPECT_LT(uint32_t(last - first), 90'000u);  // less than a second passed
}

}  // namespace
}  // namespace lk::datatrack
