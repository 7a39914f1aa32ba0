// Two SctpTransports back to back in memory (no DTLS, no ICE): every SCTP
// packet handed to the layer below must fit the configured MTU, since that is
// what keeps DTLS/UDP/IP datagrams within a safe path size.
#include <gtest/gtest.h>

#include "sctp_pair.h"

using namespace lk::rtc;
using lk::rtc::test::BackToBack;

namespace {

class SctpMtu : public ::testing::TestWithParam<uint32_t> {};

TEST_P(SctpMtu, NoPacketExceedsTheConfiguredMtu) {
  const uint32_t mtu = GetParam();
  BackToBack pair(mtu);
  size_t received = 0;
  pair.b().on_message = [&](uint16_t, uint32_t, std::span<const uint8_t> data) { received += data.size(); };
  ASSERT_TRUE(pair.a().start().ok());
  ASSERT_TRUE(pair.b().start().ok());
  ASSERT_TRUE(pair.run_until([&] {
    return pair.a().state() == SctpTransport::State::Connected && pair.b().state() == SctpTransport::State::Connected;
  }));

  const std::vector<uint8_t> message(100000, 0x5a);
  SctpTransport::SendParams reliable;
  reliable.stream = 1;
  reliable.ppid = 53;
  ASSERT_EQ(pair.a().send(reliable, message), SctpTransport::SendStatus::Sent);
  ASSERT_TRUE(pair.run_until([&] { return received == message.size(); })) << "received " << received;

  EXPECT_LE(pair.largest_packet(), mtu);
  EXPECT_GT(pair.largest_packet(), mtu - 64) << "packets should fill the MTU";
}

INSTANTIATE_TEST_SUITE_P(Sizes, SctpMtu, ::testing::Values(SctpTransport::kMinMtu, 1400u, SctpTransport::kMaxMtu));

}  // namespace
