// What livekitdatasink and livekitdatasrc share: the connection properties
// (one install/set/get set for both), joining the shared room connection with
// its failures turned into element errors, the caps <-> frame-encoding table,
// and the bridge from lib/'s GLib log domains to GStreamer debug categories.
//
// Threads: the property helpers run under the element's object lock (they
// take it); join_room() blocks up to connect-timeout and is called from the
// state change; the table functions are pure.
#pragma once

#include <gst/gst.h>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "livekit_models.pb.h"
#include "livekit_room.h"
#include "e2ee/key_ring.h"
#include "room/room_connection.h"

namespace lkgst {

// ---- connection properties ---------------------------------------------------

// Property ids 1..kConnectionPropertyEnd-1 belong to these helpers; an
// element numbers its own from kConnectionPropertyEnd.
enum ConnectionProperty : guint {
  PROP_URL = 1,
  PROP_TOKEN,
  PROP_API_KEY,
  PROP_API_SECRET,
  PROP_ROOM,
  PROP_IDENTITY,
  PROP_PARTICIPANT_NAME,
  PROP_CONNECT_TIMEOUT,
  PROP_SIGNALLING,
  PROP_CA_FILE,
  PROP_PARTICIPANT_SID,  // read-only: who the element joined as
  PROP_RECONNECT_TIMEOUT,
  kConnectionPropertyEnd,
};

struct ConnectionSettings {
  std::string url, token, api_key, api_secret, room, identity, participant_name, ca_file;
  guint connect_timeout_ms = 15000;
  guint reconnect_timeout_ms = 60000;
  lk::room::Signalling signalling = lk::room::Signalling::Auto;
  std::string participant_sid;  // set once joined
};

void install_connection_properties(GObjectClass* klass);
// False when prop_id is not a connection property. A property that shapes the
// connection changes only in READY or below: later it warns and keeps the old value.
bool set_connection_property(GstElement* element, ConnectionSettings& settings, guint prop_id, const GValue* value,
                             const GParamSpec* pspec);
bool get_connection_property(GstElement* element, const ConnectionSettings& settings, guint prop_id, GValue* value);
// True in NULL or READY (and not on the way up); otherwise logs a warning.
// For the elements' own properties that shape the connection or the track.
bool can_change(GstElement* element, const GParamSpec* pspec);

// The options to join with: properties, then LIVEKIT_URL, LIVEKIT_API_KEY,
// LIVEKIT_API_SECRET for an unset url, api-key, api-secret. An error says
// which property is missing.
lk::Result<lk::room::ConnectOptions> connect_options(const ConnectionSettings& settings);

// The room connection for the element (blocks up to connect-timeout):
// - the one in the "livekit.room" context the element was given (set on it,
//   a peer's answer to a context query, or the answer to its need-context
//   message), unless the element's own url, room, identity or token (those
//   set) name another connection: then a bus INFO says what differs and it
//   joins by its properties. A context whose connection has ended is an
//   error saying so (`open_error`).
// - else joined (or shared) by the element's settings, then posted in a
//   have-context message and kept on the element for peers' context queries.
// On failure posts the element error and returns nullptr: RESOURCE SETTINGS
// for missing properties, NOT_AUTHORIZED for a refused token, `open_error`
// (OPEN_READ / OPEN_WRITE) for the rest. Records the participant sid.
// While the element holds the connection, its reconnects go to the bus: a
// WARNING per attempt and per track that could not be republished, an INFO
// once joined again (participant-sid then follows the new session).
std::shared_ptr<lk::room::RoomConnection> join_room(GstElement* element, ConnectionSettings& settings,
                                                    GstResourceError open_error);
// Answers a peer's context query for "livekit.room" with the element's
// context; false for any other query.
bool answer_room_context_query(GstElement* element, GstQuery* query);

// The resource error code for a refusal from lib/room: NOT_AUTHORIZED,
// SETTINGS for an invalid argument, else `otherwise`.
gint resource_error_code(const lk::Error& error, gint otherwise);
// A data-path failure on a room connection: the connection's own error when it
// has ended (it says why: a server gone, a reconnect given up), else `error`.
void post_data_path_error(GstElement* element, lk::room::RoomConnection& room, GstResourceError code,
                          const lk::Error& error);

// An element error with a domain and code chosen at run time.
void post_error(GstElement* element, GQuark domain, gint code, const std::string& text, const std::string& debug,
                const char* file, const char* function, int line);
#define LKGST_ERROR(element, domain, code, text, debug) \
  ::lkgst::post_error(GST_ELEMENT_CAST(element), domain, code, text, debug, __FILE__, GST_FUNCTION, __LINE__)

// ---- GObject plumbing -----------------------------------------------------------

// A string property's value; "" for NULL.
std::string string_from(const GValue* value);
// Sets a string property's value; NULL for "".
void set_string(GValue* value, const std::string& text);
// Registers the enum type once (thread-safe) and returns it; `once` is the
// caller's static.
GType register_enum_once(gsize* once, const char* name, const GEnumValue* values);
// Both elements' GstURIHandler: the livekit/livekits protocols and these functions.
void init_uri_handler(gpointer iface, GstURIType (*get_type)(GType), gchar* (*get_uri)(GstURIHandler*),
                      gboolean (*set_uri)(GstURIHandler*, const gchar*, GError**));
// The caps of the timestamp/x-unix reference meta (UNIX epoch time).
GstCaps* unix_reference_caps();

// ---- end-to-end encryption -----------------------------------------------------------

// e2ee-passphrase, e2ee-key-file and e2ee-key-index, on both elements. Each
// element's key is its own track's (docs/protocol.md §13): elements sharing a
// room connection may use different keys, or none. The passphrase is
// write-only: never read back, never logged.
struct E2eeSettings {
  // What each key index was given (README "Key rotation").
  struct Key {
    std::string passphrase, key_file;
  };
  std::array<Key, lk::e2ee::kKeyRingSize> keys;
  guint key_index = 0;       // e2ee-key-index: where the next key goes, what the sink seals with
  guint ratchet_window = 0;  // the src's e2ee-ratchet-window
  bool enabled() const;
};
// The three properties, numbered in a row from an element's `first_id` in this order.
enum class E2eeProperty { Passphrase, KeyFile, KeyIndex };
void install_e2ee_properties(GObjectClass* klass, guint first_id);
// Sets one of them. A passphrase or key file goes to the index e2ee-key-index
// names at that moment. In NULL or READY: for the next start. While the
// element runs with `key_ring`: derived and installed at once, the other slots
// kept; an index whose slot has a key is sealed with from the next frame, an
// empty one waits for the next key. Bad input there: a bus warning, the keys in
// use kept. Past READY without a ring: refused (E2EE is switched on or off
// only when stopped).
void set_e2ee_property(GstElement* element, E2eeSettings& settings, const std::shared_ptr<lk::e2ee::KeyRing>& key_ring,
                       E2eeProperty which, const GValue* value, const GParamSpec* pspec);
// e2ee-key-file (the current index's) and e2ee-key-index; nothing for the
// write-only passphrase.
void get_e2ee_property(GstElement* element, const E2eeSettings& settings, E2eeProperty which, GValue* value);
// The key ring these settings give (PBKDF2 over each index's passphrase
// UTF-8 bytes or file bytes), sealing with e2ee-key-index; null when no index
// has a key. The error says which property to fix: both set at one index, an
// unreadable or empty file, no key at e2ee-key-index.
lk::Result<std::shared_ptr<lk::e2ee::KeyRing>> key_ring_for(const E2eeSettings& settings);

// An element's start, once its own properties are checked: the key ring its
// e2ee settings give (settings read and ring stored under the object lock),
// then the room joined as join_room() does. On failure posts the error and
// returns false.
bool open_room(GstElement* element, ConnectionSettings& settings, const E2eeSettings& e2ee,
               GstResourceError open_error, std::shared_ptr<lk::room::RoomConnection>& room,
               std::shared_ptr<lk::e2ee::KeyRing>& key_ring);
// An element's stop: lets go of the room (the last holder leaves it) and of
// the key ring (under the object lock), and clears participant-sid.
void close_room(GstElement* element, ConnectionSettings& settings, std::shared_ptr<lk::room::RoomConnection>& room,
                std::shared_ptr<lk::e2ee::KeyRing>& key_ring);

// ---- URIs ------------------------------------------------------------------------

// livekit://HOST[:PORT]/ROOM/TRACK?participant=P&identity=I (ws://), or
// livekits://... (wss://): both elements' GstURIHandler.
struct LiveKitUri {
  std::string url;          // ws://HOST[:PORT] or wss://HOST[:PORT]
  std::string room, track;  // percent-decoded
  std::string participant;  // the src's publisher; never for the sink
  std::string identity;     // "" when the URI has none
};
inline constexpr const char* kUriProtocols[] = {"livekit", "livekits", nullptr};

// Parses a URI for the src (GST_URI_SRC: `participant` required) or the sink
// (GST_URI_SINK: no `participant`). The error's `code` is the GstURIError and
// its text says what to fix.
struct UriError {
  GstURIError code;
  std::string message;
};
std::variant<LiveKitUri, UriError> parse_uri(const char* uri, GstURIType type);
// The URI for these settings; "" when the url is unset or not one a URI can
// say (a scheme other than ws(s)/http(s), or a path).
std::string make_uri(const std::string& url, const std::string& room, const std::string& track,
                     const std::string& participant, const std::string& identity);
// GstURIHandler::set_uri for either element: the URI's url, room, track name,
// participant (src) and identity (when given) into the properties, only in
// NULL or READY (else GST_URI_ERROR_BAD_STATE).
gboolean set_uri(GstElement* element, ConnectionSettings& settings, std::string& track, std::string* participant,
                 const gchar* uri, GError** error);

// ---- caps <-> frame encoding ---------------------------------------------------

// The frame encoding a buffer's caps declare (README "Frame encodings"):
// a well-known media type gives its encoding; otherwise `custom` if not empty,
// else the caps' string field `frame-encoding`, else none.
std::optional<livekit::DataTrackFrameEncoding> encoding_for_caps(const GstCaps* caps, const std::string& custom);
// The schema from properties, else from the caps fields `schema` and
// `schema-encoding`; none without a name.
std::optional<livekit::DataTrackSchemaId> schema_for_caps(const GstCaps* caps, const std::string& name,
                                                          const std::string& encoding);
// The caps for a remote track: the table in reverse; application/octet-stream
// for no encoding or a custom one (with a `frame-encoding` field); `schema`
// and `schema-encoding` fields when the track declares a schema.
GstCaps* caps_for_track(const livekit::DataTrackInfo& info);

// ---- logs ------------------------------------------------------------------------

// Routes the livekit-room, livekit-signal and livekit-rtc-* GLib log domains
// into the debug categories livekit-room, livekit-signal and livekit-rtc.
void bridge_library_logs();

}  // namespace lkgst
