// What SctpTransport::send puts on the wire, seen in the back-to-back harness
// (tests/unit/rtc/sctp_pair.h): the U flag of unordered messages, and
// partial reliability by retransmissions proved by losing a message.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "sctp_pair.h"

using namespace lk::rtc;
using lk::rtc::test::BackToBack;

namespace {

constexpr uint8_t kData = 0, kForwardTsn = 192;
constexpr uint8_t kUnorderedFlag = 0x04;

struct Chunk {
  uint8_t type, flags;
  std::span<const uint8_t> value;  // after the 4-byte chunk header
};

// The chunks of one SCTP packet (RFC 9260 §3: 12-byte common header, then
// type, flags, length, value, padded to 4 bytes).
std::vector<Chunk> chunks(std::span<const uint8_t> packet) {
  std::vector<Chunk> out;
  size_t at = 12;
  while (at + 4 <= packet.size()) {
    size_t length = size_t(packet[at + 2]) << 8 | packet[at + 3];
    if (length < 4 || at + length > packet.size()) break;
    out.push_back({packet[at], packet[at + 1], packet.subspan(at + 4, length - 4)});
    at += (length + 3) & ~size_t{3};
  }
  return out;
}

// DATA value: TSN(4) stream(2) SSN(2) PPID(4), then the user data.
uint16_t data_stream(const Chunk& c) { return uint16_t(c.value[4] << 8 | c.value[5]); }
uint8_t data_first_byte(const Chunk& c) { return c.value.size() > 12 ? c.value[12] : 0xff; }

SctpTransport::SendParams params(uint16_t stream, bool unordered, std::optional<uint16_t> rtx) {
  SctpTransport::SendParams p;
  p.stream = stream;
  p.ppid = 53;
  p.unordered = unordered;
  p.max_retransmits = rtx;
  return p;
}

TEST(SctpSend, UnorderedMessagesCarryTheUFlagAndOrderedOnesDoNot) {
  BackToBack pair(1200);
  std::mutex mutex;
  std::map<uint16_t, std::set<bool>> u_flags;  // stream -> U flags seen
  pair.filter = [&](bool from_a, std::span<const uint8_t> packet) {
    if (!from_a) return true;
    std::lock_guard lock(mutex);
    for (auto& c : chunks(packet))
      if (c.type == kData && c.value.size() >= 12) u_flags[data_stream(c)].insert(c.flags & kUnorderedFlag);
    return true;
  };
  std::atomic<int> received{0};
  pair.b().on_message = [&](uint16_t, uint32_t, std::span<const uint8_t>) { ++received; };
  ASSERT_TRUE(pair.connect());
  const std::vector<uint8_t> small(100, 1), big(5000, 2);  // one chunk, and fragmented
  for (auto* m : {&small, &big}) {
    ASSERT_EQ(pair.a().send(params(1, true, 0), *m), SctpTransport::SendStatus::Sent);
    ASSERT_EQ(pair.a().send(params(2, false, std::nullopt), *m), SctpTransport::SendStatus::Sent);
  }
  ASSERT_TRUE(pair.run_until([&] { return received == 4; }));
  std::lock_guard lock(mutex);
  EXPECT_EQ(u_flags[1], std::set<bool>{true}) << "an unordered message went out ordered";
  EXPECT_EQ(u_flags[2], std::set<bool>{false}) << "an ordered message went out unordered";
}

// Messages 0..9, unordered with no retransmission; the first transmission of
// message 3 is lost. usrsctp must abandon it (FORWARD-TSN), not resend it,
// and every other message must arrive.
TEST(SctpSend, LostUnorderedMessageWithoutRetransmissionsIsAbandoned) {
  BackToBack pair(1200);
  std::atomic<bool> dropped{false}, forward_tsn{false};
  pair.filter = [&](bool from_a, std::span<const uint8_t> packet) {
    if (!from_a) return true;
    bool keep = true;
    for (auto& c : chunks(packet)) {
      if (c.type == kForwardTsn) forward_tsn = true;
      if (c.type == kData && c.value.size() > 12 && data_stream(c) == 1 && data_first_byte(c) == 3 &&
          !dropped.exchange(true))
        keep = false;  // (one message per packet here: 100 bytes each, sent one at a time)
    }
    return keep;
  };
  std::mutex mutex;
  std::multiset<uint8_t> got;
  pair.b().on_message = [&](uint16_t, uint32_t, std::span<const uint8_t> d) {
    std::lock_guard lock(mutex);
    got.insert(d[0]);
  };
  ASSERT_TRUE(pair.connect());
  for (uint8_t i = 0; i < 10; ++i) {
    ASSERT_EQ(pair.a().send(params(1, true, 0), std::vector<uint8_t>(100, i)), SctpTransport::SendStatus::Sent);
    pair.run_until([] { return false; }, 20);  // separate packets
  }
  auto count = [&] {
    std::lock_guard lock(mutex);
    return got.size();
  };
  ASSERT_TRUE(pair.run_until([&] { return (count() == 9 && forward_tsn) || count() == 10; }, 10000))
      << "got " << count() << " messages, FORWARD-TSN " << forward_tsn;
  ASSERT_TRUE(dropped);
  std::lock_guard lock(mutex);
  EXPECT_EQ(got.count(3), 0u) << "message 3 was retransmitted: maxRetransmits 0 ignored";
  EXPECT_EQ(got.size(), 9u);
  EXPECT_TRUE(forward_tsn) << "no FORWARD-TSN: the lost message was not abandoned";
}

}  // namespace
