// livekitdatasrc: properties, state changes, data path, in that order.
//
// Connects and subscribes in READY->PAUSED (start), so a refused token or an
// unreachable server fails the state change; the track itself may come later
// (wait-timeout). The track unpublished or its publisher gone ends the
// stream, or (on-unpublished=wait) subscribes again for its return. A live
// source: each frame becomes one buffer stamped with the running time at its
// arrival, or (timestamp-mode=sender) with the sender's UNIX time mapped into
// the pipeline. Frames that waited together go downstream as one buffer list.
#include "livekit_data_src.h"

#include <cstdlib>

#include "element_common.h"

GST_DEBUG_CATEGORY_STATIC(livekit_data_src_debug);
#define GST_CAT_DEFAULT livekit_data_src_debug

namespace {

enum {
  PROP_PARTICIPANT = lkgst::kConnectionPropertyEnd,
  PROP_TRACK_NAME,
  PROP_WAIT_TIMEOUT,
  PROP_MAX_PARTIAL_FRAMES,
  PROP_QUEUE_SIZE,
  PROP_QUEUE_MAX_BYTES,
  PROP_CAPS,
  PROP_TIMESTAMP_MODE,
  PROP_ON_UNPUBLISHED,
  PROP_BUFFER_LISTS,
  PROP_E2EE_PASSPHRASE,  // then key file, key index: lkgst::E2eeProperty's order
  PROP_E2EE_KEY_FILE,
  PROP_E2EE_KEY_INDEX,
  PROP_E2EE_RATCHET_WINDOW,
  PROP_STATS,
};

enum class TimestampMode { Arrival, Sender };
enum class OnUnpublished { Eos, Wait };

// What one create() hands on at most: the frames already waiting behind the
// first, as one buffer list (one push, one lock of the subscription's queue).
// It never waits for more, so a lone frame goes out at once; the bounds keep
// one push short next to the queue-size default (16,384 frames).
constexpr size_t kMaxListFrames = 64;
constexpr size_t kMaxListBytes = 64 * 1024;

GType on_unpublished_get_type() {
  static const GEnumValue values[] = {
      {int(OnUnpublished::Eos), "End the stream (EOS)", "eos"},
      {int(OnUnpublished::Wait),
       "Keep going: wait for the publisher to publish the track again (DISCONT on the next buffer)", "wait"},
      {0, nullptr, nullptr},
  };
  static gsize once = 0;
  return lkgst::register_enum_once(&once, "GstLiveKitDataSrcOnUnpublished", values);
}

GType timestamp_mode_get_type() {
  static const GEnumValue values[] = {
      {int(TimestampMode::Arrival), "The running time when the frame arrived", "arrival"},
      {int(TimestampMode::Sender),
       "The sender's user timestamp (UNIX ms) mapped through the pipeline clock's offset to real time; needs "
       "synchronized clocks (NTP) at both ends; frames without one: arrival",
       "sender"},
      {0, nullptr, nullptr},
  };
  static gsize once = 0;
  return lkgst::register_enum_once(&once, "GstLiveKitDataSrcTimestampMode", values);
}

// The C++ state of one element, behind the GObject.
struct Src {
  // Properties (object lock).
  lkgst::ConnectionSettings connection;
  std::string participant, track_name;
  int wait_timeout_ms = -1;
  guint max_partial_frames = 1;
  guint queue_size = lk::room::SubscribeOptions::kDefaultQueueFrames;
  guint queue_max_bytes = 64 << 20;
  GstCaps* caps = nullptr;
  TimestampMode timestamp_mode = TimestampMode::Arrival;
  OnUnpublished on_unpublished = OnUnpublished::Eos;
  bool buffer_lists = false;
  lkgst::E2eeSettings e2ee;

  // Between start and stop. `subscription` and `unlocked` under the object
  // lock (unlock comes from another thread); the rest on the streaming thread.
  std::shared_ptr<lk::room::RoomConnection> room;
  std::shared_ptr<lk::room::DataTrackSubscription> subscription;
  std::shared_ptr<lk::e2ee::KeyRing> key_ring;  // null: a clear track expected (object lock: properties add keys)
  bool unlocked = false;
  std::optional<uint16_t> last_frame_number;
  bool discont = false;  // the next buffer starts again after an unpublish
  bool track_caps_set = false;  // a subscription's track keeps its encoding
  // timestamp-mode=sender: real time minus running time, as last adopted (ns).
  std::optional<GstClockTimeDiff> realtime_offset;
  GstClockTime last_arrival_pts = GST_CLOCK_TIME_NONE;  // arrival PTS never go back
  lk::room::SubscriptionStats ended_stats;  // subscriptions since start that are gone, summed
  std::vector<lk::room::ReceivedFrame> batch;  // create()'s frames, the vector reused
};

}  // namespace

struct _GstLiveKitDataSrc {
  GstPushSrc parent;
  Src* src;
};

static void lkdsrc_uri_handler_init(gpointer iface, gpointer data);
G_DEFINE_TYPE_WITH_CODE(GstLiveKitDataSrc, gst_livekit_data_src, GST_TYPE_PUSH_SRC,
                        G_IMPLEMENT_INTERFACE(GST_TYPE_URI_HANDLER, lkdsrc_uri_handler_init));
GST_ELEMENT_REGISTER_DEFINE(livekitdatasrc, "livekitdatasrc", GST_RANK_NONE, GST_TYPE_LIVEKIT_DATA_SRC);

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

static gboolean lkdsrc_start(GstBaseSrc* base);
static gboolean lkdsrc_stop(GstBaseSrc* base);
static gboolean lkdsrc_unlock(GstBaseSrc* base);
static gboolean lkdsrc_unlock_stop(GstBaseSrc* base);
static GstCaps* lkdsrc_get_caps(GstBaseSrc* base, GstCaps* filter);
static gboolean lkdsrc_query(GstBaseSrc* base, GstQuery* query);
static GstFlowReturn lkdsrc_create(GstPushSrc* push, GstBuffer** out);

// ---- properties ------------------------------------------------------------------

static void lkdsrc_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  auto* self = GST_LIVEKIT_DATA_SRC(object);
  Src& s = *self->src;
  if (lkgst::set_connection_property(GST_ELEMENT(self), s.connection, prop_id, value, pspec)) return;
  if (prop_id >= PROP_E2EE_PASSPHRASE && prop_id <= PROP_E2EE_KEY_INDEX) {
    return lkgst::set_e2ee_property(GST_ELEMENT(self), s.e2ee, s.key_ring,
                                    lkgst::E2eeProperty(prop_id - PROP_E2EE_PASSPHRASE), value, pspec);
  }
  if (prop_id < PROP_PARTICIPANT || prop_id >= PROP_STATS) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    return;
  }
  if (!lkgst::can_change(GST_ELEMENT(self), pspec)) return;
  auto text = [value] { return lkgst::string_from(value); };
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_PARTICIPANT: s.participant = text(); break;
    case PROP_TRACK_NAME: s.track_name = text(); break;
    case PROP_WAIT_TIMEOUT: s.wait_timeout_ms = g_value_get_int(value); break;
    case PROP_MAX_PARTIAL_FRAMES: s.max_partial_frames = g_value_get_uint(value); break;
    case PROP_QUEUE_SIZE: s.queue_size = g_value_get_uint(value); break;
    case PROP_QUEUE_MAX_BYTES: s.queue_max_bytes = g_value_get_uint(value); break;
    case PROP_CAPS: {
      const GstCaps* caps = gst_value_get_caps(value);
      gst_caps_replace(&s.caps, caps && !gst_caps_is_any(caps) ? const_cast<GstCaps*>(caps) : nullptr);
      break;
    }
    case PROP_TIMESTAMP_MODE: s.timestamp_mode = TimestampMode(g_value_get_enum(value)); break;
    case PROP_ON_UNPUBLISHED: s.on_unpublished = OnUnpublished(g_value_get_enum(value)); break;
    case PROP_BUFFER_LISTS: s.buffer_lists = g_value_get_boolean(value); break;
    case PROP_E2EE_RATCHET_WINDOW: s.e2ee.ratchet_window = g_value_get_uint(value); break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void add_stats(lk::room::SubscriptionStats& sum, const lk::room::SubscriptionStats& more) {
  sum.frames_received += more.frames_received;
  sum.bytes_received += more.bytes_received;
  sum.dropped_queue_overflow += more.dropped_queue_overflow;
  sum.dropped_reassembly += more.dropped_reassembly;
  sum.frames_missing += more.frames_missing;
  sum.dropped_decryption += more.dropped_decryption;
}

static GstStructure* lkdsrc_stats(GstLiveKitDataSrc* self) {
  GST_OBJECT_LOCK(self);
  auto subscription = self->src->subscription;
  lk::room::SubscriptionStats st = self->src->ended_stats;
  GST_OBJECT_UNLOCK(self);
  if (subscription) add_stats(st, subscription->stats());
  return gst_structure_new("livekitdatasrc-stats", "frames-received", G_TYPE_UINT64, st.frames_received,
                           "bytes-received", G_TYPE_UINT64, st.bytes_received, "dropped-queue-overflow", G_TYPE_UINT64,
                           st.dropped_queue_overflow, "dropped-reassembly", G_TYPE_UINT64, st.dropped_reassembly,
                           "frames-missing", G_TYPE_UINT64, st.frames_missing, "dropped-decryption", G_TYPE_UINT64,
                           st.dropped_decryption, nullptr);
}

static void lkdsrc_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  auto* self = GST_LIVEKIT_DATA_SRC(object);
  Src& s = *self->src;
  if (lkgst::get_connection_property(GST_ELEMENT(self), s.connection, prop_id, value)) return;
  if (prop_id == PROP_STATS) return g_value_take_boxed(value, lkdsrc_stats(self));
  if (prop_id >= PROP_E2EE_PASSPHRASE && prop_id <= PROP_E2EE_KEY_INDEX) {
    return lkgst::get_e2ee_property(GST_ELEMENT(self), s.e2ee, lkgst::E2eeProperty(prop_id - PROP_E2EE_PASSPHRASE),
                                    value);
  }
  auto text = [value](const std::string& v) { lkgst::set_string(value, v); };
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_PARTICIPANT: text(s.participant); break;
    case PROP_TRACK_NAME: text(s.track_name); break;
    case PROP_WAIT_TIMEOUT: g_value_set_int(value, s.wait_timeout_ms); break;
    case PROP_MAX_PARTIAL_FRAMES: g_value_set_uint(value, s.max_partial_frames); break;
    case PROP_QUEUE_SIZE: g_value_set_uint(value, s.queue_size); break;
    case PROP_QUEUE_MAX_BYTES: g_value_set_uint(value, s.queue_max_bytes); break;
    case PROP_CAPS: gst_value_set_caps(value, s.caps); break;
    case PROP_TIMESTAMP_MODE: g_value_set_enum(value, int(s.timestamp_mode)); break;
    case PROP_ON_UNPUBLISHED: g_value_set_enum(value, int(s.on_unpublished)); break;
    case PROP_BUFFER_LISTS: g_value_set_boolean(value, s.buffer_lists); break;
    case PROP_E2EE_RATCHET_WINDOW: g_value_set_uint(value, s.e2ee.ratchet_window); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void lkdsrc_finalize(GObject* object) {
  auto* self = GST_LIVEKIT_DATA_SRC(object);
  gst_caps_replace(&self->src->caps, nullptr);
  delete self->src;
  G_OBJECT_CLASS(gst_livekit_data_src_parent_class)->finalize(object);
}

static void gst_livekit_data_src_class_init(GstLiveKitDataSrcClass* klass) {
  GST_DEBUG_CATEGORY_INIT(livekit_data_src_debug, "livekitdatasrc", 0, "LiveKit data track source");
  auto* gobject_class = G_OBJECT_CLASS(klass);
  auto* element_class = GST_ELEMENT_CLASS(klass);
  auto* base_class = GST_BASE_SRC_CLASS(klass);
  auto* push_class = GST_PUSH_SRC_CLASS(klass);
  gobject_class->set_property = lkdsrc_set_property;
  gobject_class->get_property = lkdsrc_get_property;
  gobject_class->finalize = lkdsrc_finalize;

  lkgst::install_connection_properties(gobject_class);
  const auto rw = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(
      gobject_class, PROP_PARTICIPANT,
      g_param_spec_string("participant", "Participant", "Identity of the publisher of the track (required)", nullptr,
                          rw));
  g_object_class_install_property(
      gobject_class, PROP_TRACK_NAME,
      g_param_spec_string("track-name", "Track name", "Name of the data track to subscribe to (required)", nullptr,
                          rw));
  g_object_class_install_property(
      gobject_class, PROP_WAIT_TIMEOUT,
      g_param_spec_int("wait-timeout", "Wait timeout",
                       "Milliseconds to wait for a track not published yet before a NOT_FOUND error (-1: for ever)", -1,
                       G_MAXINT, -1, rw));
  g_object_class_install_property(
      gobject_class, PROP_MAX_PARTIAL_FRAMES,
      g_param_spec_uint("max-partial-frames", "Max partial frames",
                        "Frames reassembled at once (packets of more interleaved frames are dropped)", 1, 1024, 1, rw));
  g_object_class_install_property(
      gobject_class, PROP_QUEUE_SIZE,
      g_param_spec_uint("queue-size", "Queue size",
                        "Whole frames waiting to be pushed; on overflow the oldest is dropped (counted in stats)", 1,
                        G_MAXINT, lk::room::SubscribeOptions::kDefaultQueueFrames, rw));
  g_object_class_install_property(
      gobject_class, PROP_QUEUE_MAX_BYTES,
      g_param_spec_uint("queue-max-bytes", "Queue max bytes",
                        "Payload bytes of the frames waiting to be pushed (0 = no limit); on overflow the oldest are "
                        "dropped (counted in stats), the newest frame is always kept",
                        0, G_MAXUINT, 64 << 20, rw));
  g_object_class_install_property(
      gobject_class, PROP_CAPS,
      g_param_spec_boxed("caps", "Caps",
                         "Output caps instead of the ones the track's frame encoding gives", GST_TYPE_CAPS, rw));
  g_object_class_install_property(
      gobject_class, PROP_TIMESTAMP_MODE,
      g_param_spec_enum("timestamp-mode", "Timestamp mode",
                        "What a buffer's PTS is: the running time at arrival, or the sender's user timestamp "
                        "(UNIX ms, as livekitdatasink timestamp-mode=unix-ms sends) mapped into this pipeline",
                        timestamp_mode_get_type(), int(TimestampMode::Arrival), rw));
  g_object_class_install_property(
      gobject_class, PROP_ON_UNPUBLISHED,
      g_param_spec_enum("on-unpublished", "On unpublished",
                        "When the track is unpublished or its publisher leaves: end the stream, or wait for the "
                        "same participant to publish the same track name again (wait-timeout applies)",
                        on_unpublished_get_type(), int(OnUnpublished::Eos), rw));
  g_object_class_install_property(
      gobject_class, PROP_BUFFER_LISTS,
      g_param_spec_boolean("buffer-lists", "Buffer lists",
                           "Push the frames waiting in the queue as one buffer list (up to 64 frames or 64 kB, each "
                           "still its own buffer): fewer pushes for many small frames. Off by default: some elements "
                           "treat a list as one unit (multifilesink writes it to one file)",
                           FALSE, rw));
  lkgst::install_e2ee_properties(gobject_class, PROP_E2EE_PASSPHRASE);
  g_object_class_install_property(
      gobject_class, PROP_E2EE_RATCHET_WINDOW,
      g_param_spec_uint("e2ee-ratchet-window", "E2EE ratchet window",
                        "On a frame that fails authentication, try up to this many ratchet steps of the key and "
                        "keep the first that works: follows a publisher that ratchets its key (0: never)",
                        0, 64, 0, rw));
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics",
                         "frames-received, bytes-received, dropped-queue-overflow, dropped-reassembly, "
                         "dropped-decryption (E2EE frames that failed authentication: a wrong key)",
                         GST_TYPE_STRUCTURE, GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
  gst_type_mark_as_plugin_api(timestamp_mode_get_type(), GstPluginAPIFlags(0));
  gst_type_mark_as_plugin_api(on_unpublished_get_type(), GstPluginAPIFlags(0));

  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(element_class, "LiveKit data track source", "Source/Network",
                                        "Subscribes to a LiveKit data track: every frame becomes one buffer",
                                        "gst-livekit-data");
  base_class->start = GST_DEBUG_FUNCPTR(lkdsrc_start);
  base_class->stop = GST_DEBUG_FUNCPTR(lkdsrc_stop);
  base_class->unlock = GST_DEBUG_FUNCPTR(lkdsrc_unlock);
  base_class->unlock_stop = GST_DEBUG_FUNCPTR(lkdsrc_unlock_stop);
  base_class->get_caps = GST_DEBUG_FUNCPTR(lkdsrc_get_caps);
  base_class->query = GST_DEBUG_FUNCPTR(lkdsrc_query);
  push_class->create = GST_DEBUG_FUNCPTR(lkdsrc_create);
}

static void gst_livekit_data_src_init(GstLiveKitDataSrc* self) {
  self->src = new Src();
  gst_base_src_set_live(GST_BASE_SRC(self), TRUE);
  gst_base_src_set_format(GST_BASE_SRC(self), GST_FORMAT_TIME);
  gst_base_src_set_do_timestamp(GST_BASE_SRC(self), FALSE);  // stamped at arrival, in create()
}

// ---- URI handler: livekit://HOST[:PORT]/ROOM/TRACK?participant=P&identity=I (sets properties) ----

static GstURIType lkdsrc_uri_get_type(GType) { return GST_URI_SRC; }

static gchar* lkdsrc_uri_get_uri(GstURIHandler* handler) {
  auto* self = GST_LIVEKIT_DATA_SRC(handler);
  Src& s = *self->src;
  GST_OBJECT_LOCK(self);
  const std::string uri = lkgst::make_uri(s.connection.url, s.connection.room, s.track_name, s.participant,
                                          s.connection.identity);
  GST_OBJECT_UNLOCK(self);
  return uri.empty() ? nullptr : g_strdup(uri.c_str());
}

static gboolean lkdsrc_uri_set_uri(GstURIHandler* handler, const gchar* uri, GError** error) {
  auto* self = GST_LIVEKIT_DATA_SRC(handler);
  return lkgst::set_uri(GST_ELEMENT(self), self->src->connection, self->src->track_name, &self->src->participant, uri,
                        error);
}

static void lkdsrc_uri_handler_init(gpointer iface, gpointer) {
  lkgst::init_uri_handler(iface, lkdsrc_uri_get_type, lkdsrc_uri_get_uri, lkdsrc_uri_set_uri);
}

// ---- state changes -----------------------------------------------------------------

// Subscribes to the track the properties name (also before it is published)
// and makes it the one create() reads: in start, and again after an unpublish
// with on-unpublished=wait.
static void lkdsrc_subscribe(GstLiveKitDataSrc* self) {
  Src& s = *self->src;
  GST_OBJECT_LOCK(self);
  const std::string participant = s.participant, track_name = s.track_name;
  lk::room::SubscribeOptions options;
  options.wait_for_track_ms = s.wait_timeout_ms;
  options.max_partial_frames = s.max_partial_frames;
  options.queue_frames = s.queue_size;
  options.queue_bytes = s.queue_max_bytes;
  options.e2ee = s.key_ring;
  GST_OBJECT_UNLOCK(self);
  auto subscription = s.room->subscribe(participant, track_name, options);
  GST_INFO_OBJECT(self, "subscribing to '%s' of '%s'", track_name.c_str(), participant.c_str());
  s.last_frame_number.reset();  // a new publication counts from its own start
  s.track_caps_set = false;     // and may have another encoding
  GST_OBJECT_LOCK(self);
  s.subscription = subscription;
  if (s.unlocked) subscription->cancel_read();
  GST_OBJECT_UNLOCK(self);
}

static gboolean lkdsrc_start(GstBaseSrc* base) {
  auto* self = GST_LIVEKIT_DATA_SRC(base);
  Src& s = *self->src;
  GST_OBJECT_LOCK(self);
  const bool named = !s.participant.empty() && !s.track_name.empty();
  s.ended_stats = {};
  s.discont = false;
  s.realtime_offset.reset();
  s.last_arrival_pts = GST_CLOCK_TIME_NONE;
  GST_OBJECT_UNLOCK(self);
  if (!named) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                      ("no track to subscribe to: set the 'participant' (the publisher's identity) and 'track-name' "
                       "properties"),
                      (nullptr));
    return FALSE;
  }
  if (!lkgst::open_room(GST_ELEMENT(self), s.connection, s.e2ee, GST_RESOURCE_ERROR_OPEN_READ, s.room, s.key_ring)) {
    return FALSE;
  }
  lkdsrc_subscribe(self);
  return TRUE;
}

static gboolean lkdsrc_stop(GstBaseSrc* base) {
  auto* self = GST_LIVEKIT_DATA_SRC(base);
  Src& s = *self->src;
  GST_OBJECT_LOCK(self);
  auto subscription = std::move(s.subscription);
  GST_OBJECT_UNLOCK(self);
  if (subscription) {
    subscription->close();
    GST_OBJECT_LOCK(self);
    add_stats(s.ended_stats, subscription->stats());
    GST_OBJECT_UNLOCK(self);
  }
  subscription.reset();
  lkgst::close_room(GST_ELEMENT(self), s.connection, s.room, s.key_ring);
  return TRUE;
}

static gboolean lkdsrc_unlock(GstBaseSrc* base) {
  auto* self = GST_LIVEKIT_DATA_SRC(base);
  GST_OBJECT_LOCK(self);
  self->src->unlocked = true;
  auto subscription = self->src->subscription;
  GST_OBJECT_UNLOCK(self);
  if (subscription) subscription->cancel_read();
  return TRUE;
}

static gboolean lkdsrc_unlock_stop(GstBaseSrc* base) {
  auto* self = GST_LIVEKIT_DATA_SRC(base);
  GST_OBJECT_LOCK(self);
  self->src->unlocked = false;
  auto subscription = self->src->subscription;
  GST_OBJECT_UNLOCK(self);
  if (subscription) subscription->resume_read();
  return TRUE;
}

// ---- data path -------------------------------------------------------------------

// The caps property when set; else anything until the track is known (the
// first frame sets caps from its frame encoding, in create()).
static GstCaps* lkdsrc_get_caps(GstBaseSrc* base, GstCaps* filter) {
  auto* self = GST_LIVEKIT_DATA_SRC(base);
  GST_OBJECT_LOCK(self);
  GstCaps* caps = self->src->caps ? gst_caps_ref(self->src->caps) : gst_caps_new_any();
  GST_OBJECT_UNLOCK(self);
  if (filter) {
    GstCaps* both = gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref(caps);
    caps = both;
  }
  return caps;
}

static gboolean lkdsrc_query(GstBaseSrc* base, GstQuery* query) {
  if (GST_QUERY_TYPE(query) == GST_QUERY_LATENCY) {
    // Live; frames are pushed as they arrive, so no latency of our own.
    gst_query_set_latency(query, TRUE, 0, GST_CLOCK_TIME_NONE);
    return TRUE;
  }
  if (lkgst::answer_room_context_query(GST_ELEMENT(base), query)) return TRUE;
  return GST_BASE_SRC_CLASS(gst_livekit_data_src_parent_class)->query(base, query);
}

// Without a caps property: the caps of the track's frame encoding, set before
// the first buffer.
static bool lkdsrc_negotiate_track_caps(GstLiveKitDataSrc* self, const lk::room::DataTrackSubscription& sub) {
  GST_OBJECT_LOCK(self);
  const bool fixed_by_property = self->src->caps != nullptr;
  GST_OBJECT_UNLOCK(self);
  if (fixed_by_property || self->src->track_caps_set) return true;
  auto info = sub.info();
  GstCaps* wanted = info ? lkgst::caps_for_track(*info) : gst_caps_new_empty_simple("application/octet-stream");
  GstCaps* current = gst_pad_get_current_caps(GST_BASE_SRC_PAD(self));
  bool ok = true;
  if (!current || !gst_caps_is_equal(current, wanted)) {
    GST_INFO_OBJECT(self, "caps from the track: %" GST_PTR_FORMAT, wanted);
    ok = gst_base_src_set_caps(GST_BASE_SRC(self), wanted);
  }
  if (current) gst_caps_unref(current);
  gst_caps_unref(wanted);
  self->src->track_caps_set = ok;
  return ok;
}

// The pipeline clock as read once per create(), to stamp each frame with its arrival.
struct ClockReading {
  bool valid = false;  // no clock yet: no PTS
  GstClockTime now = 0, base_time = 0;
  int64_t monotonic_us = 0;  // g_get_monotonic_time() at `now`
};

static ClockReading lkdsrc_read_clock(GstLiveKitDataSrc* self) {
  ClockReading r;
  GstClock* clock = gst_element_get_clock(GST_ELEMENT(self));
  if (!clock) return r;
  r.valid = true;
  r.now = gst_clock_get_time(clock);
  r.monotonic_us = g_get_monotonic_time();
  gst_object_unref(clock);
  r.base_time = gst_element_get_base_time(GST_ELEMENT(self));
  return r;
}

// The running time when the frame arrived (it may have waited in the queue).
static GstClockTime lkdsrc_arrival_running_time(const ClockReading& r, const lk::room::ReceivedFrame& frame) {
  if (!r.valid) return GST_CLOCK_TIME_NONE;
  const int64_t waited_us = std::max<int64_t>(0, r.monotonic_us - frame.arrival_monotonic_us);
  const GstClockTime waited = std::min<GstClockTime>(r.now, GstClockTime(waited_us) * GST_USECOND);
  const GstClockTime at = r.now - waited;
  return at > r.base_time ? at - r.base_time : 0;
}

// timestamp-mode=sender: the sender's UNIX time as running time, through the
// offset between real time and this pipeline's running time. The offset is
// measured at every frame but adopted only when it moved by more than a
// millisecond (a pause, a step of either clock, drift): until then
// consecutive PTS keep the sender's spacing exactly. NONE without a clock.
static GstClockTime lkdsrc_sender_running_time(GstLiveKitDataSrc* self, uint64_t user_timestamp_ms) {
  GstClock* clock = gst_element_get_clock(GST_ELEMENT(self));
  if (!clock) return GST_CLOCK_TIME_NONE;
  // Real time read on both sides of the clock: a thread preempted in between
  // would measure a false offset, so a wide bracket is read again.
  GstClockTime now = 0;
  int64_t before_us = 0, after_us = 0;
  for (int attempt = 0; attempt < 4; ++attempt) {
    before_us = g_get_real_time();
    now = gst_clock_get_time(clock);
    after_us = g_get_real_time();
    if (after_us - before_us <= 100) break;
  }
  gst_object_unref(clock);
  const int64_t real_ns = (before_us + after_us) / 2 * int64_t(GST_USECOND);
  const GstClockTimeDiff running = GstClockTimeDiff(now) - GstClockTimeDiff(gst_element_get_base_time(GST_ELEMENT(self)));
  const GstClockTimeDiff offset = real_ns - running;
  auto& adopted = self->src->realtime_offset;
  if (!adopted || std::llabs(offset - *adopted) > GstClockTimeDiff(GST_MSECOND)) {
    GST_DEBUG_OBJECT(self, "real time - running time: %" G_GINT64_FORMAT " ns", offset);
    adopted = offset;
  }
  const GstClockTimeDiff at = GstClockTimeDiff(user_timestamp_ms * GST_MSECOND) - *adopted;
  if (at < 0) {
    GST_LOG_OBJECT(self, "sender time %" G_GUINT64_FORMAT " ms is before this pipeline started: PTS 0",
                   user_timestamp_ms);
    return 0;
  }
  return GstClockTime(at);
}

static GstBuffer* lkdsrc_wrap(lk::room::ReceivedFrame& frame) {
  if (frame.payload.empty()) return gst_buffer_new();
  // The buffer owns the frame's bytes: no copy.
  auto* bytes = new std::vector<uint8_t>(std::move(frame.payload));
  return gst_buffer_new_wrapped_full(GST_MEMORY_FLAG_READONLY, bytes->data(), bytes->size(), 0, bytes->size(), bytes,
                                     [](gpointer p) { delete static_cast<std::vector<uint8_t>*>(p); });
}

// on-unpublished=wait: after the track was unpublished or its publisher left,
// subscribes again for the same participant and track name; true when it did.
static bool lkdsrc_wait_again(GstLiveKitDataSrc* self, const std::shared_ptr<lk::room::DataTrackSubscription>& sub) {
  using lk::room::SubscriptionEnd;
  Src& s = *self->src;
  GST_OBJECT_LOCK(self);
  const bool wait = s.on_unpublished == OnUnpublished::Wait;
  GST_OBJECT_UNLOCK(self);
  if (!wait || (sub->end() != SubscriptionEnd::Unpublished && sub->end() != SubscriptionEnd::PublisherLeft)) {
    return false;
  }
  GST_INFO_OBJECT(self, "%s: waiting for it to be published again", lk::room::to_string(sub->end()));
  sub->close();
  GST_OBJECT_LOCK(self);
  add_stats(s.ended_stats, sub->stats());
  s.subscription.reset();
  GST_OBJECT_UNLOCK(self);
  lkdsrc_subscribe(self);
  s.discont = true;
  return true;
}

// Why the subscription ended, as the flow return (and error) it means.
static GstFlowReturn lkdsrc_ended(GstLiveKitDataSrc* self, const lk::room::DataTrackSubscription& sub,
                                  const lk::Error& error) {
  using lk::room::SubscriptionEnd;
  switch (sub.end()) {
    case SubscriptionEnd::Unpublished:
    case SubscriptionEnd::PublisherLeft:
      GST_INFO_OBJECT(self, "%s: end of stream", error.message.c_str());
      return GST_FLOW_EOS;
    case SubscriptionEnd::NeverPublished: {
      GST_OBJECT_LOCK(self);
      const int waited = self->src->wait_timeout_ms;
      GST_OBJECT_UNLOCK(self);
      LKGST_ERROR(self, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
                  error.message + " (waited " + std::to_string(waited) +
                      " ms): check 'participant' and 'track-name', or raise 'wait-timeout'",
                  "");
      return GST_FLOW_ERROR;
    }
    case SubscriptionEnd::Closed:
      return GST_FLOW_FLUSHING;
    case SubscriptionEnd::KeyMissing:
    case SubscriptionEnd::NotEncrypted:
      LKGST_ERROR(self, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
                  error.message + (sub.end() == SubscriptionEnd::KeyMissing
                                       ? ": set 'e2ee-passphrase' or 'e2ee-key-file' to the publisher's"
                                       : ": unset 'e2ee-passphrase' and 'e2ee-key-file'"),
                  "");
      return GST_FLOW_ERROR;
    case SubscriptionEnd::Disconnected:
      lkgst::post_data_path_error(GST_ELEMENT(self), *self->src->room, GST_RESOURCE_ERROR_READ, error);
      return GST_FLOW_ERROR;
    default:
      LKGST_ERROR(self, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_READ, error.message, "");
      return GST_FLOW_ERROR;
  }
}

// One frame as one buffer: PTS, DISCONT and the sender's timestamp as meta.
static GstBuffer* lkdsrc_frame_buffer(GstLiveKitDataSrc* self, lk::room::ReceivedFrame& frame, TimestampMode mode,
                                      const ClockReading& clock) {
  Src& s = *self->src;
  // A user timestamp that fits in nanoseconds (UNIX ms as the SDKs send it).
  const bool unix_time = frame.user_timestamp && *frame.user_timestamp <= G_MAXUINT64 / GST_MSECOND;
  GstBuffer* buffer = lkdsrc_wrap(frame);
  if (mode == TimestampMode::Sender && unix_time) {
    GST_BUFFER_PTS(buffer) = lkdsrc_sender_running_time(self, *frame.user_timestamp);
  } else {
    // Arrivals are in microseconds and each create() reads the clock anew:
    // frames a microsecond apart could come out a few ns out of order.
    GstClockTime pts = lkdsrc_arrival_running_time(clock, frame);
    if (GST_CLOCK_TIME_IS_VALID(pts) && GST_CLOCK_TIME_IS_VALID(s.last_arrival_pts)) {
      pts = std::max(pts, s.last_arrival_pts);
    }
    GST_BUFFER_PTS(buffer) = s.last_arrival_pts = pts;
  }
  // Frame numbers count up by one per frame at the publisher: a jump means
  // frames lost on the way or dropped from a full queue.
  if (s.last_frame_number && frame.frame_number != uint16_t(*s.last_frame_number + 1)) {
    GST_DEBUG_OBJECT(self, "frames %u..%u missing", uint16_t(*s.last_frame_number + 1),
                     uint16_t(frame.frame_number - 1));
    GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_DISCONT);
  }
  if (s.discont || frame.after_gap) {
    GST_DEBUG_OBJECT(self, "the first frame %s", s.discont ? "of the track published again" : "after a reconnect");
    GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_DISCONT);
    s.discont = false;
  }
  s.last_frame_number = frame.frame_number;
  // The sender's user timestamp, as UNIX epoch milliseconds (the SDKs' convention).
  if (unix_time) {
    gst_buffer_add_reference_timestamp_meta(buffer, lkgst::unix_reference_caps(), *frame.user_timestamp * GST_MSECOND,
                                            GST_CLOCK_TIME_NONE);
  }
  return buffer;
}

// num-buffers counts buffers, where GstBaseSrc counts create() calls (this
// one already): a list takes no more than are left, and counts the rest.
static size_t lkdsrc_list_frames(GstLiveKitDataSrc* self) {
  GST_OBJECT_LOCK(self);
  const bool lists = self->src->buffer_lists;
  GST_OBJECT_UNLOCK(self);
  if (!lists) return 1;
  const gint left = GST_BASE_SRC(self)->num_buffers_left;
  return left >= 0 ? std::min(kMaxListFrames, size_t(left) + 1) : kMaxListFrames;
}
static void lkdsrc_count_list(GstLiveKitDataSrc* self, size_t buffers) {
  gint& left = GST_BASE_SRC(self)->num_buffers_left;
  if (left >= 0) left -= gint(buffers - 1);
}

// The frames waiting (one, or with buffer-lists kMaxListFrames and
// kMaxListBytes at most): one as a buffer, more as one buffer list, each
// still its own buffer.
static GstFlowReturn lkdsrc_create(GstPushSrc* push, GstBuffer** out) {
  auto* self = GST_LIVEKIT_DATA_SRC(push);
  Src& s = *self->src;
  std::shared_ptr<lk::room::DataTrackSubscription> subscription;
  lk::Result<void> read = lk::make_error(lk::ErrorKind::Cancelled, "");
  do {
    GST_OBJECT_LOCK(self);
    subscription = s.subscription;
    GST_OBJECT_UNLOCK(self);
    if (!subscription) return GST_FLOW_FLUSHING;
    read = subscription->read_batch(-1, lkdsrc_list_frames(self), kMaxListBytes, s.batch);  // woken by unlock
    if (!read && read.error().kind == lk::ErrorKind::Cancelled) return GST_FLOW_FLUSHING;
  } while (!read && lkdsrc_wait_again(self, subscription));
  if (!read) return lkdsrc_ended(self, *subscription, read.error());
  if (!lkdsrc_negotiate_track_caps(self, *subscription)) {
    s.batch.clear();
    return GST_FLOW_NOT_NEGOTIATED;
  }

  GST_OBJECT_LOCK(self);
  const TimestampMode timestamp_mode = s.timestamp_mode;
  GST_OBJECT_UNLOCK(self);
  const ClockReading clock = lkdsrc_read_clock(self);
  if (s.batch.size() == 1) {
    *out = lkdsrc_frame_buffer(self, s.batch.front(), timestamp_mode, clock);
  } else {
    GstBufferList* list = gst_buffer_list_new_sized(guint(s.batch.size()));
    for (auto& frame : s.batch) gst_buffer_list_add(list, lkdsrc_frame_buffer(self, frame, timestamp_mode, clock));
    gst_base_src_submit_buffer_list(GST_BASE_SRC(self), list);  // create() then returns no buffer
    lkdsrc_count_list(self, s.batch.size());
    *out = nullptr;
  }
  s.batch.clear();
  return GST_FLOW_OK;
}
