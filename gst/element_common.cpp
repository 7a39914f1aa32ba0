#include "element_common.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <vector>
#include <utility>

#include "livekit_room.h"
#include "room/room_registry.h"
#include "signal/join_url.h"
#include "signal/token.h"

GST_DEBUG_CATEGORY_STATIC(lkgst_common_debug);
#define GST_CAT_DEFAULT lkgst_common_debug
// lib/'s GLib log domains, bridged (bridge_library_logs()).
GST_DEBUG_CATEGORY_STATIC(lkgst_room_debug);
GST_DEBUG_CATEGORY_STATIC(lkgst_signal_debug);
GST_DEBUG_CATEGORY_STATIC(lkgst_rtc_debug);

namespace lkgst {
namespace {

using livekit::DataTrackFrameEncoding;
using livekit::DataTrackSchemaEncoding;

GType signalling_get_type() {
  static const GEnumValue values[] = {
      {int(lk::room::Signalling::Auto), "/rtc/v1, else /rtc (as livekit-client)", "auto"},
      {int(lk::room::Signalling::V1), "/rtc/v1 only (one peer connection)", "v1"},
      {int(lk::room::Signalling::V0), "/rtc only (publisher and subscriber peer connections)", "v0"},
      {0, nullptr, nullptr},
  };
  static gsize once = 0;
  return register_enum_once(&once, "GstLiveKitDataSignalling", values);
}

void ensure_debug_category() {
  static gsize once = 0;
  if (g_once_init_enter(&once)) {
    GST_DEBUG_CATEGORY_INIT(lkgst_common_debug, "livekitdata", 0, "LiveKit data elements: shared code");
    g_once_init_leave(&once, 1);
  }
}

std::string env_or(const std::string& value, const char* variable) {
  if (!value.empty()) return value;
  const char* env = g_getenv(variable);
  return env ? env : "";
}

struct FrameEncodingName {
  const char* media_type;  // caps media type
  const char* name;        // frame-encoding property / caps field value
  DataTrackFrameEncoding::WellKnownFrameEncoding value;
};

// The one table both directions read (README "Frame encodings").
constexpr std::array<FrameEncodingName, 7> kFrameEncodings = {{
    {"application/json", "json", DataTrackFrameEncoding::WELL_KNOWN_FRAME_ENCODING_JSON},
    {"application/x-protobuf", "protobuf", DataTrackFrameEncoding::WELL_KNOWN_FRAME_ENCODING_PROTOBUF},
    {"application/cbor", "cbor", DataTrackFrameEncoding::WELL_KNOWN_FRAME_ENCODING_CBOR},
    {"application/x-msgpack", "msgpack", DataTrackFrameEncoding::WELL_KNOWN_FRAME_ENCODING_MSGPACK},
    {"application/x-ros1", "ros1", DataTrackFrameEncoding::WELL_KNOWN_FRAME_ENCODING_ROS1},
    {"application/x-cdr", "cdr", DataTrackFrameEncoding::WELL_KNOWN_FRAME_ENCODING_CDR},
    {"application/x-flatbuffers", "flatbuffer", DataTrackFrameEncoding::WELL_KNOWN_FRAME_ENCODING_FLATBUFFER},
}};

struct SchemaEncodingName {
  const char* name;
  DataTrackSchemaEncoding::WellKnownSchemaEncoding value;
};

constexpr std::array<SchemaEncodingName, 7> kSchemaEncodings = {{
    {"protobuf", DataTrackSchemaEncoding::WELL_KNOWN_SCHEMA_ENCODING_PROTOBUF},
    {"flatbuffer", DataTrackSchemaEncoding::WELL_KNOWN_SCHEMA_ENCODING_FLATBUFFER},
    {"ros1msg", DataTrackSchemaEncoding::WELL_KNOWN_SCHEMA_ENCODING_ROS1_MSG},
    {"ros2msg", DataTrackSchemaEncoding::WELL_KNOWN_SCHEMA_ENCODING_ROS2_MSG},
    {"ros2idl", DataTrackSchemaEncoding::WELL_KNOWN_SCHEMA_ENCODING_ROS2_IDL},
    {"omgidl", DataTrackSchemaEncoding::WELL_KNOWN_SCHEMA_ENCODING_OMG_IDL},
    {"jsonschema", DataTrackSchemaEncoding::WELL_KNOWN_SCHEMA_ENCODING_JSON_SCHEMA},
}};

// A name from the table, or any other text as a custom encoding.
DataTrackFrameEncoding frame_encoding_named(const std::string& name) {
  DataTrackFrameEncoding out;
  for (const auto& e : kFrameEncodings) {
    if (name == e.name) {
      out.set_well_known(e.value);
      return out;
    }
  }
  out.set_custom(name);
  return out;
}

std::string caps_string_field(const GstCaps* caps, const char* field) {
  if (!caps || gst_caps_is_any(caps) || gst_caps_is_empty(caps)) return "";
  const char* value = gst_structure_get_string(gst_caps_get_structure(caps, 0), field);
  return value ? value : "";
}

}  // namespace

// ---- GObject plumbing -----------------------------------------------------------

std::string string_from(const GValue* value) {
  const char* text = g_value_get_string(value);
  return text ? text : "";
}

void set_string(GValue* value, const std::string& text) { g_value_set_string(value, text.empty() ? nullptr : text.c_str()); }

GType register_enum_once(gsize* once, const char* name, const GEnumValue* values) {
  if (g_once_init_enter(once)) g_once_init_leave(once, g_enum_register_static(name, values));
  return GType(*once);
}

void init_uri_handler(gpointer iface, GstURIType (*get_type)(GType), gchar* (*get_uri)(GstURIHandler*),
                      gboolean (*set_uri)(GstURIHandler*, const gchar*, GError**)) {
  auto* handler = static_cast<GstURIHandlerInterface*>(iface);
  handler->get_type = get_type;
  handler->get_protocols = [](GType) { return static_cast<const gchar* const*>(kUriProtocols); };
  handler->get_uri = get_uri;
  handler->set_uri = set_uri;
}

GstCaps* unix_reference_caps() {
  static GstCaps* caps = gst_caps_new_empty_simple("timestamp/x-unix");
  return caps;
}

// ---- end-to-end encryption -----------------------------------------------------------

void install_e2ee_properties(GObjectClass* klass, guint first_id) {
  const guint passphrase_id = first_id + guint(E2eeProperty::Passphrase);
  const guint key_file_id = first_id + guint(E2eeProperty::KeyFile);
  const guint key_index_id = first_id + guint(E2eeProperty::KeyIndex);
  // Mutable while PLAYING: a new key (at a new index) rotates the running ring.
  const auto rw = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);
  g_object_class_install_property(
      klass, passphrase_id,
      g_param_spec_string("e2ee-passphrase", "E2EE passphrase",
                          "End-to-end encrypt the track with the key livekit-client derives from this shared "
                          "passphrase, installed at e2ee-key-index (write-only, never logged)",
                          nullptr,
                          GParamFlags(G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY |
                                      GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property(
      klass, key_file_id,
      g_param_spec_string("e2ee-key-file", "E2EE key file",
                          "End-to-end encrypt the track with a key derived from this file's bytes, all of them, as "
                          "from a passphrase (instead of e2ee-passphrase), installed at e2ee-key-index",
                          nullptr, rw));
  g_object_class_install_property(
      klass, key_index_id,
      g_param_spec_uint("e2ee-key-index", "E2EE key index",
                        "The key ring slot e2ee-passphrase or e2ee-key-file is installed at (the sink seals with "
                        "it); while PLAYING, set it before the new key to rotate without dropping the old one",
                        0, guint(lk::e2ee::kKeyRingSize - 1), 0, rw));
}

namespace {

// The secret a key index was given: the passphrase's UTF-8 bytes or the
// file's. The error says which property to fix.
lk::Result<std::vector<uint8_t>> secret_for(const E2eeSettings::Key& key, size_t index) {
  const std::string at = index == 0 ? "" : " (e2ee-key-index " + std::to_string(index) + ")";
  if (!key.passphrase.empty() && !key.key_file.empty()) {
    return lk::make_error(lk::ErrorKind::InvalidArgument, "set e2ee-passphrase or e2ee-key-file, not both" + at);
  }
  if (key.key_file.empty()) return std::vector<uint8_t>(key.passphrase.begin(), key.passphrase.end());
  gchar* contents = nullptr;
  gsize length = 0;
  GError* error = nullptr;
  if (!g_file_get_contents(key.key_file.c_str(), &contents, &length, &error)) {
    std::string why = "e2ee-key-file" + at + ": " + std::string(error->message);
    g_error_free(error);
    return lk::make_error(lk::ErrorKind::InvalidArgument, why);
  }
  std::vector<uint8_t> secret(contents, contents + length);
  memset(contents, 0, length);  // key material: no copy left behind
  g_free(contents);
  if (secret.empty()) {
    return lk::make_error(lk::ErrorKind::InvalidArgument, "e2ee-key-file '" + key.key_file + "'" + at + " is empty");
  }
  return secret;
}

void wipe(std::vector<uint8_t>& secret) { std::fill(secret.begin(), secret.end(), uint8_t(0)); }

// A new passphrase or key file while the element runs: derived and installed
// at e2ee-key-index in the running ring, which keeps its other slots. On bad
// input a bus warning, and the keys in use stay.
void install_running_key(GstElement* element, E2eeSettings& settings, lk::e2ee::KeyRing& ring, E2eeProperty which,
                         const std::string& text) {
  const char* name = which == E2eeProperty::Passphrase ? "e2ee-passphrase" : "e2ee-key-file";
  if (text.empty()) {
    GST_ELEMENT_WARNING(element, RESOURCE, SETTINGS,
                        ("an empty %s while running: E2EE stays on, the keys in use are kept", name), (nullptr));
    return;
  }
  GST_OBJECT_LOCK(element);
  const guint index = settings.key_index;
  GST_OBJECT_UNLOCK(element);
  // While running, the one set last replaces the other (no "not both").
  E2eeSettings::Key key;
  (which == E2eeProperty::Passphrase ? key.passphrase : key.key_file) = text;
  auto secret = secret_for(key, index);
  auto installed = secret ? ring.set_key(*secret, uint8_t(index)) : lk::Result<void>(secret.error());
  if (secret) wipe(*secret);
  if (!installed) {
    GST_ELEMENT_WARNING(element, RESOURCE, SETTINGS, ("%s: the keys in use are kept", installed.error().message.c_str()),
                        (nullptr));
    return;
  }
  GST_OBJECT_LOCK(element);
  const bool file_dropped = which == E2eeProperty::Passphrase && !settings.keys[index].key_file.empty();
  settings.keys[index] = key;
  GST_OBJECT_UNLOCK(element);
  if (file_dropped) g_object_notify(G_OBJECT(element), "e2ee-key-file");
  GST_INFO_OBJECT(element, "new E2EE key from %s installed at index %u", name, index);
}

}  // namespace

bool E2eeSettings::enabled() const {
  return std::any_of(keys.begin(), keys.end(), [](const Key& k) { return !k.passphrase.empty() || !k.key_file.empty(); });
}

void set_e2ee_property(GstElement* element, E2eeSettings& settings, const std::shared_ptr<lk::e2ee::KeyRing>& key_ring,
                       E2eeProperty which, const GValue* value, const GParamSpec* pspec) {
  GST_OBJECT_LOCK(element);
  const std::shared_ptr<lk::e2ee::KeyRing> ring = key_ring;
  GST_OBJECT_UNLOCK(element);
  if (!ring && !can_change(element, pspec)) return;  // E2EE is switched on or off only when stopped
  if (which == E2eeProperty::KeyIndex) {
    const guint index = g_value_get_uint(value);
    GST_OBJECT_LOCK(element);
    settings.key_index = index;
    GST_OBJECT_UNLOCK(element);
    // A slot with a key: sealed with from the next frame. An empty one: the
    // next passphrase or key file goes there, the current key stays until then.
    if (ring && ring->use_key(uint8_t(index))) GST_INFO_OBJECT(element, "E2EE key index %u in use", index);
    return;
  }
  if (ring) return install_running_key(element, settings, *ring, which, string_from(value));
  GST_OBJECT_LOCK(element);
  auto& key = settings.keys[settings.key_index];
  (which == E2eeProperty::Passphrase ? key.passphrase : key.key_file) = string_from(value);
  GST_OBJECT_UNLOCK(element);
}

void get_e2ee_property(GstElement* element, const E2eeSettings& settings, E2eeProperty which, GValue* value) {
  GST_OBJECT_LOCK(element);
  if (which == E2eeProperty::KeyIndex) g_value_set_uint(value, settings.key_index);
  if (which == E2eeProperty::KeyFile) set_string(value, settings.keys[settings.key_index].key_file);
  GST_OBJECT_UNLOCK(element);  // the passphrase: write-only
}

lk::Result<std::shared_ptr<lk::e2ee::KeyRing>> key_ring_for(const E2eeSettings& settings) {
  if (!settings.enabled()) return std::shared_ptr<lk::e2ee::KeyRing>();
  const auto& sealing = settings.keys[settings.key_index];
  if (sealing.passphrase.empty() && sealing.key_file.empty()) {  // before spending PBKDF2 on the others
    return lk::make_error(lk::ErrorKind::InvalidArgument,
                          "no E2EE key at e2ee-key-index " + std::to_string(settings.key_index) +
                              ": a key goes to the index set before it (set e2ee-key-index, then e2ee-passphrase "
                              "or e2ee-key-file)");
  }
  auto ring = std::make_shared<lk::e2ee::KeyRing>(settings.ratchet_window);
  for (size_t index = 0; index < settings.keys.size(); ++index) {
    const auto& key = settings.keys[index];
    if (key.passphrase.empty() && key.key_file.empty()) continue;
    auto secret = secret_for(key, index);
    if (!secret) return secret.error();
    auto set = ring->set_key(*secret, uint8_t(index));
    wipe(*secret);
    if (!set) return set.error();
  }
  auto sealing_with = ring->use_key(uint8_t(settings.key_index));
  if (!sealing_with) return sealing_with.error();
  return ring;
}

// ---- connection properties ---------------------------------------------------

void install_connection_properties(GObjectClass* klass) {
  ensure_debug_category();
  const auto rw = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  // Secrets: write-only, and no notify (gst-launch-1.0 -v prints notified values).
  const auto secret =
      GParamFlags(G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY | GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(
      klass, PROP_URL,
      g_param_spec_string("url", "URL",
                          "LiveKit server URL (wss://, ws://, https:// or http://); unset: $LIVEKIT_URL", nullptr, rw));
  g_object_class_install_property(
      klass, PROP_TOKEN,
      g_param_spec_string("token", "Token",
                          "Join token (JWT); when set, api-key, api-secret, room and identity are not used "
                          "(write-only, never logged)",
                          nullptr, secret));
  g_object_class_install_property(
      klass, PROP_API_KEY,
      g_param_spec_string("api-key", "API key", "API key to mint a join token with; unset: $LIVEKIT_API_KEY", nullptr,
                          rw));
  g_object_class_install_property(
      klass, PROP_API_SECRET,
      g_param_spec_string("api-secret", "API secret",
                          "API secret to mint a join token with; unset: $LIVEKIT_API_SECRET (write-only, never logged)",
                          nullptr, secret));
  g_object_class_install_property(
      klass, PROP_ROOM,
      g_param_spec_string("room", "Room", "Room to join (for a minted token)", nullptr, rw));
  g_object_class_install_property(
      klass, PROP_IDENTITY,
      g_param_spec_string("identity", "Identity",
                          "Participant identity (for a minted token); elements of one process with the same url, "
                          "room and identity share one connection",
                          nullptr, rw));
  g_object_class_install_property(
      klass, PROP_PARTICIPANT_NAME,
      g_param_spec_string("participant-name", "Participant name", "Display name (for a minted token)", nullptr, rw));
  g_object_class_install_property(
      klass, PROP_CONNECT_TIMEOUT,
      g_param_spec_uint("connect-timeout", "Connect timeout",
                        "Milliseconds for the whole join (signalling, ICE, DTLS, SCTP)", 1, G_MAXINT, 15000, rw));
  g_object_class_install_property(
      klass, PROP_SIGNALLING,
      g_param_spec_enum("signalling", "Signalling", "Signalling protocol", signalling_get_type(),
                        int(lk::room::Signalling::Auto), rw));
  g_object_class_install_property(
      klass, PROP_CA_FILE,
      g_param_spec_string("ca-file", "CA file",
                          "PEM file of trust anchors for wss:// instead of the system's", nullptr, rw));
  g_object_class_install_property(
      klass, PROP_PARTICIPANT_SID,
      g_param_spec_string("participant-sid", "Participant SID",
                          "The participant this element joined as (PA_...; empty until connected; a new one after "
                          "each reconnect)",
                          nullptr, GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
  g_object_class_install_property(
      klass, PROP_RECONNECT_TIMEOUT,
      g_param_spec_uint("reconnect-timeout", "Reconnect timeout",
                        "After a fault (lost signalling or transport, a server restart), milliseconds to keep "
                        "reconnecting before the element errors out; 0: never reconnect",
                        0, G_MAXINT, 60000, rw));
  gst_type_mark_as_plugin_api(signalling_get_type(), GstPluginAPIFlags(0));
}

bool can_change(GstElement* element, const GParamSpec* pspec) {
  GST_OBJECT_LOCK(element);
  const bool ok = GST_STATE(element) <= GST_STATE_READY && GST_STATE_NEXT(element) <= GST_STATE_READY;
  GST_OBJECT_UNLOCK(element);
  if (!ok) {
    GST_WARNING_OBJECT(element, "'%s' can change only in the NULL or READY state: new value ignored",
                       g_param_spec_get_name(const_cast<GParamSpec*>(pspec)));
  }
  return ok;
}

bool set_connection_property(GstElement* element, ConnectionSettings& s, guint prop_id, const GValue* value,
                             const GParamSpec* pspec) {
  if (prop_id == 0 || prop_id >= kConnectionPropertyEnd || prop_id == PROP_PARTICIPANT_SID) return false;
  if (!can_change(element, pspec)) return true;
  auto text = [value] { return string_from(value); };
  GST_OBJECT_LOCK(element);
  switch (prop_id) {
    case PROP_URL: s.url = text(); break;
    case PROP_TOKEN: s.token = text(); break;
    case PROP_API_KEY: s.api_key = text(); break;
    case PROP_API_SECRET: s.api_secret = text(); break;
    case PROP_ROOM: s.room = text(); break;
    case PROP_IDENTITY: s.identity = text(); break;
    case PROP_PARTICIPANT_NAME: s.participant_name = text(); break;
    case PROP_CONNECT_TIMEOUT: s.connect_timeout_ms = g_value_get_uint(value); break;
    case PROP_RECONNECT_TIMEOUT: s.reconnect_timeout_ms = g_value_get_uint(value); break;
    case PROP_SIGNALLING: s.signalling = lk::room::Signalling(g_value_get_enum(value)); break;
    case PROP_CA_FILE: s.ca_file = text(); break;
  }
  GST_OBJECT_UNLOCK(element);
  return true;
}

bool get_connection_property(GstElement* element, const ConnectionSettings& s, guint prop_id, GValue* value) {
  if (prop_id == 0 || prop_id >= kConnectionPropertyEnd) return false;
  auto text = [value](const std::string& v) { set_string(value, v); };
  GST_OBJECT_LOCK(element);
  switch (prop_id) {
    case PROP_URL: text(s.url); break;
    case PROP_API_KEY: text(s.api_key); break;
    case PROP_ROOM: text(s.room); break;
    case PROP_IDENTITY: text(s.identity); break;
    case PROP_PARTICIPANT_NAME: text(s.participant_name); break;
    case PROP_CONNECT_TIMEOUT: g_value_set_uint(value, s.connect_timeout_ms); break;
    case PROP_RECONNECT_TIMEOUT: g_value_set_uint(value, s.reconnect_timeout_ms); break;
    case PROP_SIGNALLING: g_value_set_enum(value, int(s.signalling)); break;
    case PROP_CA_FILE: text(s.ca_file); break;
    case PROP_PARTICIPANT_SID: text(s.participant_sid); break;
    default: break;  // token, api-secret: write-only
  }
  GST_OBJECT_UNLOCK(element);
  return true;
}

lk::Result<lk::room::ConnectOptions> connect_options(const ConnectionSettings& s) {
  lk::room::ConnectOptions o;
  o.url = env_or(s.url, "LIVEKIT_URL");
  o.token = s.token;
  o.api_key = env_or(s.api_key, "LIVEKIT_API_KEY");
  o.api_secret = env_or(s.api_secret, "LIVEKIT_API_SECRET");
  o.room = s.room;
  o.identity = s.identity;
  o.participant_name = s.participant_name;
  o.ca_file = s.ca_file;
  o.signalling = s.signalling;
  o.connect_timeout_ms = s.connect_timeout_ms;
  o.reconnect_timeout_ms = s.reconnect_timeout_ms;
  auto missing = [](const std::string& what) { return lk::make_error(lk::ErrorKind::InvalidArgument, what); };
  if (o.url.empty()) return missing("no server URL: set the 'url' property or LIVEKIT_URL");
  if (o.token.empty()) {
    if (o.api_key.empty() || o.api_secret.empty()) {
      return missing("no credentials: set 'token', or 'api-key' and 'api-secret' (or LIVEKIT_API_KEY and "
                     "LIVEKIT_API_SECRET)");
    }
    if (o.room.empty()) return missing("no room: set the 'room' property (or a 'token' that names one)");
    if (o.identity.empty()) return missing("no identity: set the 'identity' property (or a 'token' that names one)");
  }
  return o;
}

void post_error(GstElement* element, GQuark domain, gint code, const std::string& text, const std::string& debug,
                const char* file, const char* function, int line) {
  gst_element_message_full(element, GST_MESSAGE_ERROR, domain, code, g_strdup(text.c_str()),
                           debug.empty() ? nullptr : g_strdup(debug.c_str()), file, function, line);
}

// The room's reconnect events as bus messages (on the room thread).
static void post_room_event(GstElement* element, ConnectionSettings& settings, lk::room::RoomConnection& room,
                            GstResourceError end_error, const lk::room::RoomEvent& event) {
  using Kind = lk::room::RoomEvent::Kind;
  const char* text = event.message.c_str();
  switch (event.kind) {
    case Kind::Resuming:
    case Kind::Reconnecting:
    case Kind::TrackLost:
      GST_ELEMENT_WARNING(element, RESOURCE, FAILED, ("%s", text), (nullptr));
      break;
    case Kind::Reconnected:
      GST_OBJECT_LOCK(element);
      settings.participant_sid = room.participant_sid();
      GST_OBJECT_UNLOCK(element);
      g_object_notify(G_OBJECT(element), "participant-sid");
      GST_ELEMENT_INFO(element, RESOURCE, FAILED, ("%s", text), (nullptr));
      break;
    case Kind::TrackRepublished:
      GST_INFO_OBJECT(element, "%s", text);
      break;
    case Kind::GaveUp:  // also when no buffer is flowing to meet the ended track
      LKGST_ERROR(element, GST_RESOURCE_ERROR, end_error, event.message, "");
      break;
  }
}

namespace {

// Joins (or shares, by key) the connection the element's settings name. On
// failure posts the element error and returns nullptr.
std::shared_ptr<lk::room::RoomConnection> join_by_settings(GstElement* element, const ConnectionSettings& settings,
                                                           GstResourceError open_error, std::string& url) {
  auto options = connect_options(settings);
  if (!options) {
    LKGST_ERROR(element, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS, options.error().message, "");
    return nullptr;
  }
  // The query part of a URL may hold a token: never logged.
  url = options->url.substr(0, options->url.find('?'));
  const std::string where = "url " + url + (options->token.empty()
                                                ? ", room " + options->room + ", identity " + options->identity
                                                : ", with a token");
  GST_INFO_OBJECT(element, "joining: %s", where.c_str());
  auto room = lk::room::acquire_room(*options);
  if (!room) {
    LKGST_ERROR(element, GST_RESOURCE_ERROR, resource_error_code(room.error(), open_error), room.error().message,
                where);
    return nullptr;
  }
  GST_INFO_OBJECT(element, "joined as %s (%s)", (*room)->participant_sid().c_str(),
                  lk::room::to_string((*room)->signalling()));
  return *room;
}

// The element's hold on a connection: records participant-sid and forwards
// its reconnect events to the bus; releasing it stops the bus messages first.
std::shared_ptr<lk::room::RoomConnection> hold_room(GstElement* element, ConnectionSettings& settings,
                                                    GstResourceError open_error,
                                                    std::shared_ptr<lk::room::RoomConnection> shared) {
  GST_OBJECT_LOCK(element);
  settings.participant_sid = shared->participant_sid();
  GST_OBJECT_UNLOCK(element);
  g_object_notify(G_OBJECT(element), "participant-sid");
  // The data path's error when the connection ends: READ for the src, WRITE for the sink.
  const GstResourceError end_error =
      open_error == GST_RESOURCE_ERROR_OPEN_READ ? GST_RESOURCE_ERROR_READ : GST_RESOURCE_ERROR_WRITE;
  const uint64_t listener = shared->add_listener([element, &settings, end_error, raw = shared.get()](const auto& event) {
    post_room_event(element, settings, *raw, end_error, event);
  });
  return std::shared_ptr<lk::room::RoomConnection>(shared.get(), [shared, listener](lk::room::RoomConnection*) mutable {
    shared->remove_listener(listener);
    shared.reset();
  });
}

// The "livekit.room" context given to the element, the usual way: one set on
// it, else a peer's answer to a context query, else the answer to its
// need-context message (an application's sync bus handler, or a bin that kept
// another element's have-context). nullptr when none came.
GstContext* find_room_context(GstElement* element) {
  if (GstContext* set = gst_element_get_context(element, kRoomContextType)) return set;
  GstQuery* query = gst_query_new_context(kRoomContextType);
  auto ask_peer = [](GstElement*, GstPad* pad, gpointer q) -> gboolean { return !gst_pad_peer_query(pad, GST_QUERY(q)); };
  if (!gst_element_foreach_pad(element, ask_peer, query)) {  // stopped: a peer answered
    GstContext* answer = nullptr;
    gst_query_parse_context(query, &answer);
    if (answer) gst_element_set_context(element, answer);
  }
  gst_query_unref(query);
  if (GstContext* answered = gst_element_get_context(element, kRoomContextType)) return answered;
  gst_element_post_message(element, gst_message_new_need_context(GST_OBJECT(element), kRoomContextType));
  return gst_element_get_context(element, kRoomContextType);
}

// What in the element's own url, room, identity and token (those set) names
// another connection than `given`; "" when they agree.
std::string difference(const ConnectionSettings& s, const ContextRoom& given) {
  std::string room = s.room, identity = s.identity, out;
  auto add = [&out](const std::string& what) { out += (out.empty() ? "" : ", ") + what; };
  if (!s.token.empty()) {
    auto claims = lk::signal::read_token_claims(s.token);
    if (!claims) return "its token cannot be read";
    room = claims->room;
    identity = claims->identity;
  }
  if (!s.url.empty()) {
    auto mine = lk::signal::parse_server_url(s.url), theirs = lk::signal::parse_server_url(given.url);
    if (!mine || !theirs || mine->websocket_base() != theirs->websocket_base()) {
      add("url " + s.url.substr(0, s.url.find('?')));
    }
  }
  if (!room.empty() && room != given.room) add("room '" + room + "'");
  if (!identity.empty() && identity != given.identity) add("identity '" + identity + "'");
  return out;
}

}  // namespace

std::shared_ptr<lk::room::RoomConnection> join_room(GstElement* element, ConnectionSettings& settings,
                                                    GstResourceError open_error) {
  GST_OBJECT_LOCK(element);
  const ConnectionSettings copy = settings;
  GST_OBJECT_UNLOCK(element);
  GstContext* context = find_room_context(element);
  const ContextRoom given = room_from_context(context);
  if (context) gst_context_unref(context);
  if (given.connection) {
    const std::string named = "room '" + given.room + "' as '" + given.identity + "' at " + given.url;
    const std::string differs = difference(copy, given);
    if (differs.empty()) {
      if (auto status = given.connection->status(); !status) {
        LKGST_ERROR(element, GST_RESOURCE_ERROR, open_error,
                    "the connection in the livekit.room context (" + named + ") has ended: " + status.error().message,
                    "");
        return nullptr;
      }
      GST_INFO_OBJECT(element, "using the connection of the livekit.room context: %s", named.c_str());
      return hold_room(element, settings, open_error, given.connection);
    }
    GST_ELEMENT_INFO(element, RESOURCE, SETTINGS,
                     ("the livekit.room context (%s) is not used: this element's %s; joining by its own properties",
                      named.c_str(), differs.c_str()),
                     (nullptr));
  }
  std::string url;
  auto joined = join_by_settings(element, copy, open_error, url);
  if (!joined) return nullptr;
  // Kept on the element to answer peers' context queries; the message hands it to the application.
  GstContext* own = room_context_new(joined, url);
  gst_element_set_context(element, own);
  gst_element_post_message(element, gst_message_new_have_context(GST_OBJECT(element), own));
  return hold_room(element, settings, open_error, joined);
}

bool answer_room_context_query(GstElement* element, GstQuery* query) {
  const char* type = nullptr;
  if (GST_QUERY_TYPE(query) != GST_QUERY_CONTEXT || !gst_query_parse_context_type(query, &type) ||
      g_strcmp0(type, kRoomContextType) != 0) {
    return false;
  }
  GstContext* context = gst_element_get_context(element, kRoomContextType);
  if (!context) return false;
  gst_query_set_context(query, context);
  gst_context_unref(context);
  return true;
}

bool open_room(GstElement* element, ConnectionSettings& settings, const E2eeSettings& e2ee,
               GstResourceError open_error, std::shared_ptr<lk::room::RoomConnection>& room,
               std::shared_ptr<lk::e2ee::KeyRing>& key_ring) {
  GST_OBJECT_LOCK(element);
  const E2eeSettings copy = e2ee;
  GST_OBJECT_UNLOCK(element);
  auto ring = key_ring_for(copy);
  if (!ring) {
    LKGST_ERROR(element, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS, ring.error().message, "");
    return false;
  }
  room = join_room(element, settings, open_error);
  if (!room) return false;  // no ring either: a failed start is not running
  GST_OBJECT_LOCK(element);
  key_ring = *ring;
  GST_OBJECT_UNLOCK(element);
  return true;
}

void close_room(GstElement* element, ConnectionSettings& settings, std::shared_ptr<lk::room::RoomConnection>& room,
                std::shared_ptr<lk::e2ee::KeyRing>& key_ring) {
  room.reset();
  GST_OBJECT_LOCK(element);
  settings.participant_sid.clear();
  key_ring.reset();
  GST_OBJECT_UNLOCK(element);
}

gint resource_error_code(const lk::Error& error, gint otherwise) {
  if (error.kind == lk::ErrorKind::NotAuthorized) return GST_RESOURCE_ERROR_NOT_AUTHORIZED;
  if (error.kind == lk::ErrorKind::InvalidArgument) return GST_RESOURCE_ERROR_SETTINGS;
  return otherwise;
}

void post_data_path_error(GstElement* element, lk::room::RoomConnection& room, GstResourceError code,
                          const lk::Error& error) {
  auto status = room.status();
  LKGST_ERROR(element, GST_RESOURCE_ERROR, code, status ? error.message : status.error().message, error.message);
}

// ---- URIs ------------------------------------------------------------------------

std::variant<LiveKitUri, UriError> parse_uri(const char* uri, GstURIType type) {
  const bool src = type == GST_URI_SRC;
  auto bad = [](const std::string& what) { return UriError{GST_URI_ERROR_BAD_URI, what}; };
  const std::string form = std::string("livekit[s]://HOST[:PORT]/ROOM/TRACK") +
                           (src ? "?participant=PUBLISHER[&identity=YOU]" : "[?identity=YOU]");
  GError* error = nullptr;
  GUri* parsed = g_uri_parse(uri ? uri : "", G_URI_FLAGS_ENCODED, &error);
  if (!parsed) {
    auto out = bad(std::string("not a URI (") + error->message + "): expected " + form);
    g_error_free(error);
    return out;
  }
  std::unique_ptr<GUri, decltype(&g_uri_unref)> guard(parsed, g_uri_unref);
  LiveKitUri out;
  const std::string scheme = g_uri_get_scheme(parsed);
  if (scheme != "livekit" && scheme != "livekits") {
    return UriError{GST_URI_ERROR_UNSUPPORTED_PROTOCOL, "'" + scheme + ":' is not livekit: (ws://) nor livekits: (wss://)"};
  }
  const char* host = g_uri_get_host(parsed);
  if (!host || !*host) return bad("no server host: expected " + form);
  if (g_uri_get_userinfo(parsed)) return bad("user info in a URI is not used: give the credentials as properties");
  if (g_uri_get_fragment(parsed)) return bad("a URI fragment (#...) is not used: expected " + form);
  const std::string h = host;
  out.url = std::string(scheme == "livekits" ? "wss://" : "ws://") + (h.find(':') != std::string::npos ? "[" + h + "]" : h);
  if (g_uri_get_port(parsed) > 0) out.url += ":" + std::to_string(g_uri_get_port(parsed));

  // The path: exactly /ROOM/TRACK, each segment percent-decoded.
  gchar** segments = g_strsplit(g_uri_get_path(parsed), "/", -1);
  const guint n = g_strv_length(segments);
  std::vector<std::string> parts;
  bool decoded = true;
  for (guint i = 1; i < n; ++i) {
    gchar* part = g_uri_unescape_string(segments[i], nullptr);
    decoded = decoded && part;
    parts.push_back(part ? part : "");
    g_free(part);
  }
  const bool rooted = n > 0 && segments[0][0] == '\0';
  g_strfreev(segments);
  if (!decoded) return bad("a room or track name with bad percent-encoding: expected " + form);
  if (!rooted || parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
    return bad("the path must be /ROOM/TRACK (a '/' in a name is written %2F): expected " + form);
  }
  out.room = parts[0];
  out.track = parts[1];

  if (const char* query = g_uri_get_query(parsed)) {
    GHashTable* params = g_uri_parse_params(query, -1, "&", G_URI_PARAMS_NONE, &error);
    if (!params) {
      auto e = bad(std::string("a bad query (") + error->message + "): expected " + form);
      g_error_free(error);
      return e;
    }
    GHashTableIter it;
    gpointer key, value;
    std::optional<UriError> unknown;
    g_hash_table_iter_init(&it, params);
    while (g_hash_table_iter_next(&it, &key, &value)) {
      const std::string k = static_cast<const char*>(key), v = static_cast<const char*>(value);
      if (k == "identity") {
        out.identity = v;
      } else if (k == "participant" && src) {
        out.participant = v;
      } else if (k == "participant") {
        unknown = bad("'participant' is the publisher a livekitdatasrc reads: a livekitdatasink publishes as "
                      "?identity=");
      } else if (!unknown) {
        unknown = bad("unknown query key '" + k + "': a URI takes " + (src ? "participant and identity" : "identity") +
                      "; set other properties on the element (or LIVEKIT_API_KEY, LIVEKIT_API_SECRET)");
      }
    }
    g_hash_table_unref(params);
    if (unknown) return *unknown;
  }
  if (src && out.participant.empty()) return bad("no ?participant=PUBLISHER (the identity to read from): expected " + form);
  return out;
}

std::string make_uri(const std::string& url, const std::string& room, const std::string& track,
                     const std::string& participant, const std::string& identity) {
  if (url.empty()) return "";
  GUri* parsed = g_uri_parse(url.c_str(), G_URI_FLAGS_ENCODED, nullptr);
  if (!parsed) return "";
  std::unique_ptr<GUri, decltype(&g_uri_unref)> guard(parsed, g_uri_unref);
  const std::string scheme = g_uri_get_scheme(parsed), path = g_uri_get_path(parsed);
  const char* host = g_uri_get_host(parsed);
  const bool secure = scheme == "wss" || scheme == "https";
  if ((!secure && scheme != "ws" && scheme != "http") || !host || (!path.empty() && path != "/")) return "";
  auto escape = [](const std::string& text) {
    gchar* e = g_uri_escape_string(text.c_str(), nullptr, FALSE);
    std::string out = e;
    g_free(e);
    return out;
  };
  const std::string h = host;
  std::string out = std::string(secure ? "livekits://" : "livekit://") +
                    (h.find(':') != std::string::npos ? "[" + h + "]" : h);
  if (g_uri_get_port(parsed) > 0) out += ":" + std::to_string(g_uri_get_port(parsed));
  out += "/" + escape(room) + "/" + escape(track);
  std::string query;
  if (!participant.empty()) query += "&participant=" + escape(participant);
  if (!identity.empty()) query += "&identity=" + escape(identity);
  if (!query.empty()) out += "?" + query.substr(1);
  return out;
}

gboolean set_uri(GstElement* element, ConnectionSettings& settings, std::string& track, std::string* participant,
                 const gchar* uri, GError** error) {
  GST_OBJECT_LOCK(element);
  const bool stopped = GST_STATE(element) <= GST_STATE_READY && GST_STATE_NEXT(element) <= GST_STATE_READY;
  GST_OBJECT_UNLOCK(element);
  if (!stopped) {
    g_set_error(error, GST_URI_ERROR, GST_URI_ERROR_BAD_STATE,
                "the URI of %s can change only in the NULL or READY state", GST_ELEMENT_NAME(element));
    return FALSE;
  }
  auto parsed = parse_uri(uri, participant ? GST_URI_SRC : GST_URI_SINK);
  // Without the query: someone may have put a token there.
  const std::string shown = std::string(uri ? uri : "").substr(0, std::string(uri ? uri : "").find('?'));
  if (auto* e = std::get_if<UriError>(&parsed)) {
    GST_WARNING_OBJECT(element, "%s: %s", shown.c_str(), e->message.c_str());
    g_set_error(error, GST_URI_ERROR, e->code, "%s: %s", shown.c_str(), e->message.c_str());
    return FALSE;
  }
  auto& u = std::get<LiveKitUri>(parsed);
  GST_OBJECT_LOCK(element);
  settings.url = u.url;
  settings.room = u.room;
  if (!u.identity.empty()) settings.identity = u.identity;
  track = u.track;
  if (participant) *participant = u.participant;
  GST_OBJECT_UNLOCK(element);
  for (const char* name : {"url", "room", "identity", "track-name", participant ? "participant" : nullptr}) {
    if (name) g_object_notify(G_OBJECT(element), name);
  }
  GST_INFO_OBJECT(element, "URI %s: url %s, room '%s', track '%s'", shown.c_str(), u.url.c_str(), u.room.c_str(),
                  u.track.c_str());
  return TRUE;
}

// ---- caps <-> frame encoding ---------------------------------------------------

std::optional<DataTrackFrameEncoding> encoding_for_caps(const GstCaps* caps, const std::string& custom) {
  if (!custom.empty()) return frame_encoding_named(custom);
  if (caps && !gst_caps_is_any(caps) && !gst_caps_is_empty(caps)) {
    const char* media_type = gst_structure_get_name(gst_caps_get_structure(caps, 0));
    for (const auto& e : kFrameEncodings) {
      if (g_strcmp0(media_type, e.media_type) == 0) {
        DataTrackFrameEncoding out;
        out.set_well_known(e.value);
        return out;
      }
    }
  }
  const std::string field = caps_string_field(caps, "frame-encoding");
  if (!field.empty()) return frame_encoding_named(field);
  return std::nullopt;
}

std::optional<livekit::DataTrackSchemaId> schema_for_caps(const GstCaps* caps, const std::string& name,
                                                          const std::string& encoding) {
  livekit::DataTrackSchemaId out;
  out.set_name(name.empty() ? caps_string_field(caps, "schema") : name);
  if (out.name().empty()) return std::nullopt;
  const std::string enc = encoding.empty() ? caps_string_field(caps, "schema-encoding") : encoding;
  if (!enc.empty()) {
    auto* e = out.mutable_encoding();
    e->set_custom(enc);
    for (const auto& known : kSchemaEncodings) {
      if (enc == known.name) e->set_well_known(known.value);
    }
  }
  return out;
}

GstCaps* caps_for_track(const livekit::DataTrackInfo& info) {
  const char* media_type = "application/octet-stream";
  std::string custom;
  if (info.has_frame_encoding()) {
    const auto& fe = info.frame_encoding();
    if (fe.value_case() == DataTrackFrameEncoding::kCustom) custom = fe.custom();
    if (fe.value_case() == DataTrackFrameEncoding::kWellKnown) {
      for (const auto& e : kFrameEncodings) {
        if (e.value == fe.well_known()) media_type = e.media_type;
      }
    }
  }
  GstCaps* caps = gst_caps_new_empty_simple(media_type);
  if (!custom.empty()) gst_caps_set_simple(caps, "frame-encoding", G_TYPE_STRING, custom.c_str(), nullptr);
  if (info.has_schema() && !info.schema().name().empty()) {
    gst_caps_set_simple(caps, "schema", G_TYPE_STRING, info.schema().name().c_str(), nullptr);
    const auto& se = info.schema().encoding();
    std::string enc = se.value_case() == DataTrackSchemaEncoding::kCustom ? se.custom() : "";
    for (const auto& known : kSchemaEncodings) {
      if (se.value_case() == DataTrackSchemaEncoding::kWellKnown && se.well_known() == known.value) enc = known.name;
    }
    if (!enc.empty()) gst_caps_set_simple(caps, "schema-encoding", G_TYPE_STRING, enc.c_str(), nullptr);
  }
  return caps;
}

// ---- logs ------------------------------------------------------------------------

namespace {

void forward_log(const gchar* domain, GLogLevelFlags level, const gchar* message, gpointer category) {
  GstDebugLevel gst_level = GST_LEVEL_DEBUG;
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) {
    gst_level = GST_LEVEL_ERROR;
    g_log_default_handler(domain, level, message, nullptr);  // a bug: keep it visible
  } else if (level & G_LOG_LEVEL_WARNING) {
    gst_level = GST_LEVEL_WARNING;
  } else if (level & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO)) {
    gst_level = GST_LEVEL_INFO;
  }
  auto* cat = static_cast<GstDebugCategory*>(category);
  if (gst_level > gst_debug_category_get_threshold(cat)) return;
  gst_debug_log(cat, gst_level, domain, "", 0, nullptr, "%s", message);
}

}  // namespace

void bridge_library_logs() {
  static gsize once = 0;
  if (!g_once_init_enter(&once)) return;
  ensure_debug_category();
  GST_DEBUG_CATEGORY_INIT(lkgst_room_debug, "livekit-room", 0, "LiveKit room connection (lib/room)");
  GST_DEBUG_CATEGORY_INIT(lkgst_signal_debug, "livekit-signal", 0, "LiveKit signalling (lib/signal)");
  GST_DEBUG_CATEGORY_INIT(lkgst_rtc_debug, "livekit-rtc", 0, "WebRTC data channels: ICE, DTLS, SCTP (lib/rtc)");
  GstDebugCategory* room_cat = lkgst_room_debug;
  GstDebugCategory* signal_cat = lkgst_signal_debug;
  GstDebugCategory* rtc_cat = lkgst_rtc_debug;
  const std::pair<const char*, GstDebugCategory*> domains[] = {
      {"livekit", room_cat},          {"livekit-room", room_cat},     {"livekit-signal", signal_cat},
      {"livekit-rtc-sdp", rtc_cat},   {"livekit-rtc-ice", rtc_cat},   {"livekit-rtc-dtls", rtc_cat},
      {"livekit-rtc-sctp", rtc_cat},  {"livekit-rtc-dc", rtc_cat},    {"livekit-rtc-pc", rtc_cat},
  };
  for (const auto& [domain, cat] : domains) {
    g_log_set_handler(domain, GLogLevelFlags(G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION), forward_log,
                      cat);
  }
  g_once_init_leave(&once, 1);
}

}  // namespace lkgst
