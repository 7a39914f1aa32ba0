// When SctpTransport::receive hands a message up, in the back-to-back
// harness (tests/unit/rtc/sctp_pair.h): a message is delivered by the
// receive() call that brings its last packet, not later from the main loop,
// so messages never pile up while the loop is busy reading datagrams.
#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "sctp_pair.h"

using namespace lk::rtc;
using lk::rtc::test::BackToBack;

namespace {

constexpr uint8_t kData = 0;

// User bytes in the DATA chunks of one SCTP packet (RFC 9260 §3: a 12-byte
// common header, then chunks; a DATA chunk's header is 16 bytes).
size_t data_bytes(std::span<const uint8_t> packet) {
  size_t bytes = 0;
  for (size_t at = 12; at + 4 <= packet.size();) {
    size_t length = size_t(packet[at + 2]) << 8 | packet[at + 3];
    if (length < 4) break;
    if (packet[at] == kData && length > 16) bytes += length - 16;
    at += (length + 3) & ~size_t{3};
  }
  return bytes;
}

TEST(SctpReceive, EachMessageIsDeliveredByTheReceiveThatCompletesIt) {
  BackToBack pair(1200);
  std::mutex mutex;
  std::vector<std::vector<uint8_t>> held;  // a's DATA packets, kept from b
  size_t held_bytes = 0;
  bool hold = false;
  pair.filter = [&](bool from_a, std::span<const uint8_t> packet) {
    std::lock_guard lock(mutex);
    if (!from_a || !hold || data_bytes(packet) == 0) return true;
    held.emplace_back(packet.begin(), packet.end());
    held_bytes += data_bytes(packet);
    return false;
  };
  std::vector<uint8_t> got_first_bytes;
  pair.b().on_message = [&](uint16_t, uint32_t, std::span<const uint8_t> d) { got_first_bytes.push_back(d[0]); };
  ASSERT_TRUE(pair.connect());
  {
    std::lock_guard lock(mutex);
    hold = true;
  }
  // Within a's initial congestion window (10 packets), so all of it leaves
  // before b acknowledges anything.
  constexpr int kMessages = 3;
  constexpr size_t kSize = 3000;
  SctpTransport::SendParams params;
  params.stream = 1;
  params.ppid = 53;
  for (uint8_t i = 0; i < kMessages; ++i)
    ASSERT_EQ(pair.a().send(params, std::vector<uint8_t>(kSize, i)), SctpTransport::SendStatus::Sent);
  std::vector<std::vector<uint8_t>> packets;
  ASSERT_TRUE(pair.run_until([&] {
    std::lock_guard lock(mutex);
    if (!hold) return true;  // run_until asks once more
    if (held_bytes < kMessages * kSize) return false;
    hold = false;
    packets.swap(held);
    return true;
  })) << "a sent too few DATA packets";
  // Fed here, on the thread that owns the context, without iterating it.
  for (const auto& packet : packets) pair.b().receive(packet);
  EXPECT_EQ(got_first_bytes, (std::vector<uint8_t>{0, 1, 2})) << "messages waited for the main loop";
}

}  // namespace
