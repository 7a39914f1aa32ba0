// The URLs and header that open LiveKit signalling: the user's server URL
// checked and turned into a WebSocket base, the join request of the
// single-peer-connection protocol ("v1", /rtc/v1?join_request=...), the query
// of the legacy dual-peer-connection protocol ("v0", /rtc?...), their HTTP
// validate twins, and a form of each URL that is safe to log.
// Pure code: no threads, no I/O.
//
// The token goes in an `Authorization: Bearer` header by default, so that it
// stays out of URLs (and so out of proxy and server access logs).
#pragma once

#include <string>
#include <string_view>

#include "livekit_models.pb.h"
#include "livekit_rtc.pb.h"
#include "util/result.h"

namespace lk::signal {

// A LiveKit server URL, checked: ws:// and wss:// as given, http:// -> ws://,
// https:// -> wss://. The path is kept (a reverse proxy may serve LiveKit
// under one) and the user's own query parameters too, except those we set.
struct ServerUrl {
  bool secure = false;  // wss / https
  std::string host;     // as GUri gives it: IPv6 without brackets
  int port = -1;        // -1: the scheme's default
  std::string path;     // percent-encoded, always ends with '/'
  std::string query;    // percent-encoded, without '?'; "" when none

  std::string websocket_base() const;  // ws(s)://host[:port]/path/
  std::string http_base() const;       // http(s)://host[:port]/path/
};

// Fails (InvalidArgument) with what to fix: no scheme, another scheme, no
// host, user info, a fragment, or text GUri cannot parse.
lk::Result<ServerUrl> parse_server_url(std::string_view url);

enum class SignalProtocol {
  V1,  // <base>rtc/v1: one peer connection, join request in the query
  V0,  // <base>rtc: publisher + subscriber peer connections, plain query
};

enum class TokenPlacement {
  AuthorizationHeader,  // `Authorization: Bearer <token>` on the upgrade and on validate
  QueryParameter,       // `access_token=<token>` (what livekit-client does)
};

struct JoinOptions {
  // A data-only client wants neither media nor every data track pushed at it.
  bool auto_subscribe = false;
  bool auto_subscribe_data_track = false;
  bool disable_ice_lite = false;  // ask the SFU for full ICE
  // Resume the server session of participant_sid (it came in JoinResponse)
  // instead of joining anew.
  bool reconnect = false;
  std::string participant_sid;
  livekit::ReconnectReason reconnect_reason = livekit::RR_UNKNOWN;
};

// sdk CPP, our version, protocol 17, client_protocol 2 (as livekit-client
// 2.23), os "linux".
livekit::ClientInfo client_info();

// Fails (InvalidArgument) when reconnect is set without a participant sid.
lk::Result<livekit::JoinRequest> make_join_request(const JoinOptions& options);

// The `join_request` query value: the serialized request gzipped, wrapped in
// WrappedJoinRequest{compression = GZIP}, base64url with '=' padding kept
// (the server decodes it with a padded decoder). Not yet percent-encoded.
lk::Result<std::string> encode_join_request(const livekit::JoinRequest& request);

struct SignalRequest {
  std::string websocket_url;  // ws(s)://.../rtc/v1?... or .../rtc?...
  std::string validate_url;   // http(s)://.../rtc/v1/validate or .../rtc/validate, same query
  std::string authorization;  // header value for both requests; "" with TokenPlacement::QueryParameter
  std::string redacted_url;   // websocket_url without token and join request: for logs
};

// Fails (InvalidArgument) on an empty token or bad options.
lk::Result<SignalRequest> make_signal_request(const ServerUrl& server, std::string_view token,
                                              SignalProtocol protocol, const JoinOptions& options,
                                              TokenPlacement placement = TokenPlacement::AuthorizationHeader);

// "Bearer <token>", the Authorization header value.
std::string bearer_authorization(std::string_view token);

// The URL without its access_token and join_request parameters.
std::string redact_signal_url(std::string_view url);

}  // namespace lk::signal
