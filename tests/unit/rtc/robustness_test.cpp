// Hostile input never crashes the pure parsers: deterministic pseudo-random
// bytes and mutations of valid messages (run under ASan/UBSan in build-san).
#include <gtest/gtest.h>

#include <random>

#include "rtc/dcep.h"
#include "rtc/sdp.h"

namespace lk::rtc {
namespace {

constexpr const char* kOffer =
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\n"
    "a=fingerprint:sha-256 AA:BB:CC\r\na=setup:actpass\r\na=mid:0\r\n"
    "a=sctp-port:5000\r\na=max-message-size:262144\r\n"
    "a=candidate:1 1 UDP 2015363327 10.99.0.1 40000 typ host\r\n";

TEST(Robustness, MutatedSdpParsesOrFailsCleanly) {
  std::mt19937 rng(1234);
  const std::string base = kOffer;
  int ok = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string s = base;
    int edits = 1 + rng() % 8;
    for (int e = 0; e < edits; ++e) {
      size_t at = rng() % s.size();
      switch (rng() % 3) {
        case 0: s[at] = static_cast<char>(rng()); break;
        case 1: s.erase(at, rng() % 12); break;
        case 2: s.insert(at, std::string(1 + rng() % 4, static_cast<char>(rng()))); break;
      }
      if (s.empty()) s = "v";
    }
    auto d = sdp::parse(s);
    if (d.ok()) {
      ++ok;
      EXPECT_LT(d->data_index, d->media.size());
      (void)sdp::build_answer(sdp::LocalParams{}, *d);
    } else {
      EXPECT_FALSE(d.error().message.empty());
    }
  }
  EXPECT_GT(ok, 0) << "some mutations must still parse (the base offer is valid)";
}

TEST(Robustness, RandomBytesAreNeitherSdpNorDcep) {
  std::mt19937 rng(99);
  for (int i = 0; i < 3000; ++i) {
    std::vector<uint8_t> bytes(rng() % 200);
    for (auto& b : bytes) b = static_cast<uint8_t>(rng());
    (void)sdp::parse(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    auto open = dcep::decode_open(bytes);
    if (open.ok()) {
      EXPECT_LE(open->label.size() + open->protocol.size() + 12, bytes.size());
    }
  }
}

}  // namespace
}  // namespace lk::rtc
