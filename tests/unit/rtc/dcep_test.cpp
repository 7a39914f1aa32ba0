// DCEP (RFC 8832) messages: exact bytes, round trips and malformed input.
#include <gtest/gtest.h>

#include "rtc/data_channel.h"
#include "rtc/dcep.h"

namespace lk::rtc::dcep {
namespace {

TEST(Dcep, OpenForReliableOrderedChannelHasTheRfcLayout) {
  DataChannelInit init;
  init.protocol = "p";
  auto bytes = encode(dcep_open_for("ab", init));
  std::vector<uint8_t> expected = {0x03, 0x00, 0x01, 0x00,  // OPEN, reliable, priority 256
                                   0, 0, 0, 0,              // reliability parameter
                                   0x00, 0x02, 0x00, 0x01,  // label length 2, protocol length 1
                                   'a', 'b', 'p'};
  EXPECT_EQ(bytes, expected);
}

TEST(Dcep, ChannelTypesFollowOrderingAndReliability) {
  DataChannelInit lossy;
  lossy.ordered = false;
  lossy.max_retransmits = 0;
  auto o = dcep_open_for("l", lossy);
  EXPECT_EQ(o.channel_type, 0x81);
  EXPECT_EQ(o.reliability, 0u);
  DataChannelInit timed;
  timed.max_packet_life_time_ms = 1500;
  o = dcep_open_for("t", timed);
  EXPECT_EQ(o.channel_type, 0x02);
  EXPECT_EQ(o.reliability, 1500u);
  DataChannelInit unordered;
  unordered.ordered = false;
  EXPECT_EQ(dcep_open_for("u", unordered).channel_type, 0x80);
}

TEST(Dcep, OpenRoundTripsThroughDecodeAndInit) {
  DataChannelInit init;
  init.ordered = false;
  init.max_retransmits = 3;
  init.protocol = "proto";
  auto decoded = decode_open(encode(dcep_open_for("_data_track", init)));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->label, "_data_track");
  EXPECT_EQ(decoded->protocol, "proto");
  auto back = init_from_dcep_open(*decoded, 6);
  EXPECT_FALSE(back.ordered);
  ASSERT_TRUE(back.max_retransmits.has_value());
  EXPECT_EQ(*back.max_retransmits, 3);
  EXPECT_FALSE(back.max_packet_life_time_ms.has_value());
  EXPECT_EQ(back.protocol, "proto");
  EXPECT_EQ(back.id, 6);
}

TEST(Dcep, TimedOpenRoundTripsItsMaxPacketLifeTime) {
  DataChannelInit init;
  init.max_packet_life_time_ms = 1500;
  auto decoded = decode_open(encode(dcep_open_for("timed", init)));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  auto back = init_from_dcep_open(*decoded, 9);
  EXPECT_TRUE(back.ordered);
  ASSERT_TRUE(back.max_packet_life_time_ms.has_value());
  EXPECT_EQ(*back.max_packet_life_time_ms, 1500);
  EXPECT_FALSE(back.max_retransmits.has_value());
  // A reliability parameter past 16 bits saturates instead of wrapping.
  Open huge = *decoded;
  huge.reliability = 70000;
  EXPECT_EQ(*init_from_dcep_open(huge, 9).max_packet_life_time_ms, 0xffff);
}

TEST(Dcep, AckIsOneByte) {
  EXPECT_EQ(encode_ack(), std::vector<uint8_t>{0x02});
  EXPECT_TRUE(is_ack(encode_ack()));
  EXPECT_FALSE(is_ack(std::vector<uint8_t>{0x03}));
  EXPECT_FALSE(is_ack({}));
}

TEST(Dcep, MalformedOpenIsAnError) {
  auto good = encode(dcep_open_for("label", {}));
  EXPECT_FALSE(decode_open({}).ok());
  for (size_t n = 0; n < good.size(); ++n)
    EXPECT_FALSE(decode_open(std::span(good).first(n)).ok()) << "truncated to " << n;
  auto wrong_type = good;
  wrong_type[0] = 0x02;
  EXPECT_FALSE(decode_open(wrong_type).ok());
  auto unknown_channel = good;
  unknown_channel[1] = 0x07;
  EXPECT_FALSE(decode_open(unknown_channel).ok());
  auto overrun = good;
  overrun[9] = 0xff;  // label length beyond the message
  auto r = decode_open(overrun);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Malformed);
}

}  // namespace
}  // namespace lk::rtc::dcep
