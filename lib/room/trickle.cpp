#include "room/trickle.h"

#include <json-glib/json-glib.h>

#include <memory>

namespace lk::room {

std::string encode_candidate_init(const TrickleCandidate& candidate, int mline_index) {
  std::unique_ptr<JsonBuilder, decltype(&g_object_unref)> b(json_builder_new(), g_object_unref);
  json_builder_begin_object(b.get());
  json_builder_set_member_name(b.get(), "candidate");
  json_builder_add_string_value(b.get(), candidate.candidate.c_str());
  json_builder_set_member_name(b.get(), "sdpMid");
  json_builder_add_string_value(b.get(), candidate.mid.c_str());
  json_builder_set_member_name(b.get(), "sdpMLineIndex");
  json_builder_add_int_value(b.get(), mline_index);
  json_builder_end_object(b.get());
  JsonNode* root = json_builder_get_root(b.get());
  gchar* text = json_to_string(root, FALSE);
  std::string out(text);
  g_free(text);
  json_node_unref(root);
  return out;
}

lk::Result<TrickleCandidate> decode_candidate_init(std::string_view json) {
  std::unique_ptr<JsonParser, decltype(&g_object_unref)> parser(json_parser_new(), g_object_unref);
  if (!json_parser_load_from_data(parser.get(), json.data(), gssize(json.size()), nullptr) ||
      !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser.get()))) {
    return lk::make_error(lk::ErrorKind::Malformed, "trickle candidateInit is not a JSON object");
  }
  JsonObject* object = json_node_get_object(json_parser_get_root(parser.get()));
  auto string_member = [&](const char* name) -> std::string {
    JsonNode* node = json_object_get_member(object, name);
    if (!node || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING) return {};
    return json_node_get_string(node);
  };
  if (!json_object_has_member(object, "candidate")) {
    return lk::make_error(lk::ErrorKind::Malformed, "trickle candidateInit has no candidate");
  }
  return TrickleCandidate{string_member("candidate"), string_member("sdpMid")};
}

}  // namespace lk::room
