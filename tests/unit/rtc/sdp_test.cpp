// SDP for data-only sessions: parsing what libwebrtc and pion send, building
// what we send, and refusing what is unusable.
#include <gtest/gtest.h>

#include "rtc/sdp.h"

namespace lk::rtc::sdp {
namespace {

// Shaped like livekit-client's publisher offer from Chrome: audio and video
// transceivers plus the data section, all BUNDLEd, candidates trickled.
constexpr const char* kLibwebrtcOffer =
    "v=0\r\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0 1 2\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:Hn5q\r\n"
    "a=ice-pwd:rAhDAmZ1gXmxUtIv1HVwvy3y\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 3C:4A:AA:E8:1D:F6:69:2B:7D:1F:26:5A:56:8B:52:3A:D4:F1:8E:46:61:6A:2F:02:EF:0F:79:0E:E4:4C:0E:F2\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=recvonly\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97 102\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:Hn5q\r\n"
    "a=ice-pwd:rAhDAmZ1gXmxUtIv1HVwvy3y\r\n"
    "a=fingerprint:sha-256 3C:4A:AA:E8:1D:F6:69:2B:7D:1F:26:5A:56:8B:52:3A:D4:F1:8E:46:61:6A:2F:02:EF:0F:79:0E:E4:4C:0E:F2\r\n"
    "a=setup:actpass\r\n"
    "a=mid:1\r\n"
    "a=recvonly\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:Hn5q\r\n"
    "a=ice-pwd:rAhDAmZ1gXmxUtIv1HVwvy3y\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 3C:4A:AA:E8:1D:F6:69:2B:7D:1F:26:5A:56:8B:52:3A:D4:F1:8E:46:61:6A:2F:02:EF:0F:79:0E:E4:4C:0E:F2\r\n"
    "a=setup:actpass\r\n"
    "a=mid:2\r\n"
    "a=sctp-port:5000\r\n"
    "a=max-message-size:262144\r\n";

// Shaped like a LiveKit (pion) subscriber offer: session-level ice-lite and
// fingerprint, candidates inline, end-of-candidates, a video section first.
constexpr const char* kPionOffer =
    "v=0\r\n"
    "o=- 8315405337432591271 1732570000 IN IP4 0.0.0.0\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=ice-lite\r\n"
    "a=fingerprint:sha-256 0B:55:1E:7C:8C:5F:73:0F:F6:35:A4:0E:7A:BA:6B:DA:0C:1A:9D:8E:05:3A:FA:0A:D9:07:0A:45:2E:E3:DB:55\r\n"
    "a=group:BUNDLE video0 data\r\n"
    "a=msid-semantic:WMS *\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=setup:actpass\r\n"
    "a=mid:video0\r\n"
    "a=ice-ufrag:QcYtDnnRuGSzPKYJ\r\n"
    "a=ice-pwd:vHdQrYyrXkqMWsyKETcagsDcEvVCFjUp\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
    "a=sendonly\r\n"
    "a=candidate:1387637174 1 udp 2130706431 10.99.0.1 7882 typ host\r\n"
    "a=candidate:1387637174 2 udp 2130706431 10.99.0.1 7882 typ host\r\n"
    "a=candidate:3105213920 1 tcp 1671430143 10.99.0.1 7881 typ host tcptype passive\r\n"
    "a=end-of-candidates\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=setup:actpass\r\n"
    "a=mid:data\r\n"
    "a=sendrecv\r\n"
    "a=sctp-port:5000\r\n"
    "a=ice-ufrag:QcYtDnnRuGSzPKYJ\r\n"
    "a=ice-pwd:vHdQrYyrXkqMWsyKETcagsDcEvVCFjUp\r\n";

TEST(SdpParse, LibwebrtcOfferWithMediaFindsTheDataSection) {
  auto d = parse(kLibwebrtcOffer);
  ASSERT_TRUE(d.ok()) << d.error().message;
  ASSERT_EQ(d->media.size(), 3u);
  EXPECT_EQ(d->data_index, 2u);
  EXPECT_EQ(d->mid, "2");
  EXPECT_EQ(d->bundle, (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_EQ(d->ice_ufrag, "Hn5q");
  EXPECT_EQ(d->ice_pwd, "rAhDAmZ1gXmxUtIv1HVwvy3y");
  EXPECT_FALSE(d->ice_lite);
  EXPECT_EQ(d->fingerprint.algorithm, "sha-256");
  EXPECT_EQ(d->fingerprint.value.substr(0, 8), "3C:4A:AA");
  EXPECT_EQ(d->setup, Setup::ActPass);
  EXPECT_EQ(d->sctp_port, 5000);
  EXPECT_EQ(d->max_message_size, 262144u);
  EXPECT_TRUE(d->candidates.empty());
  EXPECT_FALSE(d->end_of_candidates);
}

TEST(SdpParse, PionOfferWithIceLiteSessionFingerprintAndBundledCandidates) {
  auto d = parse(kPionOffer);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->data_index, 1u);
  EXPECT_EQ(d->mid, "data");
  EXPECT_TRUE(d->ice_lite);
  EXPECT_EQ(d->fingerprint.value.substr(0, 5), "0B:55");
  EXPECT_EQ(d->max_message_size, 65535u) << "absent attribute: what pion reads at most, not RFC 8841's 65536";
  // Candidates of the bundled video section apply to the data section.
  ASSERT_EQ(d->candidates.size(), 3u);
  EXPECT_EQ(d->candidates[0], "candidate:1387637174 1 udp 2130706431 10.99.0.1 7882 typ host");
  EXPECT_TRUE(d->end_of_candidates);
}

TEST(SdpAnswer, RejectsMediaSectionsAndKeepsTheDataSection) {
  auto offer = parse(kLibwebrtcOffer);
  ASSERT_TRUE(offer.ok());
  LocalParams local;
  local.ice_ufrag = "ours";
  local.ice_pwd = "oursoursoursoursoursours";
  local.fingerprint = {"sha-256", "AA:BB"};
  local.setup = Setup::Active;
  std::string answer = build_answer(local, *offer);
  EXPECT_NE(answer.find("m=audio 0 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n"), std::string::npos) << answer;
  EXPECT_NE(answer.find("m=video 0 UDP/TLS/RTP/SAVPF 96 97 102\r\n"), std::string::npos) << answer;
  EXPECT_NE(answer.find("m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"), std::string::npos);
  EXPECT_NE(answer.find("a=group:BUNDLE 2\r\n"), std::string::npos) << "only the accepted section is bundled";
  // Sections stay in the offer's order with the offer's mids.
  auto audio = answer.find("a=mid:0"), video = answer.find("a=mid:1"), data = answer.find("a=mid:2");
  ASSERT_NE(audio, std::string::npos);
  EXPECT_LT(audio, video);
  EXPECT_LT(video, data);
  // Our answer parses back to what we put in.
  auto back = parse(answer);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->mid, "2");
  EXPECT_EQ(back->setup, Setup::Active);
  EXPECT_EQ(back->ice_ufrag, "ours");
  EXPECT_EQ(back->fingerprint.value, "AA:BB");
  EXPECT_EQ(back->media[0].port, 0);
}

TEST(SdpOffer, DataOnlyOfferHasEveryRequiredAttribute) {
  LocalParams local;
  local.ice_ufrag = "abcd";
  local.ice_pwd = "0123456789012345678901";
  local.fingerprint = {"sha-256", "01:02:03"};
  local.max_message_size = 123456;
  local.candidates = {"candidate:1 1 UDP 2015363327 10.99.0.1 40000 typ host"};
  local.end_of_candidates = true;
  std::string offer = build_offer(local);
  for (const char* line :
       {"v=0\r\n", "a=group:BUNDLE 0\r\n", "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n",
        "c=IN IP4 0.0.0.0\r\n", "a=ice-ufrag:abcd\r\n", "a=ice-pwd:0123456789012345678901\r\n",
        "a=fingerprint:sha-256 01:02:03\r\n", "a=setup:actpass\r\n", "a=mid:0\r\n", "a=sctp-port:5000\r\n",
        "a=max-message-size:123456\r\n", "a=candidate:1 1 UDP 2015363327 10.99.0.1 40000 typ host\r\n",
        "a=end-of-candidates\r\n"})
    EXPECT_NE(offer.find(line), std::string::npos) << "missing " << line << " in\n" << offer;
  auto back = parse(offer);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->max_message_size, 123456u);
  EXPECT_EQ(back->candidates.size(), 1u);
}

std::string without(std::string text, const std::string& prefix) {
  size_t at;
  while ((at = text.find(prefix)) != std::string::npos) text.erase(at, text.find("\r\n", at) + 2 - at);
  return text;
}

TEST(SdpParse, MissingFingerprintIsAnError) {
  auto d = parse(without(kLibwebrtcOffer, "a=fingerprint"));
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("fingerprint"), std::string::npos) << d.error().message;
}

// kLibwebrtcOffer with each section's a=fingerprint replaced by `lines`.
std::string with_fingerprints(const std::string& lines) {
  std::string text = kLibwebrtcOffer;
  for (size_t at = 0; (at = text.find("a=fingerprint:", at)) != std::string::npos; at += lines.size())
    text.replace(at, text.find("\r\n", at) + 2 - at, lines);
  return text;
}

TEST(SdpParse, StrongestOfSeveralFingerprintsWinsWhateverTheOrder) {
  auto d = parse(with_fingerprints("a=fingerprint:sha-1 11:11\r\na=fingerprint:sha-256 22:22\r\n"
                                   "a=fingerprint:sha-512 55:55\r\na=fingerprint:sha-384 33:33\r\n"));
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->fingerprint.algorithm, "sha-512");
  EXPECT_EQ(d->fingerprint.value, "55:55");
  d = parse(with_fingerprints("a=fingerprint:sha-1 11:11\r\na=fingerprint:SHA-256 22:22\r\n"));
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->fingerprint.algorithm, "sha-256") << "sha-1 first must not win";
}

TEST(SdpParse, Sha1OnlyFingerprintIsRefused) {
  auto d = parse(with_fingerprints("a=fingerprint:sha-1 11:22:33\r\n"));
  ASSERT_FALSE(d.ok()) << "took " << d->fingerprint.algorithm;
  EXPECT_NE(d.error().message.find("sha-1"), std::string::npos) << d.error().message;
  d = parse(with_fingerprints("a=fingerprint:md5 11:22:33\r\n"));
  EXPECT_FALSE(d.ok());
}

TEST(SdpParse, MissingIceCredentialsIsAnError) {
  auto d = parse(without(kLibwebrtcOffer, "a=ice-pwd"));
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("ice-ufrag"), std::string::npos) << d.error().message;
}

TEST(SdpParse, OfferWithoutDataSectionIsAnError) {
  std::string audio_only = std::string(kLibwebrtcOffer).substr(0, std::string(kLibwebrtcOffer).find("m=video"));
  auto d = parse(audio_only);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("m=application"), std::string::npos) << d.error().message;
}

TEST(SdpParse, GarbageAndMalformedValuesAreErrors) {
  EXPECT_FALSE(parse("").ok());
  EXPECT_FALSE(parse("hello world").ok());
  EXPECT_FALSE(parse(std::string("\0\0\0\xff\xfe", 5)).ok());
  EXPECT_FALSE(parse("v=0\r\nm=\r\n").ok());
  std::string bad_setup = kLibwebrtcOffer;
  bad_setup.replace(bad_setup.rfind("a=setup:actpass"), 15, "a=setup:sideways");
  EXPECT_FALSE(parse(bad_setup).ok());
  std::string bad_port = kLibwebrtcOffer;
  bad_port.replace(bad_port.find("a=sctp-port:5000"), 16, "a=sctp-port:xyz");
  EXPECT_FALSE(parse(bad_port).ok());
  std::string bad_fp = kLibwebrtcOffer;
  bad_fp.replace(bad_fp.rfind("a=fingerprint:sha-256 "), 22, "a=fingerprint:sha-256");
  EXPECT_FALSE(parse(bad_fp).ok());
  // Every truncation of a valid offer either parses or is an error (no crash).
  std::string full = kPionOffer;
  for (size_t n = 0; n < full.size(); n += 7) (void)parse(full.substr(0, n));
}

TEST(SdpParse, LegacySctpmapSyntaxGivesThePort) {
  std::string legacy = kLibwebrtcOffer;
  legacy.replace(legacy.find("UDP/DTLS/SCTP webrtc-datachannel"), 32, "DTLS/SCTP 5001");
  legacy.replace(legacy.find("a=sctp-port:5000"), 16, "a=sctpmap:5001 webrtc-datachannel 1024");
  auto d = parse(legacy);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->sctp_port, 5001);
}

TEST(Fingerprint, FormatsUpperCaseHexPairsWithColons) {
  const uint8_t digest[] = {0x00, 0x0a, 0xff, 0x10};
  EXPECT_EQ(format_fingerprint(digest), "00:0A:FF:10");
  EXPECT_EQ(format_fingerprint({}), "");
}

}  // namespace
}  // namespace lk::rtc::sdp
