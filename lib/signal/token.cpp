#include "signal/token.h"

#include <glib.h>
#include <json-glib/json-glib.h>

#include <cmath>
#include <memory>
#include <vector>

#include "signal/base64url.h"

namespace lk::signal {
namespace {

template <typename T>
struct GObjectDeleter {
  void operator()(T* object) const { g_object_unref(object); }
};
template <typename T>
using GObjectPtr = std::unique_ptr<T, GObjectDeleter<T>>;

std::span<const uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// json-glib escapes every string it writes, so identities and room names with
// quotes, backslashes or control characters stay valid JSON.
std::string to_json(JsonBuilder* builder) {
  JsonNode* root = json_builder_get_root(builder);
  GObjectPtr<JsonGenerator> generator(json_generator_new());
  json_generator_set_root(generator.get(), root);
  gchar* text = json_generator_to_data(generator.get(), nullptr);
  std::string json(text);
  g_free(text);
  json_node_unref(root);
  return json;
}

std::string header_json() {
  GObjectPtr<JsonBuilder> b(json_builder_new());
  json_builder_begin_object(b.get());
  json_builder_set_member_name(b.get(), "alg");
  json_builder_add_string_value(b.get(), "HS256");
  json_builder_set_member_name(b.get(), "typ");
  json_builder_add_string_value(b.get(), "JWT");
  json_builder_end_object(b.get());
  return to_json(b.get());
}

std::string payload_json(const TokenGrant& grant, int64_t now) {
  GObjectPtr<JsonBuilder> b(json_builder_new());
  auto member = [&](const char* name) { json_builder_set_member_name(b.get(), name); };
  json_builder_begin_object(b.get());
  member("iss");
  json_builder_add_string_value(b.get(), grant.api_key.c_str());
  member("sub");
  json_builder_add_string_value(b.get(), grant.identity.c_str());
  member("nbf");
  json_builder_add_int_value(b.get(), now);
  member("exp");
  json_builder_add_int_value(b.get(), now + grant.validity.count());
  if (!grant.name.empty()) {
    member("name");
    json_builder_add_string_value(b.get(), grant.name.c_str());
  }
  member("video");
  json_builder_begin_object(b.get());
  member("roomJoin");
  json_builder_add_boolean_value(b.get(), TRUE);
  member("room");
  json_builder_add_string_value(b.get(), grant.room.c_str());
  member("canPublish");
  json_builder_add_boolean_value(b.get(), grant.can_publish);
  member("canSubscribe");
  json_builder_add_boolean_value(b.get(), grant.can_subscribe);
  member("canPublishData");
  json_builder_add_boolean_value(b.get(), grant.can_publish_data);
  json_builder_end_object(b.get());
  json_builder_end_object(b.get());
  return to_json(b.get());
}

std::string hmac_sha256(std::string_view key, std::string_view message) {
  GHmac* hmac = g_hmac_new(G_CHECKSUM_SHA256, bytes_of(key).data(), key.size());
  g_hmac_update(hmac, bytes_of(message).data(), message.size());
  uint8_t digest[32];
  gsize length = sizeof digest;
  g_hmac_get_digest(hmac, digest, &length);
  g_hmac_unref(hmac);
  return base64url::encode({digest, length}, base64url::Padding::Strip);
}

lk::Error invalid(std::string message) { return lk::make_error(lk::ErrorKind::InvalidArgument, std::move(message)); }

bool valid_utf8(const std::string& text) { return g_utf8_validate(text.data(), text.size(), nullptr); }

}  // namespace

int64_t system_unix_seconds() { return g_get_real_time() / G_USEC_PER_SEC; }

lk::Result<std::string> mint_token(const TokenGrant& grant, const UnixClock& clock) {
  if (grant.api_key.empty()) return invalid("access token: the API key is empty; set it (e.g. devkey for a dev server)");
  if (grant.api_secret.empty()) return invalid("access token: the API secret is empty; set the secret that belongs to the API key");
  if (grant.identity.empty()) return invalid("access token: the participant identity is empty; set one unique within the room");
  if (grant.room.empty()) return invalid("access token: the room name is empty; set the room to join");
  if (grant.validity.count() <= 0) return invalid("access token: the validity must be positive (seconds)");
  // JSON strings must be UTF-8; anything else would be mangled, not escaped.
  for (const std::string* text : {&grant.api_key, &grant.identity, &grant.room, &grant.name})
    if (!valid_utf8(*text)) return invalid("access token: API key, identity, room and name must be UTF-8 text");

  const std::string header = header_json();
  const std::string payload = payload_json(grant, clock());
  std::string signing_input = base64url::encode(bytes_of(header), base64url::Padding::Strip) + '.' +
                              base64url::encode(bytes_of(payload), base64url::Padding::Strip);
  std::string signature = hmac_sha256(grant.api_secret, signing_input);
  return signing_input + '.' + signature;
}

lk::Result<TokenClaims> read_token_claims(std::string_view token) {
  const size_t first_dot = token.find('.');
  const size_t second_dot = first_dot == std::string_view::npos ? first_dot : token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos || token.find('.', second_dot + 1) != std::string_view::npos)
    return invalid("access token is not a JWT (three base64url parts joined by '.'); pass the token as issued");
  auto payload = base64url::decode(token.substr(first_dot + 1, second_dot - first_dot - 1));
  if (!payload) return invalid("access token payload is not base64url; pass the token as issued");

  GObjectPtr<JsonParser> parser(json_parser_new());
  const std::string payload_text(payload->begin(), payload->end());
  if (!json_parser_load_from_data(parser.get(), payload_text.data(), gssize(payload_text.size()), nullptr))
    return invalid("access token payload is not JSON; pass the token as issued");
  JsonNode* root = json_parser_get_root(parser.get());
  if (root == nullptr || !JSON_NODE_HOLDS_OBJECT(root)) return invalid("access token payload is not a JSON object");
  JsonObject* claims = json_node_get_object(root);

  auto value_of = [](JsonObject* object, const char* name, GType type) -> JsonNode* {
    JsonNode* node = json_object_get_member(object, name);
    if (node == nullptr || JSON_NODE_HOLDS_NULL(node)) return nullptr;
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != type) return nullptr;
    return node;
  };
  auto wrong_type = [](const char* claim, const char* type) {
    return invalid(std::string("access token claim '") + claim + "' is not a " + type);
  };

  TokenClaims result;
  if (json_object_has_member(claims, "sub")) {
    JsonNode* sub = value_of(claims, "sub", G_TYPE_STRING);
    if (sub == nullptr) return wrong_type("sub", "string");
    result.identity = json_node_get_string(sub);
  }
  if (json_object_has_member(claims, "exp")) {
    // NumericDate: usually an integer, but JWT allows fractions.
    if (JsonNode* exp = value_of(claims, "exp", G_TYPE_INT64)) result.expires_at = json_node_get_int(exp);
    else if (JsonNode* real = value_of(claims, "exp", G_TYPE_DOUBLE);
             real != nullptr && std::fabs(json_node_get_double(real)) < 1e18)  // converts without overflow
      result.expires_at = int64_t(json_node_get_double(real));
    else return wrong_type("exp", "number of seconds");
  }
  if (json_object_has_member(claims, "video")) {
    JsonNode* video = json_object_get_member(claims, "video");
    if (!JSON_NODE_HOLDS_OBJECT(video)) return wrong_type("video", "JSON object");
    JsonObject* grant = json_node_get_object(video);
    if (json_object_has_member(grant, "room")) {
      JsonNode* room = value_of(grant, "room", G_TYPE_STRING);
      if (room == nullptr) return wrong_type("video.room", "string");
      result.room = json_node_get_string(room);
    }
  }
  return result;
}

}  // namespace lk::signal
