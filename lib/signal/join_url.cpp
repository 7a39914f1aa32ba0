#include "signal/join_url.h"

#include <gio/gio.h>
#include <glib.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "signal/base64url.h"

#ifndef GST_LIVEKIT_DATA_VERSION
#error "meson passes GST_LIVEKIT_DATA_VERSION (the project version) to lib/signal"
#endif

namespace lk::signal {
namespace {

// livekit-client 2.23.0 speaks signalling protocol 17 and client protocol 2.
constexpr int kProtocol = 17;
constexpr int kClientProtocol = 2;
// livekit-server maps the v0 `sdk` parameter "cpp" to ClientInfo.CPP.
constexpr const char* kSdkName = "cpp";

// Parameters we set; a user's query parameter of the same name is dropped.
constexpr std::array kOwnParameters = {
    "access_token", "join_request", "reconnect", "sid", "auto_subscribe", "auto_subscribe_data_track",
    "sdk", "version", "protocol", "client_protocol", "os", "disable_ice_lite", "reconnect_reason",
};
constexpr std::array kSecretParameters = {"access_token", "join_request"};

lk::Error invalid(std::string message) { return lk::make_error(lk::ErrorKind::InvalidArgument, std::move(message)); }

// Percent-encodes every byte except unreserved characters and `allowed`.
std::string escape(std::string_view text, const char* allowed = nullptr) {
  gchar* escaped = g_uri_escape_string(std::string(text).c_str(), allowed, FALSE);
  std::string result(escaped);
  g_free(escaped);
  return result;
}

// What RFC 3986 allows unescaped in a path and in a query besides unreserved
// characters, and '%' (GUri has checked the escapes already). A user's path or
// query goes through escape() with these: GUri lets '<', '"' or non-ASCII
// through, a browser's URL parser escapes them, and so do we.
constexpr const char* kPathCharacters = "!$&'()*+,;=:@/%";
constexpr const char* kQueryCharacters = "!$&'()*+,;=:@/?%";

// The parameter's name, percent-decoded (a name that does not decode stays as is).
std::string parameter_name(std::string_view parameter) {
  const std::string raw(parameter.substr(0, parameter.find('=')));
  gchar* name = g_uri_unescape_string(raw.c_str(), nullptr);
  std::string result = name != nullptr ? name : raw;
  g_free(name);
  return result;
}

template <size_t N>
bool is_one_of(const std::string& name, const std::array<const char*, N>& names) {
  for (const char* candidate : names)
    if (name == candidate) return true;
  return false;
}

// `query` minus the parameters named in `names`, in order.
template <size_t N>
std::string without_parameters(std::string_view query, const std::array<const char*, N>& names) {
  std::string kept;
  while (!query.empty()) {
    const size_t end = query.find('&');
    const std::string_view parameter = query.substr(0, end);
    if (!parameter.empty() && !is_one_of(parameter_name(parameter), names)) {
      if (!kept.empty()) kept += '&';
      kept += parameter;
    }
    query = end == std::string_view::npos ? std::string_view() : query.substr(end + 1);
  }
  return kept;
}

class Query {
 public:
  explicit Query(std::string initial) : text_(std::move(initial)) {}
  void add(std::string_view name, std::string_view value) {
    if (!text_.empty()) text_ += '&';
    text_ += name;
    text_ += '=';
    text_ += escape(value);
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

std::string join_base(const char* scheme, const ServerUrl& server) {
  gchar* text = g_uri_join(G_URI_FLAGS_ENCODED, scheme, nullptr, server.host.c_str(), server.port,
                           server.path.c_str(), nullptr, nullptr);
  std::string base(text);
  g_free(text);
  return base;
}

lk::Result<std::vector<uint8_t>> gzip(const std::string& input) {
  GZlibCompressor* compressor = g_zlib_compressor_new(G_ZLIB_COMPRESSOR_FORMAT_GZIP, -1);
  std::vector<uint8_t> output(input.size() + 64);
  size_t in_done = 0, out_done = 0;
  GError* error = nullptr;
  for (;;) {
    gsize read = 0, written = 0;
    const GConverterResult step = g_converter_convert(
        G_CONVERTER(compressor), input.data() + in_done, input.size() - in_done, output.data() + out_done,
        output.size() - out_done, G_CONVERTER_INPUT_AT_END, &read, &written, &error);
    in_done += read;
    out_done += written;
    if (step == G_CONVERTER_FINISHED) break;
    if (step == G_CONVERTER_ERROR) {
      if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE)) break;
      g_clear_error(&error);
      output.resize(output.size() * 2);
    }
  }
  g_object_unref(compressor);
  if (error != nullptr) {
    std::string message = std::string("join request: gzip failed: ") + error->message;
    g_error_free(error);
    return lk::make_error(lk::ErrorKind::Internal, std::move(message));
  }
  output.resize(out_done);
  return output;
}

lk::Result<void> check(const JoinOptions& options) {
  if (options.reconnect && options.participant_sid.empty())
    return invalid("a resume (reconnect) needs the participant sid the server gave in its JoinResponse");
  return lk::ok();
}

// GUri checks IP literals and turns international names into ASCII, but lets
// any other character through in a name.
bool plausible_host(const char* host) {
  if (strchr(host, ':') != nullptr) return g_hostname_is_ip_address(host);
  for (const char* c = host; *c != '\0'; ++c)
    if (!g_ascii_isalnum(*c) && *c != '-' && *c != '.' && *c != '_') return false;
  return true;
}

// For error messages: the URL up to its query, which might carry a token.
std::string shown(std::string_view url) { return "'" + std::string(url.substr(0, url.find('?'))) + "'"; }

}  // namespace

std::string ServerUrl::websocket_base() const { return join_base(secure ? "wss" : "ws", *this); }
std::string ServerUrl::http_base() const { return join_base(secure ? "https" : "http", *this); }

lk::Result<ServerUrl> parse_server_url(std::string_view url) {
  constexpr const char* kExample = "e.g. wss://my-project.livekit.cloud, or ws://127.0.0.1:7880 for a local server";
  if (url.empty()) return invalid(std::string("server URL is empty; set it to the LiveKit server, ") + kExample);
  // Without "://", GUri would read "host:7880" as scheme "host".
  if (url.find("://") == std::string_view::npos)
    return invalid("server URL " + shown(url) + " has no scheme; write it with wss:// (or ws://), " + kExample);

  // GUri lets a space through in a host; a pasted URL may carry a newline.
  for (char c : url)
    if (g_ascii_isspace(c) || g_ascii_iscntrl(c))
      return invalid("server URL " + shown(url) + " contains a space or control character; remove it");

  GError* error = nullptr;
  const std::unique_ptr<GUri, decltype(&g_uri_unref)> uri(
      g_uri_parse(std::string(url).c_str(), G_URI_FLAGS_ENCODED, &error), g_uri_unref);
  if (uri == nullptr) {
    std::string message = "server URL " + shown(url) + " is malformed (" + error->message + "); " + kExample;
    g_error_free(error);
    return invalid(std::move(message));
  }
  gchar* scheme = g_ascii_strdown(g_uri_get_scheme(uri.get()), -1);
  const std::string scheme_text(scheme);
  g_free(scheme);
  ServerUrl server;
  if (scheme_text == "wss" || scheme_text == "https") {
    server.secure = true;
  } else if (scheme_text != "ws" && scheme_text != "http") {
    return invalid("server URL scheme '" + scheme_text +
                   "' is not supported; use wss:// or https:// (ws:// or http:// for an unencrypted server)");
  }
  const char* host = g_uri_get_host(uri.get());
  if (host == nullptr || *host == '\0') {
    return invalid("server URL " + shown(url) + " has no host; " + kExample);
  }
  if (!plausible_host(host)) {
    return invalid("server URL " + shown(url) + " has a host with characters no host name has; " + kExample);
  }
  if (g_uri_get_port(uri.get()) == 0) {
    return invalid("server URL " + shown(url) + " has port 0; give the server's port or none");
  }
  if (g_uri_get_userinfo(uri.get()) != nullptr) {
    return invalid("server URL " + shown(url) +
                   " has user info before '@'; remove it (LiveKit authenticates with the access token)");
  }
  if (g_uri_get_fragment(uri.get()) != nullptr) {
    return invalid("server URL " + shown(url) + " has a '#' fragment; remove it");
  }
  server.host = host;
  server.port = g_uri_get_port(uri.get());
  server.path = escape(g_uri_get_path(uri.get()), kPathCharacters);
  // As livekit-client: "rtc" is appended after a '/', added when missing.
  if (server.path.empty() || server.path.back() != '/') server.path += '/';
  if (const char* query = g_uri_get_query(uri.get()))
    server.query = without_parameters(escape(query, kQueryCharacters), kOwnParameters);
  return server;
}

livekit::ClientInfo client_info() {
  livekit::ClientInfo info;
  info.set_sdk(livekit::ClientInfo::CPP);
  info.set_version(GST_LIVEKIT_DATA_VERSION);
  info.set_protocol(kProtocol);
  info.set_client_protocol(kClientProtocol);
  info.set_os("linux");
  return info;
}

lk::Result<livekit::JoinRequest> make_join_request(const JoinOptions& options) {
  if (auto checked = check(options); !checked.ok()) return checked.error();
  livekit::JoinRequest request;
  *request.mutable_client_info() = client_info();
  livekit::ConnectionSettings* settings = request.mutable_connection_settings();
  settings->set_auto_subscribe(options.auto_subscribe);
  settings->set_auto_subscribe_data_track(options.auto_subscribe_data_track);
  settings->set_disable_ice_lite(options.disable_ice_lite);
  if (options.reconnect) {
    request.set_reconnect(true);
    request.set_participant_sid(options.participant_sid);
    request.set_reconnect_reason(options.reconnect_reason);
  }
  return request;
}

lk::Result<std::string> encode_join_request(const livekit::JoinRequest& request) {
  std::string serialized;
  if (!request.SerializeToString(&serialized))
    return lk::make_error(lk::ErrorKind::Internal, "join request: protobuf serialization failed");
  auto compressed = gzip(serialized);
  if (!compressed.ok()) return compressed.error();
  livekit::WrappedJoinRequest wrapped;
  wrapped.set_compression(livekit::WrappedJoinRequest::GZIP);
  wrapped.set_join_request(compressed->data(), compressed->size());
  std::string wrapped_bytes;
  if (!wrapped.SerializeToString(&wrapped_bytes))
    return lk::make_error(lk::ErrorKind::Internal, "join request: protobuf serialization failed");
  const auto* data = reinterpret_cast<const uint8_t*>(wrapped_bytes.data());
  return base64url::encode({data, wrapped_bytes.size()}, base64url::Padding::Keep);
}

lk::Result<SignalRequest> make_signal_request(const ServerUrl& server, std::string_view token,
                                              SignalProtocol protocol, const JoinOptions& options,
                                              TokenPlacement placement) {
  if (token.empty()) return invalid("no access token; mint one from the API key and secret, or pass one");
  // It goes into a header or a query as is: a stray newline must not get there.
  for (char c : token)
    if (!g_ascii_isalnum(c) && c != '-' && c != '_' && c != '.')
      return invalid("the access token has characters no JWT has (a trailing newline or space?); pass the token alone");
  Query query(server.query);
  if (placement == TokenPlacement::QueryParameter) query.add("access_token", token);

  std::string path;
  if (protocol == SignalProtocol::V1) {
    path = "rtc/v1";
    auto request = make_join_request(options);
    if (!request.ok()) return request.error();
    auto encoded = encode_join_request(*request);
    if (!encoded.ok()) return encoded.error();
    query.add("join_request", *encoded);
  } else {
    path = "rtc";
    if (auto checked = check(options); !checked.ok()) return checked.error();
    const livekit::ClientInfo info = client_info();
    if (options.reconnect) {
      query.add("reconnect", "1");
      query.add("sid", options.participant_sid);
    }
    query.add("auto_subscribe", options.auto_subscribe ? "1" : "0");
    query.add("auto_subscribe_data_track", options.auto_subscribe_data_track ? "1" : "0");
    query.add("sdk", kSdkName);
    query.add("version", info.version());
    query.add("protocol", std::to_string(info.protocol()));
    query.add("client_protocol", std::to_string(info.client_protocol()));
    query.add("os", info.os());
    if (options.disable_ice_lite) query.add("disable_ice_lite", "1");
    if (options.reconnect && options.reconnect_reason != livekit::RR_UNKNOWN)
      query.add("reconnect_reason", std::to_string(int(options.reconnect_reason)));
  }

  const std::string suffix = query.text().empty() ? std::string() : "?" + query.text();
  SignalRequest result;
  result.websocket_url = server.websocket_base() + path + suffix;
  result.validate_url = server.http_base() + path + "/validate" + suffix;
  if (placement == TokenPlacement::AuthorizationHeader) result.authorization = bearer_authorization(token);
  result.redacted_url = redact_signal_url(result.websocket_url);
  return result;
}

std::string bearer_authorization(std::string_view token) { return "Bearer " + std::string(token); }

std::string redact_signal_url(std::string_view url) {
  const size_t question = url.find('?');
  if (question == std::string_view::npos) return std::string(url);
  const size_t hash = url.find('#', question);
  const std::string_view query = url.substr(question + 1, hash == std::string_view::npos ? hash : hash - question - 1);
  const std::string kept = without_parameters(query, kSecretParameters);
  std::string redacted(url.substr(0, question));
  if (!kept.empty()) redacted += "?" + kept;
  if (hash != std::string_view::npos) redacted += url.substr(hash);
  return redacted;
}

}  // namespace lk::signal
