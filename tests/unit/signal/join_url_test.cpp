// Signalling URLs: accepted and refused server URLs, the v1 join request
// (base64url with padding, percent-encoded, gzip round trip), the v0 query,
// validate URLs, the token's placement and the redacted form for logs.
#include <gio/gio.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "signal/join_url.h"

namespace lk::signal {
namespace {

constexpr const char* kToken = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl";

struct AcceptedCase {
  const char* input;
  const char* websocket_base;
  const char* http_base;
  const char* query;
};

TEST(ServerUrl, AcceptedUrlsBecomeAWebSocketBaseEndingInSlash) {
  const AcceptedCase cases[] = {
      {"wss://example.com", "wss://example.com/", "https://example.com/", ""},
      {"wss://example.com/", "wss://example.com/", "https://example.com/", ""},
      {"ws://127.0.0.1:7880", "ws://127.0.0.1:7880/", "http://127.0.0.1:7880/", ""},
      {"http://localhost:7880", "ws://localhost:7880/", "http://localhost:7880/", ""},
      {"https://example.com", "wss://example.com/", "https://example.com/", ""},
      {"HTTPS://example.com:8443", "wss://example.com:8443/", "https://example.com:8443/", ""},
      {"https://example.com/livekit", "wss://example.com/livekit/", "https://example.com/livekit/", ""},
      {"wss://example.com/a/b/", "wss://example.com/a/b/", "https://example.com/a/b/", ""},
      {"wss://example.com/a%20b", "wss://example.com/a%20b/", "https://example.com/a%20b/", ""},
      {"wss://example.com/a<b/ü", "wss://example.com/a%3Cb/%C3%BC/", "https://example.com/a%3Cb/%C3%BC/", ""},
      {"wss://example.com?q=a<b", "wss://example.com/", "https://example.com/", "q=a%3Cb"},
      {"wss://bücher.example", "wss://xn--bcher-kva.example/", "https://xn--bcher-kva.example/", ""},
      {"ws://[::1]:7880", "ws://[::1]:7880/", "http://[::1]:7880/", ""},
      {"wss://example.com/lk?region=eu", "wss://example.com/lk/", "https://example.com/lk/", "region=eu"},
      // Parameters we set ourselves are dropped from the user's query (a token above all).
      {"wss://example.com?access_token=x&region=eu&sdk=js&join_request=y", "wss://example.com/",
       "https://example.com/", "region=eu"},
      {"wss://example.com?access%5Ftoken=x", "wss://example.com/", "https://example.com/", ""},
  };
  for (const AcceptedCase& c : cases) {
    auto server = parse_server_url(c.input);
    ASSERT_TRUE(server.ok()) << c.input << ": " << server.error().message;
    EXPECT_EQ(server->websocket_base(), c.websocket_base) << c.input;
    EXPECT_EQ(server->http_base(), c.http_base) << c.input;
    EXPECT_EQ(server->query, c.query) << c.input;
  }
}

TEST(ServerUrl, RefusedUrlsSayWhatToFix) {
  struct Case {
    const char* input;
    const char* message_part;
  };
  const Case cases[] = {
      {"", "empty"},
      {"example.com", "no scheme"},
      {"localhost:7880", "no scheme"},
      {"ftp://example.com", "scheme 'ftp' is not supported"},
      {"file:///tmp/x", "scheme 'file' is not supported"},
      {"tcp://example.com:7880", "scheme 'tcp' is not supported"},
      {"wss://", "no host"},
      {"wss:///path", "no host"},
      {"wss://user:password@example.com", "user info"},
      {"wss://example.com/#room", "fragment"},
      {"wss://example.com:99999", "malformed"},
      {"wss://example.com:port", "malformed"},
      {"wss://exa mple.com", "space"},
      {"wss://example.com\n", "space"},
      {"wss://exa<mple.com", "host with characters"},
      {"wss://h'x", "host with characters"},
      {"wss://example.com:0", "port 0"},
      {"wss://example.com/%zz", "malformed"},
      {"wss://[::1", "malformed"},
  };
  for (const Case& c : cases) {
    auto server = parse_server_url(c.input);
    ASSERT_FALSE(server.ok()) << c.input;
    EXPECT_EQ(server.error().kind, ErrorKind::InvalidArgument);
    EXPECT_NE(server.error().message.find(c.message_part), std::string::npos)
        << c.input << ": " << server.error().message;
  }
}

TEST(ServerUrl, ErrorsDoNotQuoteTheQuery) {
  auto server = parse_server_url("wss://user@example.com/?access_token=SECRET");
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.error().message.find("SECRET"), std::string::npos) << server.error().message;
}

// ---- helpers: split a URL, undo the percent-encoding, base64url and gzip

struct SplitUrl {
  std::string base;  // up to '?'
  std::vector<std::pair<std::string, std::string>> query;  // percent-decoded
  std::string raw_query;
};

std::string unescape(const std::string& text) {
  gchar* plain = g_uri_unescape_string(text.c_str(), nullptr);
  EXPECT_NE(plain, nullptr) << text;
  std::string result = plain != nullptr ? plain : "";
  g_free(plain);
  return result;
}

SplitUrl split_url(const std::string& url) {
  SplitUrl split;
  const size_t question = url.find('?');
  split.base = url.substr(0, question);
  if (question == std::string::npos) return split;
  split.raw_query = url.substr(question + 1);
  size_t start = 0;
  for (;;) {
    const size_t end = split.raw_query.find('&', start);
    const std::string parameter = split.raw_query.substr(start, end - start);
    const size_t equals = parameter.find('=');
    split.query.emplace_back(unescape(parameter.substr(0, equals)),
                             equals == std::string::npos ? "" : unescape(parameter.substr(equals + 1)));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return split;
}

std::map<std::string, std::string> as_map(const SplitUrl& url) {
  std::map<std::string, std::string> map;
  for (const auto& [name, value] : url.query) EXPECT_TRUE(map.emplace(name, value).second) << "repeated " << name;
  return map;
}

std::string gunzip(const std::string& compressed) {
  GZlibDecompressor* decompressor = g_zlib_decompressor_new(G_ZLIB_COMPRESSOR_FORMAT_GZIP);
  std::string output(64 * 1024, '\0');
  gsize read = 0, written = 0;
  GError* error = nullptr;
  const GConverterResult result =
      g_converter_convert(G_CONVERTER(decompressor), compressed.data(), compressed.size(), output.data(),
                          output.size(), G_CONVERTER_INPUT_AT_END, &read, &written, &error);
  EXPECT_EQ(result, G_CONVERTER_FINISHED) << (error != nullptr ? error->message : "");
  EXPECT_EQ(read, compressed.size());
  g_clear_error(&error);
  g_object_unref(decompressor);
  output.resize(written);
  return output;
}

// The server's reading of a join_request value: padded base64url (Go's
// base64.URLEncoding), WrappedJoinRequest, gunzip, JoinRequest.
livekit::JoinRequest decode_join_request(const std::string& value) {
  EXPECT_EQ(value.size() % 4, 0u) << "padding must be kept";
  EXPECT_EQ(value.find_first_of("+/"), std::string::npos);
  std::string standard = value;
  for (char& c : standard) c = c == '-' ? '+' : c == '_' ? '/' : c;
  gsize length = 0;
  guchar* bytes = g_base64_decode(standard.c_str(), &length);
  livekit::WrappedJoinRequest wrapped;
  EXPECT_TRUE(wrapped.ParseFromArray(bytes, int(length)));
  g_free(bytes);
  EXPECT_EQ(wrapped.compression(), livekit::WrappedJoinRequest::GZIP);
  EXPECT_EQ(wrapped.join_request().substr(0, 2), "\x1f\x8b") << "gzip magic";
  livekit::JoinRequest request;
  EXPECT_TRUE(request.ParseFromString(gunzip(wrapped.join_request())));
  return request;
}

ServerUrl server(const char* url) {
  auto parsed = parse_server_url(url);
  EXPECT_TRUE(parsed.ok()) << url;
  return parsed.ok() ? *parsed : ServerUrl{};
}

SignalRequest request(const char* url, SignalProtocol protocol, const JoinOptions& options = {},
                      TokenPlacement placement = TokenPlacement::AuthorizationHeader) {
  auto made = make_signal_request(server(url), kToken, protocol, options, placement);
  EXPECT_TRUE(made.ok()) << (made.ok() ? "" : made.error().message);
  return made.ok() ? *made : SignalRequest{};
}

// ---- v1

TEST(SignalUrlV1, PathsValidateUrlAndBearerHeader) {
  struct Case {
    const char* server;
    const char* websocket;
    const char* validate;
  };
  const Case cases[] = {
      {"wss://example.com", "wss://example.com/rtc/v1", "https://example.com/rtc/v1/validate"},
      {"https://example.com/lk/", "wss://example.com/lk/rtc/v1", "https://example.com/lk/rtc/v1/validate"},
      {"http://127.0.0.1:7880", "ws://127.0.0.1:7880/rtc/v1", "http://127.0.0.1:7880/rtc/v1/validate"},
  };
  for (const Case& c : cases) {
    const SignalRequest r = request(c.server, SignalProtocol::V1);
    const SplitUrl ws = split_url(r.websocket_url), validate = split_url(r.validate_url);
    EXPECT_EQ(ws.base, c.websocket);
    EXPECT_EQ(validate.base, c.validate);
    EXPECT_EQ(validate.raw_query, ws.raw_query) << "validate carries the same query";
    ASSERT_EQ(ws.query.size(), 1u) << r.websocket_url;
    EXPECT_EQ(ws.query[0].first, "join_request");
    EXPECT_EQ(r.authorization, std::string("Bearer ") + kToken);
    EXPECT_EQ(r.websocket_url.find(kToken), std::string::npos);
    EXPECT_EQ(r.validate_url.find(kToken), std::string::npos);
  }
}

TEST(SignalUrlV1, TokenInTheQueryWhenAsked) {
  const SignalRequest r = request("wss://example.com", SignalProtocol::V1, {}, TokenPlacement::QueryParameter);
  const SplitUrl ws = split_url(r.websocket_url);
  ASSERT_EQ(ws.query.size(), 2u);
  EXPECT_EQ(ws.query[0], std::make_pair(std::string("access_token"), std::string(kToken)));
  EXPECT_EQ(ws.query[1].first, "join_request");
  EXPECT_EQ(split_url(r.validate_url).query, ws.query);
  EXPECT_TRUE(r.authorization.empty());
}

TEST(SignalUrlV1, JoinRequestFieldsAfterGunzip) {
  const SignalRequest r = request("wss://example.com", SignalProtocol::V1);
  const livekit::JoinRequest join = decode_join_request(as_map(split_url(r.websocket_url))["join_request"]);
  const livekit::ClientInfo& info = join.client_info();
  EXPECT_EQ(info.sdk(), livekit::ClientInfo::CPP);
  EXPECT_EQ(int(info.sdk()), 10);
  EXPECT_EQ(info.version(), TEST_PROJECT_VERSION);
  EXPECT_EQ(info.protocol(), 17);
  EXPECT_EQ(info.client_protocol(), 2);
  EXPECT_EQ(info.os(), "linux");
  ASSERT_TRUE(join.has_connection_settings());
  EXPECT_FALSE(join.connection_settings().auto_subscribe());
  ASSERT_TRUE(join.connection_settings().has_auto_subscribe_data_track()) << "explicitly off";
  EXPECT_FALSE(join.connection_settings().auto_subscribe_data_track());
  EXPECT_FALSE(join.connection_settings().disable_ice_lite());
  EXPECT_FALSE(join.reconnect());
  EXPECT_TRUE(join.participant_sid().empty());
  EXPECT_EQ(join.reconnect_reason(), livekit::RR_UNKNOWN);
}

TEST(SignalUrlV1, OptionsAndResumeFieldsAfterGunzip) {
  JoinOptions options;
  options.auto_subscribe = true;
  options.auto_subscribe_data_track = true;
  options.disable_ice_lite = true;
  options.reconnect = true;
  options.participant_sid = "PA_abc123";
  options.reconnect_reason = livekit::RR_SIGNAL_DISCONNECTED;
  const SignalRequest r = request("wss://example.com", SignalProtocol::V1, options);
  const livekit::JoinRequest join = decode_join_request(as_map(split_url(r.websocket_url))["join_request"]);
  EXPECT_TRUE(join.connection_settings().auto_subscribe());
  EXPECT_TRUE(join.connection_settings().auto_subscribe_data_track());
  EXPECT_TRUE(join.connection_settings().disable_ice_lite());
  EXPECT_TRUE(join.reconnect());
  EXPECT_EQ(join.participant_sid(), "PA_abc123");
  EXPECT_EQ(join.reconnect_reason(), livekit::RR_SIGNAL_DISCONNECTED);
}

TEST(SignalUrlV1, Base64PaddingIsKeptAndPercentEncoded) {
  // The wrapped request's length varies with the sid; collect both cases.
  bool saw_padding = false, saw_no_padding = false;
  for (std::string sid = "PA_"; sid.size() < 40; sid += 'x') {
    JoinOptions options;
    options.reconnect = true;
    options.participant_sid = sid;
    const SignalRequest r = request("wss://example.com", SignalProtocol::V1, options);
    const std::string raw = split_url(r.websocket_url).raw_query;
    ASSERT_EQ(raw.rfind("join_request=", 0), 0u) << raw;
    const std::string raw_value = raw.substr(strlen("join_request="));
    EXPECT_EQ(raw_value.find('='), std::string::npos) << "'=' must be %3D in the query: " << raw_value;
    const std::string value = unescape(raw_value);
    EXPECT_EQ(value.size() % 4, 0u);
    (value.back() == '=' ? saw_padding : saw_no_padding) = true;
    if (value.back() == '=') {
      EXPECT_EQ(raw_value.substr(raw_value.size() - 3), "%3D");
    }
    EXPECT_EQ(decode_join_request(value).participant_sid(), sid);
  }
  EXPECT_TRUE(saw_padding);
  EXPECT_TRUE(saw_no_padding);
}

TEST(SignalUrlV1, EncodedJoinRequestRoundTripsAnyRequest) {
  auto join = make_join_request({});
  ASSERT_TRUE(join.ok());
  join->set_metadata(std::string(5000, 'm'));  // compresses well: gzip must really be applied
  auto encoded = encode_join_request(*join);
  ASSERT_TRUE(encoded.ok());
  EXPECT_LT(encoded->size(), 1000u);
  const livekit::JoinRequest decoded = decode_join_request(*encoded);
  EXPECT_EQ(decoded.SerializeAsString(), join->SerializeAsString());
}

TEST(SignalUrlV1, UserQueryIsKeptBeforeOurs) {
  const SignalRequest r = request("wss://example.com/lk?region=eu&access_token=old", SignalProtocol::V1, {},
                                  TokenPlacement::QueryParameter);
  const SplitUrl ws = split_url(r.websocket_url);
  ASSERT_EQ(ws.query.size(), 3u) << r.websocket_url;
  EXPECT_EQ(ws.query[0], std::make_pair(std::string("region"), std::string("eu")));
  EXPECT_EQ(ws.query[1], std::make_pair(std::string("access_token"), std::string(kToken)));
  EXPECT_EQ(ws.query[2].first, "join_request");
}

// ---- v0

TEST(SignalUrlV0, QueryForANewJoin) {
  const SignalRequest r = request("https://example.com/lk", SignalProtocol::V0);
  const SplitUrl ws = split_url(r.websocket_url);
  EXPECT_EQ(ws.base, "wss://example.com/lk/rtc");
  EXPECT_EQ(split_url(r.validate_url).base, "https://example.com/lk/rtc/validate");
  EXPECT_EQ(split_url(r.validate_url).raw_query, ws.raw_query);
  const std::map<std::string, std::string> expected = {
      {"auto_subscribe", "0"}, {"auto_subscribe_data_track", "0"}, {"sdk", "cpp"},
      {"version", TEST_PROJECT_VERSION}, {"protocol", "17"}, {"client_protocol", "2"},
      {"os", "linux"},
  };
  EXPECT_EQ(as_map(ws), expected);
  EXPECT_EQ(r.authorization, std::string("Bearer ") + kToken);
}

TEST(SignalUrlV0, QueryForAResumeWithOptionsAndTokenInQuery) {
  JoinOptions options;
  options.auto_subscribe = true;
  options.auto_subscribe_data_track = true;
  options.disable_ice_lite = true;
  options.reconnect = true;
  options.participant_sid = "PA_a b&c";  // escaped, not split
  options.reconnect_reason = livekit::RR_PUBLISHER_FAILED;
  const SignalRequest r = request("ws://127.0.0.1:7880", SignalProtocol::V0, options, TokenPlacement::QueryParameter);
  const std::map<std::string, std::string> expected = {
      {"access_token", kToken}, {"reconnect", "1"}, {"sid", "PA_a b&c"},
      {"auto_subscribe", "1"}, {"auto_subscribe_data_track", "1"}, {"sdk", "cpp"},
      {"version", TEST_PROJECT_VERSION}, {"protocol", "17"}, {"client_protocol", "2"},
      {"os", "linux"}, {"disable_ice_lite", "1"}, {"reconnect_reason", "2"},
  };
  EXPECT_EQ(as_map(split_url(r.websocket_url)), expected);
  EXPECT_TRUE(r.authorization.empty());
}

// ---- refusals and redaction

TEST(SignalRequest, RefusesAnEmptyTokenAndAResumeWithoutSid) {
  const ServerUrl base = server("wss://example.com");
  for (SignalProtocol protocol : {SignalProtocol::V1, SignalProtocol::V0}) {
    auto no_token = make_signal_request(base, "", protocol, {});
    ASSERT_FALSE(no_token.ok());
    EXPECT_NE(no_token.error().message.find("access token"), std::string::npos);
    JoinOptions resume;
    resume.reconnect = true;
    auto no_sid = make_signal_request(base, kToken, protocol, resume);
    ASSERT_FALSE(no_sid.ok());
    EXPECT_NE(no_sid.error().message.find("participant sid"), std::string::npos);
  }
}

TEST(SignalRequest, RefusesATokenWithCharactersNoJwtHas) {
  const ServerUrl base = server("wss://example.com");
  for (const std::string& bad : {std::string(kToken) + "\n", std::string(kToken) + " ", "Bearer " + std::string(kToken),
                                std::string(kToken) + "\r\nX-Injected: 1", std::string("a.b=.c")}) {
    auto made = make_signal_request(base, bad, SignalProtocol::V1, {});
    ASSERT_FALSE(made.ok()) << bad;
    EXPECT_NE(made.error().message.find("characters no JWT has"), std::string::npos);
    EXPECT_EQ(made.error().message.find(kToken), std::string::npos);
  }
}

TEST(SignalRequest, RedactedUrlHasNeitherTokenNorJoinRequest) {
  for (SignalProtocol protocol : {SignalProtocol::V1, SignalProtocol::V0}) {
    for (TokenPlacement placement : {TokenPlacement::AuthorizationHeader, TokenPlacement::QueryParameter}) {
      const SignalRequest r = request("wss://example.com/lk?region=eu", protocol, {}, placement);
      EXPECT_EQ(r.redacted_url.find(kToken), std::string::npos) << r.redacted_url;
      EXPECT_EQ(r.redacted_url.find("access_token"), std::string::npos) << r.redacted_url;
      EXPECT_EQ(r.redacted_url.find("join_request"), std::string::npos) << r.redacted_url;
      EXPECT_EQ(r.redacted_url.rfind("wss://example.com/lk/rtc", 0), 0u) << r.redacted_url;
      EXPECT_NE(r.redacted_url.find("region=eu"), std::string::npos) << r.redacted_url;
    }
  }
}

TEST(SignalRequest, RedactSignalUrlTable) {
  struct Case {
    const char* url;
    const char* redacted;
  };
  const Case cases[] = {
      {"wss://h/rtc/v1", "wss://h/rtc/v1"},
      {"wss://h/rtc/v1?join_request=AAA%3D", "wss://h/rtc/v1"},
      {"wss://h/rtc/v1?access_token=T&join_request=J", "wss://h/rtc/v1"},
      {"wss://h/rtc?access_token=T&auto_subscribe=0&sdk=cpp", "wss://h/rtc?auto_subscribe=0&sdk=cpp"},
      {"wss://h/rtc?sdk=cpp&access%5Ftoken=T", "wss://h/rtc?sdk=cpp"},
      {"https://h/rtc/validate?region=eu&access_token=T#x", "https://h/rtc/validate?region=eu#x"},
  };
  for (const Case& c : cases) EXPECT_EQ(redact_signal_url(c.url), c.redacted) << c.url;
}

TEST(SignalRequest, BearerHeaderValue) { EXPECT_EQ(bearer_authorization("abc.def.ghi"), "Bearer abc.def.ghi"); }

}  // namespace
}  // namespace lk::signal
