// ICE server URLs from configuration (LiveKit JoinResponse.ice_servers).
#include <gtest/gtest.h>

#include "rtc/ice_transport.h"

namespace lk::rtc {
namespace {

using Kind = IceServerAddress::Kind;

TEST(IceServerUrl, StunTurnAndTurnsWithDefaultsAndTransports) {
  auto stun = parse_ice_server_url("stun:stun.example.org");
  ASSERT_TRUE(stun.ok());
  EXPECT_EQ(stun->kind, Kind::Stun);
  EXPECT_EQ(stun->host, "stun.example.org");
  EXPECT_EQ(stun->port, 3478);
  auto turn_udp = parse_ice_server_url("turn:10.0.0.1:3479?transport=udp", "u", "p");
  ASSERT_TRUE(turn_udp.ok());
  EXPECT_EQ(turn_udp->kind, Kind::TurnUdp);
  EXPECT_EQ(turn_udp->port, 3479);
  EXPECT_EQ(turn_udp->username, "u");
  EXPECT_EQ(turn_udp->credential, "p");
  auto turn_tcp = parse_ice_server_url("turn:turn.example.org:443?transport=tcp");
  ASSERT_TRUE(turn_tcp.ok());
  EXPECT_EQ(turn_tcp->kind, Kind::TurnTcp);
  auto turns = parse_ice_server_url("turns:turn.example.org");
  ASSERT_TRUE(turns.ok());
  EXPECT_EQ(turns->kind, Kind::TurnTls);
  EXPECT_EQ(turns->port, 5349);
  auto v6 = parse_ice_server_url("stun:[2001:db8::1]:19302");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "2001:db8::1");
  EXPECT_EQ(v6->port, 19302);
}

TEST(IceServerUrl, BadUrlsAreErrors) {
  for (const char* url : {"", "http://x", "stun:", "stun:host:0", "stun:host:99999", "stun:host:12ab",
                          "turn:host?transport=sctp", "stun:[::1"})
    EXPECT_FALSE(parse_ice_server_url(url).ok()) << url;
}

}  // namespace
}  // namespace lk::rtc
