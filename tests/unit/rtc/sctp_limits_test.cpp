// What a hostile or broken SCTP peer can make us hold or deliver, with two
// SctpTransports back to back in memory (tests/unit/rtc/sctp_pair.h).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <usrsctp.h>

#include <cstring>

#include "sctp_pair.h"

using namespace lk::rtc;
using lk::rtc::test::BackToBack;

namespace {

constexpr uint32_t kMtu = 1200;
constexpr size_t kLimit = 262144;  // b's a=max-message-size

struct Inbox {
  std::vector<std::vector<uint8_t>> messages;
  std::vector<std::string> errors;
  void attach(SctpTransport& t) {
    t.on_message = [this](uint16_t, uint32_t, std::span<const uint8_t> d) { messages.emplace_back(d.begin(), d.end()); };
    t.on_error = [this](const lk::Error& e) { errors.push_back(e.message); };
  }
};

SctpTransport::SendParams reliable(uint16_t stream) {
  SctpTransport::SendParams p;
  p.stream = stream;
  p.ppid = 53;
  return p;
}

// a accepts 4 MiB, b only kLimit: a sends b a 3 MiB message (what a peer
// ignoring our a=max-message-size does). b must refuse it having held at most
// kLimit bytes of it, and never deliver it.
TEST(SctpLimits, MessageOverOurMaxMessageSizeIsRefusedHoldingAtMostTheLimit) {
  BackToBack pair(kMtu, 4 << 20, kLimit);
  Inbox at_b;
  at_b.attach(pair.b());
  ASSERT_TRUE(pair.connect());

  const std::vector<uint8_t> fits(kLimit, 0x11);
  ASSERT_EQ(pair.a().send(reliable(1), fits), SctpTransport::SendStatus::Sent);
  ASSERT_TRUE(pair.run_until([&] { return at_b.messages.size() == 1; }));
  EXPECT_EQ(at_b.messages[0].size(), kLimit) << "a message of exactly the limit is fine";

  const std::vector<uint8_t> huge(3 << 20, 0x22);
  ASSERT_EQ(pair.a().send(reliable(3), huge), SctpTransport::SendStatus::Sent);
  ASSERT_TRUE(pair.run_until([&] { return !at_b.errors.empty() || at_b.messages.size() > 1; }, 20000));
  ASSERT_EQ(at_b.messages.size(), 1u) << "the oversized message was delivered (" << at_b.messages.back().size()
                                      << " bytes)";
  ASSERT_EQ(at_b.errors.size(), 1u);
  EXPECT_NE(at_b.errors[0].find("262144"), std::string::npos) << at_b.errors[0];
  printf("held at most %zu bytes of a %zu-byte message over a %zu-byte limit\n", pair.b().reassembly_peak(),
         huge.size(), kLimit);
  EXPECT_LE(pair.b().reassembly_peak(), kLimit);

  // Nothing more is delivered after the refusal.
  ASSERT_EQ(pair.a().send(reliable(1), std::vector<uint8_t>(10, 0x33)), SctpTransport::SendStatus::Sent);
  pair.run_until([] { return false; }, 300);
  EXPECT_EQ(at_b.messages.size(), 1u);
}

}  // namespace

namespace {
// SCTP common header (12 bytes), then chunks: type 0 is DATA.
bool is_data(std::span<const uint8_t> packet) { return packet.size() > 12 && packet[12] == 0; }

// A partially reliable message that usrsctp has begun handing up in pieces
// and then abandons (FORWARD-TSN past a lost chunk) must not be glued onto
// the next message of its stream.
void abandoned_partial_delivery(bool unordered) {
  BackToBack pair(kMtu, 4 << 20, 4 << 20);
  Inbox at_b;
  at_b.attach(pair.b());
  ASSERT_TRUE(pair.connect());
  std::atomic<int> data_packets{0}, dropped{0};
  pair.filter = [&](bool from_a, std::span<const uint8_t> packet) {
    // Lose one chunk far into the big message, every time it is sent.
    if (!from_a || !is_data(packet)) return true;
    if (++data_packets == 1000 && dropped++ == 0) return false;
    return true;
  };
  SctpTransport::SendParams lossy = reliable(1);
  lossy.unordered = unordered;
  lossy.max_retransmits = 0;
  const std::vector<uint8_t> big(3 << 20, 0x44);
  auto status = pair.a().send(lossy, big);
  ASSERT_EQ(status, SctpTransport::SendStatus::Sent) << int(status);
  pair.run_until([] { return false; }, 3000);
  ASSERT_EQ(dropped.load(), 1);
  ASSERT_EQ(pair.a().send(lossy, std::vector<uint8_t>(20, 0x55)), SctpTransport::SendStatus::Sent);
  ASSERT_TRUE(pair.run_until([&] { return !at_b.messages.empty(); }));
  pair.run_until([] { return false; }, 300);
  for (auto& m : at_b.messages) printf("delivered %zu bytes\n", m.size());
  ASSERT_EQ(at_b.messages.size(), 1u);
  EXPECT_EQ(at_b.messages[0], std::vector<uint8_t>(20, 0x55));
  EXPECT_TRUE(at_b.errors.empty());
}

TEST(SctpLimits, AbandonedUnorderedPartialDeliveryIsNotGluedOntoTheNextMessage) { abandoned_partial_delivery(true); }
TEST(SctpLimits, AbandonedOrderedPartialDeliveryIsNotGluedOntoTheNextMessage) { abandoned_partial_delivery(false); }
}  // namespace

namespace {
// usrsctp's stream-reset notification: type, flags, length, assoc id, streams.
std::vector<uint8_t> reset_event(uint16_t flags, uint32_t length, std::vector<uint16_t> streams) {
  sctp_stream_reset_event head{};
  head.strreset_type = SCTP_STREAM_RESET_EVENT;
  head.strreset_flags = flags;
  head.strreset_length = length;
  std::vector<uint8_t> out(sizeof head + streams.size() * 2);
  memcpy(out.data(), &head, sizeof head);
  memcpy(out.data() + sizeof head, streams.data(), streams.size() * 2);
  return out;
}

TEST(SctpNotifications, StreamResetLengthsAreCheckedBeforeUse) {
  const uint32_t head = sizeof(sctp_stream_reset_event);
  auto ok = reset_event(SCTP_STREAM_RESET_INCOMING_SSN, head + 4, {3, 5});
  EXPECT_EQ(incoming_reset_streams(ok), (std::vector<uint16_t>{3, 5}));
  // Claims 1000 bytes of stream list, has 4: reading them would overrun.
  EXPECT_TRUE(incoming_reset_streams(reset_event(SCTP_STREAM_RESET_INCOMING_SSN, 1000, {3, 5})).empty());
  // Shorter than its own header (the unsigned subtraction used to wrap).
  EXPECT_TRUE(incoming_reset_streams(reset_event(SCTP_STREAM_RESET_INCOMING_SSN, 4, {3, 5})).empty());
  EXPECT_TRUE(incoming_reset_streams(std::span(ok).first(head - 1)).empty());
  EXPECT_TRUE(incoming_reset_streams(reset_event(SCTP_STREAM_RESET_OUTGOING_SSN, head + 4, {3, 5})).empty());
  EXPECT_TRUE(incoming_reset_streams(
                  reset_event(SCTP_STREAM_RESET_INCOMING_SSN | SCTP_STREAM_RESET_DENIED, head + 4, {3, 5}))
                  .empty());
}
}  // namespace
