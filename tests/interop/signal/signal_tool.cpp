// Bridge between lib/signal and signal_interop.mjs: reads one JSON request per
// line on stdin, writes one JSON answer per line on stdout.
//
//   {"op":"token", "api_key", "api_secret", "identity", "room", "name",
//    "validity" (s), "now" (UNIX s, optional), "can_publish", "can_subscribe",
//    "can_publish_data" (optional booleans)}            -> {"ok", "token"}
//   {"op":"claims", "token"}                            -> {"ok", "identity", "room", "expires_at"}
//   {"op":"server_url", "url"}                          -> {"ok", "websocket_base", "http_base", "query"}
//   {"op":"signal", "url", "token", "protocol" ("v1"|"v0"), "placement" ("header"|"query"),
//    "auto_subscribe", "auto_subscribe_data_track", "disable_ice_lite", "reconnect",
//    "participant_sid", "reconnect_reason" (all optional)}
//                                                       -> {"ok", "websocket_url", "validate_url",
//                                                           "authorization", "redacted_url"}
// A refusal is {"ok": false, "error": message}.
#include <json-glib/json-glib.h>

#include <iostream>
#include <string>

#include "signal/join_url.h"
#include "signal/token.h"

using namespace lk::signal;

namespace {

std::string text(JsonObject* o, const char* name) {
  return json_object_has_member(o, name) ? json_object_get_string_member(o, name) : "";
}
bool flag(JsonObject* o, const char* name, bool fallback) {
  return json_object_has_member(o, name) ? json_object_get_boolean_member(o, name) : fallback;
}
int64_t number(JsonObject* o, const char* name, int64_t fallback) {
  return json_object_has_member(o, name) ? json_object_get_int_member(o, name) : fallback;
}

// Builds one answer object; print() writes it as a line.
class Answer {
 public:
  Answer() : b_(json_builder_new()) { json_builder_begin_object(b_); }
  ~Answer() { g_object_unref(b_); }
  Answer(const Answer&) = delete;
  Answer& operator=(const Answer&) = delete;

  Answer& set(const char* name, const std::string& value) {
    json_builder_set_member_name(b_, name);
    json_builder_add_string_value(b_, value.c_str());
    return *this;
  }
  Answer& set(const char* name, int64_t value) {
    json_builder_set_member_name(b_, name);
    json_builder_add_int_value(b_, value);
    return *this;
  }
  Answer& set(const char* name, bool value) {
    json_builder_set_member_name(b_, name);
    json_builder_add_boolean_value(b_, value);
    return *this;
  }
  void print() {
    json_builder_end_object(b_);
    JsonNode* root = json_builder_get_root(b_);
    JsonGenerator* generator = json_generator_new();
    json_generator_set_root(generator, root);
    gchar* line = json_generator_to_data(generator, nullptr);
    std::cout << line << '\n';
    g_free(line);
    g_object_unref(generator);
    json_node_unref(root);
  }

 private:
  JsonBuilder* b_;
};

void refuse(const lk::Error& error) { Answer().set("ok", false).set("error", error.message).print(); }

void token(JsonObject* request) {
  TokenGrant grant;
  grant.api_key = text(request, "api_key");
  grant.api_secret = text(request, "api_secret");
  grant.identity = text(request, "identity");
  grant.room = text(request, "room");
  grant.name = text(request, "name");
  grant.validity = std::chrono::seconds(number(request, "validity", 6 * 3600));
  grant.can_publish = flag(request, "can_publish", true);
  grant.can_subscribe = flag(request, "can_subscribe", true);
  grant.can_publish_data = flag(request, "can_publish_data", true);
  const bool fixed_clock = json_object_has_member(request, "now");
  const int64_t now = number(request, "now", 0);
  auto minted = fixed_clock ? mint_token(grant, [now] { return now; }) : mint_token(grant);
  if (!minted.ok()) return refuse(minted.error());
  Answer().set("ok", true).set("token", *minted).print();
}

void claims(JsonObject* request) {
  auto read = read_token_claims(text(request, "token"));
  if (!read.ok()) return refuse(read.error());
  Answer().set("ok", true).set("identity", read->identity).set("room", read->room).set("expires_at", read->expires_at).print();
}

void server_url(JsonObject* request) {
  auto server = parse_server_url(text(request, "url"));
  if (!server.ok()) return refuse(server.error());
  Answer()
      .set("ok", true)
      .set("websocket_base", server->websocket_base())
      .set("http_base", server->http_base())
      .set("query", server->query)
      .print();
}

void signal_request(JsonObject* request) {
  auto server = parse_server_url(text(request, "url"));
  if (!server.ok()) return refuse(server.error());
  JoinOptions options;
  options.auto_subscribe = flag(request, "auto_subscribe", false);
  options.auto_subscribe_data_track = flag(request, "auto_subscribe_data_track", false);
  options.disable_ice_lite = flag(request, "disable_ice_lite", false);
  options.reconnect = flag(request, "reconnect", false);
  options.participant_sid = text(request, "participant_sid");
  options.reconnect_reason = livekit::ReconnectReason(number(request, "reconnect_reason", 0));
  const SignalProtocol protocol = text(request, "protocol") == "v0" ? SignalProtocol::V0 : SignalProtocol::V1;
  const TokenPlacement placement =
      text(request, "placement") == "query" ? TokenPlacement::QueryParameter : TokenPlacement::AuthorizationHeader;
  auto made = make_signal_request(*server, text(request, "token"), protocol, options, placement);
  if (!made.ok()) return refuse(made.error());
  Answer()
      .set("ok", true)
      .set("websocket_url", made->websocket_url)
      .set("validate_url", made->validate_url)
      .set("authorization", made->authorization)
      .set("redacted_url", made->redacted_url)
      .print();
}

}  // namespace

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    JsonParser* parser = json_parser_new();
    if (!json_parser_load_from_data(parser, line.c_str(), gssize(line.size()), nullptr) ||
        !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
      std::cerr << "signal-tool: not a JSON object: " << line << '\n';
      return 2;
    }
    JsonObject* request = json_node_get_object(json_parser_get_root(parser));
    const std::string op = text(request, "op");
    if (op == "token") token(request);
    else if (op == "claims") claims(request);
    else if (op == "server_url") server_url(request);
    else if (op == "signal") signal_request(request);
    else {
      std::cerr << "signal-tool: unknown op '" << op << "'\n";
      return 2;
    }
    g_object_unref(parser);
  }
  return 0;
}
