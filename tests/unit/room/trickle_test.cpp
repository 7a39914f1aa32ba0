// Trickle candidates as LiveKit carries them: RTCIceCandidateInit JSON.
#include "room/trickle.h"

#include <gtest/gtest.h>

namespace lk::room {
namespace {

TEST(Trickle, ACandidateSurvivesTheJsonRoundTripWithQuotesAndSpaces) {
  const TrickleCandidate c{"candidate:1 1 udp 2122260223 10.99.0.1 50000 typ host generation 0 ufrag \"x\"", "0"};
  const std::string json = encode_candidate_init(c, 0);
  EXPECT_NE(json.find("\"sdpMLineIndex\":0"), std::string::npos) << json;
  auto back = decode_candidate_init(json);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->candidate, c.candidate);
  EXPECT_EQ(back->mid, "0");
}

TEST(Trickle, WhatABrowserSendsDecodes) {
  auto c = decode_candidate_init(
      R"({"candidate":"candidate:842163049 1 udp 1677729535 1.2.3.4 46154 typ srflx","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"abc"})");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->candidate.rfind("candidate:842163049", 0), 0u);
  EXPECT_EQ(c->mid, "0");
  auto end = decode_candidate_init(R"({"candidate":"","sdpMid":"0"})");
  ASSERT_TRUE(end);
  EXPECT_TRUE(end->candidate.empty());  // end of candidates
}

TEST(Trickle, MalformedInputIsAnErrorNotACrash) {
  for (const char* bad : {"", "null", "[1,2]", "{\"sdpMid\":\"0\"}", "{\"candidate\":", "\xff\xfe"}) {
    auto c = decode_candidate_init(bad);
    EXPECT_FALSE(c) << bad;
    if (!c) {
      EXPECT_EQ(c.error().kind, lk::ErrorKind::Malformed) << bad;
    }
  }
}

}  // namespace
}  // namespace lk::room
