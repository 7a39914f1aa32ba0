// Access tokens: claims, escaping, the HS256 signature checked with OpenSSL (an
// implementation independent of GLib's), base64url without padding, refusals,
// and reading the claims of a token back.
#include <gtest/gtest.h>
#include <json-glib/json-glib.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>
#include <vector>

#include "signal/base64url.h"
#include "signal/token.h"

namespace lk::signal {
namespace {

constexpr int64_t kNow = 1767225600;  // 2026-01-01T00:00:00Z

TokenGrant sample_grant() {
  TokenGrant grant;
  grant.api_key = "devkey";
  grant.api_secret = "secret";
  grant.identity = "sensor-1";
  grant.room = "telemetry";
  return grant;
}

std::string mint(const TokenGrant& grant) {
  auto token = mint_token(grant, [] { return kNow; });
  EXPECT_TRUE(token.ok()) << (token.ok() ? "" : token.error().message);
  return token.ok() ? *token : std::string();
}

std::vector<std::string> split(const std::string& token) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t dot; (dot = token.find('.', start)) != std::string::npos; start = dot + 1)
    parts.push_back(token.substr(start, dot - start));
  parts.push_back(token.substr(start));
  return parts;
}

// Parses one base64url JWT part as a JSON object; the test owns the parser.
struct JsonPart {
  explicit JsonPart(const std::string& part) : parser(json_parser_new()) {
    auto bytes = base64url::decode(part);
    EXPECT_TRUE(bytes.has_value()) << part;
    if (!bytes) return;
    const std::string text(bytes->begin(), bytes->end());
    EXPECT_TRUE(json_parser_load_from_data(parser, text.data(), gssize(text.size()), nullptr)) << text;
    JsonNode* root = json_parser_get_root(parser);
    if (root != nullptr && JSON_NODE_HOLDS_OBJECT(root)) object = json_node_get_object(root);
  }
  ~JsonPart() { g_object_unref(parser); }
  JsonPart(const JsonPart&) = delete;
  JsonPart& operator=(const JsonPart&) = delete;

  JsonParser* parser;
  JsonObject* object = nullptr;
};

TEST(Token, HeaderAndClaims) {
  TokenGrant grant = sample_grant();
  grant.name = "Sensor One";
  grant.validity = std::chrono::minutes(90);
  const auto parts = split(mint(grant));
  ASSERT_EQ(parts.size(), 3u);

  JsonPart header(parts[0]);
  ASSERT_NE(header.object, nullptr);
  EXPECT_STREQ(json_object_get_string_member(header.object, "alg"), "HS256");
  EXPECT_STREQ(json_object_get_string_member(header.object, "typ"), "JWT");

  JsonPart payload(parts[1]);
  ASSERT_NE(payload.object, nullptr);
  JsonObject* claims = payload.object;
  EXPECT_STREQ(json_object_get_string_member(claims, "iss"), "devkey");
  EXPECT_STREQ(json_object_get_string_member(claims, "sub"), "sensor-1");
  EXPECT_STREQ(json_object_get_string_member(claims, "name"), "Sensor One");
  EXPECT_EQ(json_object_get_int_member(claims, "nbf"), kNow);
  EXPECT_EQ(json_object_get_int_member(claims, "exp"), kNow + 90 * 60);
  EXPECT_FALSE(json_object_has_member(claims, "api_secret"));
  JsonObject* video = json_object_get_object_member(claims, "video");
  ASSERT_NE(video, nullptr);
  EXPECT_TRUE(json_object_get_boolean_member(video, "roomJoin"));
  EXPECT_STREQ(json_object_get_string_member(video, "room"), "telemetry");
  EXPECT_TRUE(json_object_get_boolean_member(video, "canPublish"));
  EXPECT_TRUE(json_object_get_boolean_member(video, "canSubscribe"));
  EXPECT_TRUE(json_object_get_boolean_member(video, "canPublishData"));
}

TEST(Token, DefaultValidityIsSixHoursAndNameIsLeftOutWhenEmpty) {
  JsonPart payload(split(mint(sample_grant()))[1]);
  ASSERT_NE(payload.object, nullptr);
  EXPECT_EQ(json_object_get_int_member(payload.object, "exp") - json_object_get_int_member(payload.object, "nbf"),
            6 * 3600);
  EXPECT_FALSE(json_object_has_member(payload.object, "name"));
}

TEST(Token, PermissionsAreSettable) {
  struct Case {
    bool publish, subscribe, publish_data;
  };
  for (const Case& c : {Case{false, true, true}, Case{true, false, true}, Case{true, true, false},
                        Case{false, false, false}}) {
    TokenGrant grant = sample_grant();
    grant.can_publish = c.publish;
    grant.can_subscribe = c.subscribe;
    grant.can_publish_data = c.publish_data;
    JsonPart payload(split(mint(grant))[1]);
    ASSERT_NE(payload.object, nullptr);
    JsonObject* video = json_object_get_object_member(payload.object, "video");
    ASSERT_NE(video, nullptr);
    EXPECT_EQ(bool(json_object_get_boolean_member(video, "canPublish")), c.publish);
    EXPECT_EQ(bool(json_object_get_boolean_member(video, "canSubscribe")), c.subscribe);
    EXPECT_EQ(bool(json_object_get_boolean_member(video, "canPublishData")), c.publish_data);
    EXPECT_TRUE(json_object_get_boolean_member(video, "roomJoin"));
  }
}

TEST(Token, StringsWithJsonSpecialCharactersRoundTrip) {
  for (const char* text : {"quote\"d", "back\\slash", "new\nline", "tab\tand\x01control", "</script>",
                           "ünïcødé ✓", "{\"sub\":\"evil\"}"}) {
    TokenGrant grant = sample_grant();
    grant.identity = text;
    grant.room = text;
    grant.name = text;
    JsonPart payload(split(mint(grant))[1]);
    ASSERT_NE(payload.object, nullptr) << text;
    EXPECT_STREQ(json_object_get_string_member(payload.object, "sub"), text);
    EXPECT_STREQ(json_object_get_string_member(payload.object, "name"), text);
    EXPECT_STREQ(json_object_get_string_member(json_object_get_object_member(payload.object, "video"), "room"), text);
  }
}

TEST(Token, SignatureIsHmacSha256OfHeaderDotPayload) {
  for (const char* secret : {"secret", "a much longer secret than the sixty-four bytes of one SHA-256 block, to be hashed"}) {
    TokenGrant grant = sample_grant();
    grant.api_secret = secret;
    const std::string token = mint(grant);
    const size_t last_dot = token.rfind('.');
    ASSERT_NE(last_dot, std::string::npos);
    const std::string signing_input = token.substr(0, last_dot);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    ASSERT_NE(HMAC(EVP_sha256(), secret, int(strlen(secret)),
                   reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), digest, &length),
              nullptr);
    EXPECT_EQ(token.substr(last_dot + 1), base64url::encode({digest, length}, base64url::Padding::Strip)) << secret;
  }
}

TEST(Token, UsesBase64UrlWithoutPadding) {
  // Identities of every length mod 3 make every padding case appear somewhere.
  for (std::string identity = "a"; identity.size() <= 6; identity += "?>") {
    TokenGrant grant = sample_grant();
    grant.identity = identity;  // "?>" encodes to characters '/' and '+' in standard base64
    const std::string token = mint(grant);
    EXPECT_EQ(token.find_first_of("=+/"), std::string::npos) << token;
    EXPECT_EQ(split(token).size(), 3u);
  }
}

TEST(Token, RefusesMissingPartsWithAMessageSayingWhatToSet) {
  struct Case {
    const char* what;
    void (*spoil)(TokenGrant&);
    const char* message_part;
  };
  const Case cases[] = {
      {"empty key", [](TokenGrant& g) { g.api_key.clear(); }, "API key"},
      {"empty secret", [](TokenGrant& g) { g.api_secret.clear(); }, "API secret"},
      {"empty identity", [](TokenGrant& g) { g.identity.clear(); }, "identity"},
      {"empty room", [](TokenGrant& g) { g.room.clear(); }, "room"},
      {"zero validity", [](TokenGrant& g) { g.validity = std::chrono::seconds(0); }, "validity"},
      {"negative validity", [](TokenGrant& g) { g.validity = std::chrono::seconds(-5); }, "validity"},
      {"identity not UTF-8", [](TokenGrant& g) { g.identity = "bad\xff"; }, "UTF-8"},
  };
  for (const Case& c : cases) {
    TokenGrant grant = sample_grant();
    c.spoil(grant);
    auto token = mint_token(grant, [] { return kNow; });
    ASSERT_FALSE(token.ok()) << c.what;
    EXPECT_EQ(token.error().kind, ErrorKind::InvalidArgument) << c.what;
    EXPECT_NE(token.error().message.find(c.message_part), std::string::npos) << c.what << ": " << token.error().message;
    EXPECT_EQ(token.error().message.find("secret\""), std::string::npos);
  }
}

TEST(Token, SystemClockIsNow) {
  const int64_t before = g_get_real_time() / G_USEC_PER_SEC;
  auto token = mint_token(sample_grant());
  const int64_t after = g_get_real_time() / G_USEC_PER_SEC;
  ASSERT_TRUE(token.ok());
  JsonPart payload(split(*token)[1]);
  ASSERT_NE(payload.object, nullptr);
  EXPECT_GE(json_object_get_int_member(payload.object, "nbf"), before);
  EXPECT_LE(json_object_get_int_member(payload.object, "nbf"), after);
}

TEST(TokenClaims, ReadsIdentityRoomAndExpiryOfAMintedToken) {
  TokenGrant grant = sample_grant();
  grant.identity = "id \"with\" quotes";
  grant.room = "room/ü";
  grant.validity = std::chrono::seconds(60);
  auto claims = read_token_claims(mint(grant));
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->identity, grant.identity);
  EXPECT_EQ(claims->room, grant.room);
  EXPECT_EQ(claims->expires_at, kNow + 60);
}

std::string fake_token(const std::string& payload_json) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(payload_json.data());
  return "eyJhbGciOiJIUzI1NiJ9." + base64url::encode({bytes, payload_json.size()}, base64url::Padding::Strip) + ".c2ln";
}

TEST(TokenClaims, AbsentClaimsAreEmptyAndFractionalExpiryIsRead) {
  struct Case {
    const char* payload;
    const char* identity;
    const char* room;
    int64_t expires_at;
  };
  const Case cases[] = {
      {R"({})", "", "", 0},
      {R"({"sub":"a"})", "a", "", 0},
      {R"({"video":{"roomJoin":true}})", "", "", 0},
      {R"({"sub":"a","exp":1700000000.75,"video":{"room":"r"}})", "a", "r", 1700000000},
      {R"({"sub":"a","exp":12,"video":{"room":"r"},"extra":[1,2]})", "a", "r", 12},
  };
  for (const Case& c : cases) {
    auto claims = read_token_claims(fake_token(c.payload));
    ASSERT_TRUE(claims.ok()) << c.payload << ": " << claims.error().message;
    EXPECT_EQ(claims->identity, c.identity) << c.payload;
    EXPECT_EQ(claims->room, c.room) << c.payload;
    EXPECT_EQ(claims->expires_at, c.expires_at) << c.payload;
  }
}

TEST(TokenClaims, MalformedTokensAreErrorsThatDoNotQuoteTheToken) {
  const std::string cases[] = {
      "",
      "no-dots-at-all",
      "one.dot",
      "four.dots.in.it",
      "head.pay*load.sig",
      "head.A.sig",  // 4n+1 base64 characters
      fake_token("not json"),
      fake_token("[1,2]"),
      fake_token(R"({"sub":7})"),
      fake_token(R"({"sub":null})"),
      fake_token(R"({"exp":"tomorrow"})"),
      fake_token(R"({"exp":1e300})"),
      fake_token(R"({"video":"room"})"),
      fake_token(R"({"video":{"room":["r"]}})"),
  };
  for (const std::string& token : cases) {
    auto claims = read_token_claims(token);
    ASSERT_FALSE(claims.ok()) << token;
    EXPECT_EQ(claims.error().kind, ErrorKind::InvalidArgument);
    if (!token.empty()) {
      EXPECT_EQ(claims.error().message.find(token), std::string::npos) << claims.error().message;
    }
  }
}

TEST(Base64Url, Rfc4648VectorsWithAndWithoutPadding) {
  struct Case {
    std::vector<uint8_t> bytes;
    const char* padded;
    const char* stripped;
  };
  const Case cases[] = {
      {{}, "", ""},
      {{'f'}, "Zg==", "Zg"},
      {{'f', 'o'}, "Zm8=", "Zm8"},
      {{'f', 'o', 'o'}, "Zm9v", "Zm9v"},
      {{'f', 'o', 'o', 'b'}, "Zm9vYg==", "Zm9vYg"},
      {{0xfb, 0xff}, "-_8=", "-_8"},  // standard base64: "+/8="
      {{0xfb, 0xef, 0xbe}, "----", "----"},
      {{0xff, 0xff, 0xff}, "____", "____"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(base64url::encode(c.bytes, base64url::Padding::Keep), c.padded);
    EXPECT_EQ(base64url::encode(c.bytes, base64url::Padding::Strip), c.stripped);
    EXPECT_EQ(base64url::decode(c.padded), c.bytes) << c.padded;
    EXPECT_EQ(base64url::decode(c.stripped), c.bytes) << c.stripped;
  }
  for (const char* bad : {"Zm9v+", "Zm/v", "Zm 9v", "Z", "Zm9vY"}) EXPECT_FALSE(base64url::decode(bad).has_value()) << bad;
}

}  // namespace
}  // namespace lk::signal
