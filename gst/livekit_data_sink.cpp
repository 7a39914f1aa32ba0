// livekitdatasink: properties, state changes, data path, in that order.
//
// Connects in READY->PAUSED (start), so a refused token or an unreachable
// server fails the state change. Publishes the track on the first caps (or the
// first buffer when none come), because the caps decide the frame encoding it
// is published with; unpublishes at EOS and in stop.
#include "livekit_data_sink.h"

#include <chrono>
#include <thread>
#include <vector>

#include "element_common.h"

GST_DEBUG_CATEGORY_STATIC(livekit_data_sink_debug);
#define GST_CAT_DEFAULT livekit_data_sink_debug

namespace {

using lk::room::BackPressure;

enum class TimestampMode { UnixMs, Pts, None };

enum {
  PROP_TRACK_NAME = lkgst::kConnectionPropertyEnd,
  PROP_TIMESTAMP_MODE,
  PROP_FRAME_ENCODING,
  PROP_SCHEMA_NAME,
  PROP_SCHEMA_ENCODING,
  PROP_BACK_PRESSURE,
  PROP_EOS_LINGER,
  PROP_E2EE_PASSPHRASE,  // then key file, key index: lkgst::E2eeProperty's order
  PROP_E2EE_KEY_FILE,
  PROP_E2EE_KEY_INDEX,
  PROP_STATS,
};

GType timestamp_mode_get_type() {
  static const GEnumValue values[] = {
      {int(TimestampMode::UnixMs),
       "UNIX epoch milliseconds: a timestamp/x-unix reference meta, else running time mapped to real time", "unix-ms"},
      {int(TimestampMode::Pts), "The buffer PTS in nanoseconds", "pts"},
      {int(TimestampMode::None), "No user timestamp", "none"},
      {0, nullptr, nullptr},
  };
  static gsize once = 0;
  return lkgst::register_enum_once(&once, "GstLiveKitDataSinkTimestampMode", values);
}

GType back_pressure_get_type() {
  static const GEnumValue values[] = {
      {int(BackPressure::Block), "Wait until the data channel drains (woken by flush and state changes)", "block"},
      {int(BackPressure::DropNew), "Drop the new buffer at once (counted in stats)", "drop-new"},
      {int(BackPressure::DropOld), "Keep the new buffer; drop the oldest frames not yet sent (counted in stats)",
       "drop-old"},
      {0, nullptr, nullptr},
  };
  static gsize once = 0;
  return lkgst::register_enum_once(&once, "GstLiveKitDataSinkBackPressure", values);
}

// The C++ state of one element, behind the GObject.
struct Sink {
  // Properties (object lock).
  lkgst::ConnectionSettings connection;
  std::string track_name, frame_encoding, schema_name, schema_encoding;
  TimestampMode timestamp_mode = TimestampMode::UnixMs;
  BackPressure back_pressure = BackPressure::Block;
  unsigned eos_linger_ms = 500;
  lkgst::E2eeSettings e2ee;

  // Between start and stop. `track` and `unlocked` under the object lock
  // (unlock comes from another thread); the rest on the streaming thread.
  std::shared_ptr<lk::room::RoomConnection> room;
  std::shared_ptr<lk::room::LocalDataTrack> track;
  std::shared_ptr<lk::e2ee::KeyRing> key_ring;  // null: a clear track (object lock: properties rotate it)
  bool unlocked = false;
  std::string published_as;  // encoding and schema it was published with, serialized
  lk::room::LocalTrackStats last_stats;  // of the last track, once it is gone
};

}  // namespace

struct _GstLiveKitDataSink {
  GstBaseSink parent;
  Sink* sink;
};

static void lkds_uri_handler_init(gpointer iface, gpointer data);
G_DEFINE_TYPE_WITH_CODE(GstLiveKitDataSink, gst_livekit_data_sink, GST_TYPE_BASE_SINK,
                        G_IMPLEMENT_INTERFACE(GST_TYPE_URI_HANDLER, lkds_uri_handler_init));
GST_ELEMENT_REGISTER_DEFINE(livekitdatasink, "livekitdatasink", GST_RANK_NONE, GST_TYPE_LIVEKIT_DATA_SINK);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

static gboolean lkds_start(GstBaseSink* base);
static gboolean lkds_stop(GstBaseSink* base);
static gboolean lkds_set_caps(GstBaseSink* base, GstCaps* caps);
static gboolean lkds_event(GstBaseSink* base, GstEvent* event);
static gboolean lkds_query(GstBaseSink* base, GstQuery* query);
static gboolean lkds_unlock(GstBaseSink* base);
static gboolean lkds_unlock_stop(GstBaseSink* base);
static GstFlowReturn lkds_render(GstBaseSink* base, GstBuffer* buffer);
static GstFlowReturn lkds_render_list(GstBaseSink* base, GstBufferList* list);

// ---- properties ------------------------------------------------------------------

static void lkds_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  auto* self = GST_LIVEKIT_DATA_SINK(object);
  Sink& s = *self->sink;
  if (lkgst::set_connection_property(GST_ELEMENT(self), s.connection, prop_id, value, pspec)) return;
  if (prop_id >= PROP_E2EE_PASSPHRASE && prop_id <= PROP_E2EE_KEY_INDEX) {
    return lkgst::set_e2ee_property(GST_ELEMENT(self), s.e2ee, s.key_ring,
                                    lkgst::E2eeProperty(prop_id - PROP_E2EE_PASSPHRASE), value, pspec);
  }
  if (prop_id < PROP_TRACK_NAME || prop_id > PROP_EOS_LINGER) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    return;
  }
  if (!lkgst::can_change(GST_ELEMENT(self), pspec)) return;
  auto text = [value] { return lkgst::string_from(value); };
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_TRACK_NAME: s.track_name = text(); break;
    case PROP_TIMESTAMP_MODE: s.timestamp_mode = TimestampMode(g_value_get_enum(value)); break;
    case PROP_FRAME_ENCODING: s.frame_encoding = text(); break;
    case PROP_SCHEMA_NAME: s.schema_name = text(); break;
    case PROP_SCHEMA_ENCODING: s.schema_encoding = text(); break;
    case PROP_BACK_PRESSURE: s.back_pressure = BackPressure(g_value_get_enum(value)); break;
    case PROP_EOS_LINGER: s.eos_linger_ms = g_value_get_uint(value); break;
  }
  GST_OBJECT_UNLOCK(self);
}

static GstStructure* lkds_stats(GstLiveKitDataSink* self) {
  GST_OBJECT_LOCK(self);
  auto track = self->sink->track;
  lk::room::LocalTrackStats st = self->sink->last_stats;
  GST_OBJECT_UNLOCK(self);
  if (track) st = track->stats();
  return gst_structure_new("livekitdatasink-stats", "frames-sent", G_TYPE_UINT64, st.frames_sent, "bytes-sent",
                           G_TYPE_UINT64, st.bytes_sent, "dropped-back-pressure", G_TYPE_UINT64,
                           st.dropped_back_pressure, "dropped-too-large", G_TYPE_UINT64, st.dropped_too_large,
                           "queued-bytes", G_TYPE_UINT64, st.queued_bytes, nullptr);
}

static void lkds_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  auto* self = GST_LIVEKIT_DATA_SINK(object);
  Sink& s = *self->sink;
  if (lkgst::get_connection_property(GST_ELEMENT(self), s.connection, prop_id, value)) return;
  if (prop_id == PROP_STATS) return g_value_take_boxed(value, lkds_stats(self));
  if (prop_id >= PROP_E2EE_PASSPHRASE && prop_id <= PROP_E2EE_KEY_INDEX) {
    return lkgst::get_e2ee_property(GST_ELEMENT(self), s.e2ee, lkgst::E2eeProperty(prop_id - PROP_E2EE_PASSPHRASE),
                                    value);
  }
  auto text = [value](const std::string& v) { lkgst::set_string(value, v); };
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_TRACK_NAME: text(s.track_name); break;
    case PROP_TIMESTAMP_MODE: g_value_set_enum(value, int(s.timestamp_mode)); break;
    case PROP_FRAME_ENCODING: text(s.frame_encoding); break;
    case PROP_SCHEMA_NAME: text(s.schema_name); break;
    case PROP_SCHEMA_ENCODING: text(s.schema_encoding); break;
    case PROP_BACK_PRESSURE: g_value_set_enum(value, int(s.back_pressure)); break;
    case PROP_EOS_LINGER: g_value_set_uint(value, s.eos_linger_ms); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
  }
  GST_OBJECT_UNLOCK(self);
}

// The ratchet-key action signal: one ratchet step of the key the sink seals
// with, from the next frame on (receivers follow within their ratchet window).
// FALSE, with a warning in the log, when no E2EE key is in use (the ring lives
// from start to stop).
static gboolean lkds_ratchet_key(GstLiveKitDataSink* self) {
  GST_OBJECT_LOCK(self);
  auto ring = self->sink->key_ring;
  GST_OBJECT_UNLOCK(self);
  if (!ring) {
    GST_WARNING_OBJECT(self, "ratchet-key: no E2EE key in use (set e2ee-passphrase or e2ee-key-file; a key exists "
                             "from READY->PAUSED until PAUSED->READY)");
    return FALSE;
  }
  auto ratcheted = ring->ratchet_current();
  if (!ratcheted) {
    GST_WARNING_OBJECT(self, "ratchet-key: %s", ratcheted.error().message.c_str());
    return FALSE;
  }
  GST_INFO_OBJECT(self, "E2EE key at index %u ratcheted one step", unsigned(*ratcheted));
  return TRUE;
}

static void lkds_finalize(GObject* object) {
  delete GST_LIVEKIT_DATA_SINK(object)->sink;
  G_OBJECT_CLASS(gst_livekit_data_sink_parent_class)->finalize(object);
}

static void gst_livekit_data_sink_class_init(GstLiveKitDataSinkClass* klass) {
  GST_DEBUG_CATEGORY_INIT(livekit_data_sink_debug, "livekitdatasink", 0, "LiveKit data track sink");
  auto* gobject_class = G_OBJECT_CLASS(klass);
  auto* element_class = GST_ELEMENT_CLASS(klass);
  auto* base_class = GST_BASE_SINK_CLASS(klass);
  gobject_class->set_property = lkds_set_property;
  gobject_class->get_property = lkds_get_property;
  gobject_class->finalize = lkds_finalize;

  lkgst::install_connection_properties(gobject_class);
  const auto rw = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(
      gobject_class, PROP_TRACK_NAME,
      g_param_spec_string("track-name", "Track name", "Name of the data track to publish (required)", nullptr, rw));
  g_object_class_install_property(
      gobject_class, PROP_TIMESTAMP_MODE,
      g_param_spec_enum("timestamp-mode", "Timestamp mode",
                        "What each frame's user timestamp carries (unix-ms: the LiveKit SDKs' convention)",
                        timestamp_mode_get_type(), int(TimestampMode::UnixMs), rw));
  g_object_class_install_property(
      gobject_class, PROP_FRAME_ENCODING,
      g_param_spec_string("frame-encoding", "Frame encoding",
                          "Frame encoding to publish instead of the one the caps give: json, protobuf, cbor, msgpack, "
                          "ros1, cdr, flatbuffer, or any other text as a custom encoding",
                          nullptr, rw));
  g_object_class_install_property(
      gobject_class, PROP_SCHEMA_NAME,
      g_param_spec_string("schema-name", "Schema name",
                          "Schema name to publish (else the caps field 'schema'; none when neither)", nullptr, rw));
  g_object_class_install_property(
      gobject_class, PROP_SCHEMA_ENCODING,
      g_param_spec_string("schema-encoding", "Schema encoding",
                          "How the schema is written: protobuf, flatbuffer, ros1msg, ros2msg, ros2idl, omgidl, "
                          "jsonschema, or any other text as custom (else the caps field 'schema-encoding')",
                          nullptr, rw));
  g_object_class_install_property(
      gobject_class, PROP_BACK_PRESSURE,
      g_param_spec_enum("back-pressure", "Back pressure", "What a buffer meets when the data channel is backed up",
                        back_pressure_get_type(), int(BackPressure::Block), rw));
  g_object_class_install_property(
      gobject_class, PROP_EOS_LINGER,
      g_param_spec_uint("eos-linger", "EOS linger",
                        "At EOS, once the last frame has reached the server: ms to wait before unpublishing, while "
                        "the server still forwards it (subscribers drop packets of a track already unpublished)",
                        0, 60000, 500, rw));
  lkgst::install_e2ee_properties(gobject_class, PROP_E2EE_PASSPHRASE);
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics",
                         "frames-sent, bytes-sent, dropped-back-pressure, dropped-too-large, queued-bytes",
                         GST_TYPE_STRUCTURE, GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
  gst_type_mark_as_plugin_api(timestamp_mode_get_type(), GstPluginAPIFlags(0));
  gst_type_mark_as_plugin_api(back_pressure_get_type(), GstPluginAPIFlags(0));
  // gboolean ratchet-key(): as livekit-client's keyProvider.ratchetKey().
  g_signal_new_class_handler("ratchet-key", G_TYPE_FROM_CLASS(klass), GSignalFlags(G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION),
                             G_CALLBACK(lkds_ratchet_key), nullptr, nullptr, nullptr, G_TYPE_BOOLEAN, 0);

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_set_static_metadata(element_class, "LiveKit data track sink", "Sink/Network",
                                        "Publishes a LiveKit data track: every buffer becomes one frame",
                                        "gst-livekit-data");
  base_class->start = GST_DEBUG_FUNCPTR(lkds_start);
  base_class->stop = GST_DEBUG_FUNCPTR(lkds_stop);
  base_class->set_caps = GST_DEBUG_FUNCPTR(lkds_set_caps);
  base_class->event = GST_DEBUG_FUNCPTR(lkds_event);
  base_class->query = GST_DEBUG_FUNCPTR(lkds_query);
  base_class->unlock = GST_DEBUG_FUNCPTR(lkds_unlock);
  base_class->unlock_stop = GST_DEBUG_FUNCPTR(lkds_unlock_stop);
  base_class->render = GST_DEBUG_FUNCPTR(lkds_render);
  base_class->render_list = GST_DEBUG_FUNCPTR(lkds_render_list);
}

static void gst_livekit_data_sink_init(GstLiveKitDataSink* self) {
  self->sink = new Sink();
  // A data track is not played against the clock: frames go out as they come.
  gst_base_sink_set_sync(GST_BASE_SINK(self), FALSE);
  // Nor is there anything to preroll: with async on, a pipeline that also
  // waits for a remote track (a livekitdatasrc branch) would hold this sink
  // in PAUSED, unpublished, until that track sends something.
  gst_base_sink_set_async_enabled(GST_BASE_SINK(self), FALSE);
}

// ---- URI handler: livekit://HOST[:PORT]/ROOM/TRACK?identity=I (sets properties) ----

static GstURIType lkds_uri_get_type(GType) { return GST_URI_SINK; }

static gchar* lkds_uri_get_uri(GstURIHandler* handler) {
  auto* self = GST_LIVEKIT_DATA_SINK(handler);
  Sink& s = *self->sink;
  GST_OBJECT_LOCK(self);
  const std::string uri = lkgst::make_uri(s.connection.url, s.connection.room, s.track_name, "", s.connection.identity);
  GST_OBJECT_UNLOCK(self);
  return uri.empty() ? nullptr : g_strdup(uri.c_str());
}

static gboolean lkds_uri_set_uri(GstURIHandler* handler, const gchar* uri, GError** error) {
  auto* self = GST_LIVEKIT_DATA_SINK(handler);
  return lkgst::set_uri(GST_ELEMENT(self), self->sink->connection, self->sink->track_name, nullptr, uri, error);
}

static void lkds_uri_handler_init(gpointer iface, gpointer) {
  lkgst::init_uri_handler(iface, lkds_uri_get_type, lkds_uri_get_uri, lkds_uri_set_uri);
}

// ---- state changes -----------------------------------------------------------------

static gboolean lkds_start(GstBaseSink* base) {
  auto* self = GST_LIVEKIT_DATA_SINK(base);
  Sink& s = *self->sink;
  GST_OBJECT_LOCK(self);
  const bool named = !s.track_name.empty();
  s.published_as.clear();
  GST_OBJECT_UNLOCK(self);
  if (!named) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("no track name: set the 'track-name' property"), (nullptr));
    return FALSE;
  }
  return lkgst::open_room(GST_ELEMENT(self), s.connection, s.e2ee, GST_RESOURCE_ERROR_OPEN_WRITE, s.room, s.key_ring);
}

// Waits (bounded) until what was pushed left the data channel, then unpublishes.
// At EOS the frames pushed so far leave first (queued, in SCTP, unacknowledged:
// unpublishing or leaving drops what is still in flight), for up to
// drain_ms; when stopping they are dropped.
static void lkds_unpublish(GstLiveKitDataSink* self, int drain_ms) {
  GST_OBJECT_LOCK(self);
  auto track = self->sink->track;
  GST_OBJECT_UNLOCK(self);
  if (!track) return;
  if (drain_ms > 0 && track->is_published()) {
    if (!track->drain(drain_ms)) {
      GST_WARNING_OBJECT(self, "frames still in flight after %d ms at EOS: unpublishing anyway", drain_ms);
    }
    GST_OBJECT_LOCK(self);
    const unsigned linger = self->sink->eos_linger_ms;
    GST_OBJECT_UNLOCK(self);
    std::this_thread::sleep_for(std::chrono::milliseconds(linger));
  }
  GST_OBJECT_LOCK(self);
  self->sink->last_stats = track->stats();
  self->sink->track.reset();
  GST_OBJECT_UNLOCK(self);
  if (track->is_published()) {
    track->unpublish();
    GST_INFO_OBJECT(self, "unpublished '%s'", track->info().name().c_str());
  }
}

static gboolean lkds_stop(GstBaseSink* base) {
  auto* self = GST_LIVEKIT_DATA_SINK(base);
  lkds_unpublish(self, 0);
  lkgst::close_room(GST_ELEMENT(self), self->sink->connection, self->sink->room, self->sink->key_ring);
  return TRUE;
}

// Publishes the track with the encoding and schema `caps` give (nullptr: none
// came), once; later caps must keep them, as a track's encoding is fixed.
static bool lkds_publish(GstLiveKitDataSink* self, GstCaps* caps) {
  Sink& s = *self->sink;
  GST_OBJECT_LOCK(self);
  lk::room::PublishOptions po;
  po.name = s.track_name;
  po.frame_encoding = lkgst::encoding_for_caps(caps, s.frame_encoding);
  po.schema = lkgst::schema_for_caps(caps, s.schema_name, s.schema_encoding);
  po.back_pressure = s.back_pressure;
  const bool published = s.track != nullptr;
  po.e2ee = s.key_ring;
  GST_OBJECT_UNLOCK(self);

  const std::string as = (po.frame_encoding ? po.frame_encoding->ShortDebugString() : "none") + " / " +
                         (po.schema ? po.schema->ShortDebugString() : "none");
  if (published) {
    if (as == s.published_as) return true;
    GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("the caps changed the frame encoding or schema of data track '%s'",
                                             po.name.c_str()),
                      ("published as %s, now %s: a data track keeps the encoding it was published with",
                       s.published_as.c_str(), as.c_str()));
    return false;
  }
  auto track = s.room->publish_data_track(po);
  if (!track) {
    const lk::Error& e = track.error();
    LKGST_ERROR(self, GST_RESOURCE_ERROR, lkgst::resource_error_code(e, GST_RESOURCE_ERROR_OPEN_WRITE), e.message,
                "publishing with " + as);
    return false;
  }
  GST_INFO_OBJECT(self, "published '%s' as %s (%s)", po.name.c_str(), (*track)->info().sid().c_str(), as.c_str());
  s.published_as = as;
  GST_OBJECT_LOCK(self);
  s.track = *track;
  if (s.unlocked) s.track->cancel_push();
  GST_OBJECT_UNLOCK(self);
  return true;
}

static gboolean lkds_set_caps(GstBaseSink* base, GstCaps* caps) {
  GST_DEBUG_OBJECT(base, "caps %" GST_PTR_FORMAT, caps);
  return lkds_publish(GST_LIVEKIT_DATA_SINK(base), caps);
}

static gboolean lkds_event(GstBaseSink* base, GstEvent* event) {
  if (GST_EVENT_TYPE(event) == GST_EVENT_EOS) lkds_unpublish(GST_LIVEKIT_DATA_SINK(base), 5000);
  return GST_BASE_SINK_CLASS(gst_livekit_data_sink_parent_class)->event(base, event);
}

static gboolean lkds_query(GstBaseSink* base, GstQuery* query) {
  if (lkgst::answer_room_context_query(GST_ELEMENT(base), query)) return TRUE;
  return GST_BASE_SINK_CLASS(gst_livekit_data_sink_parent_class)->query(base, query);
}

static gboolean lkds_unlock(GstBaseSink* base) {
  auto* self = GST_LIVEKIT_DATA_SINK(base);
  GST_OBJECT_LOCK(self);
  self->sink->unlocked = true;
  auto track = self->sink->track;
  GST_OBJECT_UNLOCK(self);
  if (track) track->cancel_push();
  return TRUE;
}

static gboolean lkds_unlock_stop(GstBaseSink* base) {
  auto* self = GST_LIVEKIT_DATA_SINK(base);
  GST_OBJECT_LOCK(self);
  self->sink->unlocked = false;
  auto track = self->sink->track;
  GST_OBJECT_UNLOCK(self);
  if (track) track->resume_push();
  return TRUE;
}

// ---- data path -------------------------------------------------------------------

// The frame's user timestamp for the timestamp-mode. unix-ms is the default
// because it is what the LiveKit SDKs (Rust, and the clients built on it)
// read a data-track user timestamp as: a subscriber in any language can
// compare it with its own wall clock; a PTS means nothing outside this pipeline.
static std::optional<uint64_t> lkds_user_timestamp(GstLiveKitDataSink* self, TimestampMode mode, GstBuffer* buffer) {
  const GstClockTime pts = GST_BUFFER_PTS(buffer);
  if (mode == TimestampMode::None) return std::nullopt;
  if (mode == TimestampMode::Pts) return GST_CLOCK_TIME_IS_VALID(pts) ? std::optional<uint64_t>(pts) : std::nullopt;

  if (auto* meta = gst_buffer_get_reference_timestamp_meta(buffer, lkgst::unix_reference_caps())) {
    return meta->timestamp / GST_MSECOND;
  }
  // Running time -> clock time -> real time (the pipeline clock need not be the wall clock).
  int64_t real_us = g_get_real_time();
  GstBaseSink* base = GST_BASE_SINK(self);
  const GstClockTime running = base->segment.format == GST_FORMAT_TIME
                                    ? gst_segment_to_running_time(&base->segment, GST_FORMAT_TIME, pts)
                                    : GST_CLOCK_TIME_NONE;  // e.g. filesrc's BYTES: the time it is sent
  GstClock* clock = GST_CLOCK_TIME_IS_VALID(running) ? gst_element_get_clock(GST_ELEMENT(self)) : nullptr;
  if (clock) {
    const GstClockTime at = running + gst_element_get_base_time(GST_ELEMENT(self));
    const GstClockTime now = gst_clock_get_time(clock);
    real_us += (GstClockTimeDiff(at) - GstClockTimeDiff(now)) / 1000;
    gst_object_unref(clock);
  }
  return real_us > 0 ? uint64_t(real_us) / 1000 : 0;
}

// The published track (publishing it now when no caps came, or after an EOS
// unpublished it before a flush); null after an error was posted.
static std::shared_ptr<lk::room::LocalDataTrack> lkds_track(GstLiveKitDataSink* self) {
  GST_OBJECT_LOCK(self);
  auto track = self->sink->track;
  GST_OBJECT_UNLOCK(self);
  if (track) return track;
  GstCaps* caps = gst_pad_get_current_caps(GST_BASE_SINK_PAD(self));
  const bool published = lkds_publish(self, caps);
  if (caps) gst_caps_unref(caps);
  if (!published) return nullptr;
  GST_OBJECT_LOCK(self);
  track = self->sink->track;
  GST_OBJECT_UNLOCK(self);
  return track;
}

// What a failed push means for the stream; a drop (drop-new, a connection
// lost meanwhile) is no failure.
static GstFlowReturn lkds_push_failed(GstLiveKitDataSink* self, const lk::Error& e) {
  switch (e.kind) {
    case lk::ErrorKind::Cancelled:
      return GST_FLOW_FLUSHING;
    case lk::ErrorKind::Timeout:
      GST_LOG_OBJECT(self, "%s", e.message.c_str());
      return GST_FLOW_OK;
    case lk::ErrorKind::InvalidArgument:  // over 128 packets; the message names size and limit
      LKGST_ERROR(self, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_WRITE, e.message, "");
      return GST_FLOW_ERROR;
    default:
      lkgst::post_data_path_error(GST_ELEMENT(self), *self->sink->room, GST_RESOURCE_ERROR_WRITE, e);
      return GST_FLOW_ERROR;
  }
}

static bool lkds_map(GstLiveKitDataSink* self, GstBuffer* buffer, GstMapInfo& map) {
  if (gst_buffer_map(buffer, &map, GST_MAP_READ)) return true;
  GST_ELEMENT_ERROR(self, RESOURCE, READ, ("cannot read the buffer"), (nullptr));
  return false;
}

static TimestampMode lkds_timestamp_mode(GstLiveKitDataSink* self) {
  GST_OBJECT_LOCK(self);
  const TimestampMode mode = self->sink->timestamp_mode;
  GST_OBJECT_UNLOCK(self);
  return mode;
}

static GstFlowReturn lkds_render(GstBaseSink* base, GstBuffer* buffer) {
  auto* self = GST_LIVEKIT_DATA_SINK(base);
  auto track = lkds_track(self);
  if (!track) return GST_FLOW_ERROR;
  const auto timestamp = lkds_user_timestamp(self, lkds_timestamp_mode(self), buffer);
  GstMapInfo map;
  if (!lkds_map(self, buffer, map)) return GST_FLOW_ERROR;
  auto pushed = track->push(std::span<const uint8_t>(map.data, map.size), timestamp, -1);
  gst_buffer_unmap(buffer, &map);
  return pushed ? GST_FLOW_OK : lkds_push_failed(self, pushed.error());
}

// Every buffer of the list as one frame, in order, in one call into the
// track (one lock, the packets sent together).
static GstFlowReturn lkds_render_list(GstBaseSink* base, GstBufferList* list) {
  auto* self = GST_LIVEKIT_DATA_SINK(base);
  auto track = lkds_track(self);
  if (!track) return GST_FLOW_ERROR;
  const TimestampMode mode = lkds_timestamp_mode(self);
  const guint n = gst_buffer_list_length(list);
  std::vector<GstMapInfo> maps(n);
  std::vector<lk::room::OutgoingFrame> frames(n);
  guint mapped = 0;
  for (; mapped < n; mapped++) {
    GstBuffer* buffer = gst_buffer_list_get(list, mapped);
    if (!lkds_map(self, buffer, maps[mapped])) break;
    frames[mapped] = {std::span<const uint8_t>(maps[mapped].data, maps[mapped].size),
                      lkds_user_timestamp(self, mode, buffer)};
  }
  // None is sent when one cannot be read: the list fails whole.
  auto pushed = mapped == n ? track->push_batch(frames, -1) : lk::Result<void>();
  for (guint i = 0; i < mapped; i++) gst_buffer_unmap(gst_buffer_list_get(list, i), &maps[i]);
  if (mapped != n) return GST_FLOW_ERROR;
  return pushed ? GST_FLOW_OK : lkds_push_failed(self, pushed.error());
}
