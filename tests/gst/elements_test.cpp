// livekitdatasink and livekitdatasrc in pipelines, loaded from the built
// plugin (GST_PLUGIN_PATH). Three groups, one meson test per scenario:
//   ElementTest  no server, no network;
//   NetTest      no server, inside scripts/netns-run.sh;
//   ServerTest   a LiveKit server started per test (LKT_SERVER=livekit: the
//                real livekit-server 1.13.5; sfu: the bundled test server),
//                inside scripts/netns-run.sh; the binary exits 77 (skipped)
//                when that server cannot run here.
// The binary never links lib/: everything goes through the elements.
#include <gst/app/app.h>
#include <gst/gst.h>
#include <glib/gstdio.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "payload.h"
// The README's C, as printed: its handler does not use every parameter.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "share_room_snippet.h"
#pragma GCC diagnostic pop
#include "test_server.h"

namespace {

using namespace std::chrono_literals;
using lk::test::TestServer;
using Clock = std::chrono::steady_clock;

// Deterministic bytes (tests/support/payload.h), size first as these tests read.
std::vector<uint8_t> pattern(size_t size, uint32_t seed) { return lk::test::pattern(seed, size); }

GstCaps* unix_caps() {
  static GstCaps* caps = gst_caps_new_empty_simple("timestamp/x-unix");
  return caps;
}

struct ErrorMessage {
  GQuark domain = 0;
  int code = 0;
  std::string text, debug;
};

// A parsed pipeline; elements looked up by name are released with it.
class Pipeline {
 public:
  explicit Pipeline(const std::string& description) {
    GError* error = nullptr;
    pipeline_ = gst_parse_launch(description.c_str(), &error);
    if (error) {
      ADD_FAILURE() << description << ": " << error->message;
      g_error_free(error);
    }
  }
  ~Pipeline() {
    if (!pipeline_) return;
    gst_element_set_state(pipeline_, GST_STATE_NULL);
    for (auto* e : looked_up_) gst_object_unref(e);
    gst_object_unref(pipeline_);
  }
  Pipeline(const Pipeline&) = delete;

  GstElement* operator[](const char* name) {
    GstElement* e = gst_bin_get_by_name(GST_BIN(pipeline_), name);
    if (e) looked_up_.push_back(e);
    return e;
  }
  GstStateChangeReturn set_state(GstState state) { return gst_element_set_state(pipeline_, state); }
  GstElement* element() { return pipeline_; }

  std::optional<ErrorMessage> wait_error(std::chrono::milliseconds timeout) {
    GstBus* bus = gst_element_get_bus(pipeline_);
    GstMessage* m = gst_bus_timed_pop_filtered(bus, timeout.count() * GST_MSECOND, GST_MESSAGE_ERROR);
    gst_object_unref(bus);
    if (!m) return std::nullopt;
    GError* error = nullptr;
    gchar* debug = nullptr;
    gst_message_parse_error(m, &error, &debug);
    ErrorMessage out{error->domain, error->code, error->message, debug ? debug : ""};
    g_error_free(error);
    g_free(debug);
    gst_message_unref(m);
    return out;
  }

 private:
  GstElement* pipeline_ = nullptr;
  std::vector<GstElement*> looked_up_;
};

GstStructure* stats_of(GstElement* e) {
  GstStructure* s = nullptr;
  g_object_get(e, "stats", &s, nullptr);
  return s;
}

uint64_t stat(GstElement* e, const char* field) {
  GstStructure* s = stats_of(e);
  guint64 v = 0;
  EXPECT_TRUE(gst_structure_get_uint64(s, field, &v)) << field;
  gst_structure_free(s);
  return v;
}

std::string string_property(gpointer object, const char* name) {
  gchar* v = nullptr;
  g_object_get(object, name, &v, nullptr);
  std::string out = v ? v : "";
  g_free(v);
  return out;
}

std::vector<uint8_t> bytes_of(GstSample* sample) {
  GstBuffer* b = gst_sample_get_buffer(sample);
  std::vector<uint8_t> out(gst_buffer_get_size(b));
  gst_buffer_extract(b, 0, out.data(), out.size());
  return out;
}

void push(GstElement* appsrc, const std::vector<uint8_t>& payload, std::optional<uint64_t> unix_ns = std::nullopt) {
  GstBuffer* b = gst_buffer_new_memdup(payload.data(), payload.size());
  if (unix_ns) gst_buffer_add_reference_timestamp_meta(b, unix_caps(), *unix_ns, GST_CLOCK_TIME_NONE);
  ASSERT_EQ(gst_app_src_push_buffer(GST_APP_SRC(appsrc), b), GST_FLOW_OK);
}

const std::vector<uint8_t> kWarmUp = {'w', 'a', 'r', 'm', '-', 'u', 'p'};

// Pushes small buffers until one comes out: the subscription is live end to
// end (a data track forwards only to subscribers the server has set up).
void warm_up(GstElement* in, GstElement* out) {
  bool arrived = false;
  for (int i = 0; i < 200 && !arrived; ++i) {
    push(in, kWarmUp);
    if (GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(out), 100 * GST_MSECOND)) {
      arrived = true;
      gst_sample_unref(s);
    }
  }
  ASSERT_TRUE(arrived) << "nothing came through in 20 s";
  while (GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(out), 300 * GST_MSECOND)) gst_sample_unref(s);
}

// Pushes `payload` until it comes out whole (data-track packets ride an
// unretransmitted channel and livekit-server drops some at the start of a
// burst: a lost frame is sent again, up to 5 times). The sample, or nullptr.
GstSample* deliver(GstElement* in, GstElement* out, const std::vector<uint8_t>& payload,
                   std::optional<uint64_t> unix_ns = std::nullopt) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    push(in, payload, unix_ns);
    const auto deadline = Clock::now() + (payload.size() > 100000 ? 8s : 3s);
    while (Clock::now() < deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(out), left.count() * GST_MSECOND);
      if (!s) break;
      if (bytes_of(s) == payload) return s;
      gst_sample_unref(s);  // a late warm-up or an earlier copy
    }
    std::cerr << "note: a frame of " << payload.size() << " B lost in transit; sent again\n";
  }
  return nullptr;
}

// Whether `payload` comes out of `appsink` within `timeout` (other samples skipped).
bool arrives(GstElement* appsink, const std::vector<uint8_t>& payload, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(appsink), left.count() * GST_MSECOND);
    if (!s) return false;
    const bool same = bytes_of(s) == payload;
    gst_sample_unref(s);
    if (same) return true;
  }
  return false;
}

// deliver() to several subscribers: pushes `payload` until every appsink of
// `outs` has had it whole (a frame lost on the way is sent again, up to 5 times).
bool deliver_to_all(GstElement* in, const std::vector<GstElement*>& outs, const std::vector<uint8_t>& payload) {
  std::vector<GstElement*> waiting = outs;
  for (int attempt = 0; attempt < 5 && !waiting.empty(); ++attempt) {
    if (attempt > 0) std::cerr << "note: a frame of " << payload.size() << " B lost in transit; sent again\n";
    push(in, payload);
    std::erase_if(waiting, [&](GstElement* out) { return arrives(out, payload, 3s); });
  }
  return waiting.empty();
}

// Frames of 1 B, 16 kB and 100 kB (seeds from `seed` on) delivered to every
// appsink of `outs`; stops at the first that never arrives (a failure naming
// `phase`). The frames, for count_arrived().
std::vector<std::vector<uint8_t>> deliver_frames(GstElement* in, const std::vector<GstElement*>& outs, uint32_t& seed,
                                                 const std::string& phase) {
  std::vector<std::vector<uint8_t>> sent;
  for (size_t size : {size_t(1), size_t(16000), size_t(100000)}) {
    sent.push_back(pattern(size, seed++));
    if (!deliver_to_all(in, outs, sent.back())) {
      ADD_FAILURE() << phase << ": a frame of " << size << " B never arrived";
      break;
    }
  }
  return sent;
}

// How many samples equal to one of `sent` reach `appsink` until 1.5 s of silence.
size_t count_arrived(GstElement* appsink, const std::vector<std::vector<uint8_t>>& sent) {
  size_t n = 0;
  while (GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(appsink), 1500 * GST_MSECOND)) {
    n += std::count(sent.begin(), sent.end(), bytes_of(s));
    gst_sample_unref(s);
  }
  return n;
}

// The running time of a pipeline now (its clock minus its base time).
GstClockTime running_time_of(GstElement* pipeline) {
  GstClock* clock = gst_element_get_clock(pipeline);
  if (!clock) return GST_CLOCK_TIME_NONE;
  const GstClockTime now = gst_clock_get_time(clock);
  gst_object_unref(clock);
  return now - gst_element_get_base_time(pipeline);
}

void drain(GstElement* appsink) {
  while (GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(appsink), 300 * GST_MSECOND)) gst_sample_unref(s);
}

// The PTS of each payload of `sent` that arrives (index -> PTS) until 1.5 s of silence.
std::map<size_t, GstClockTime> collect_pts(GstElement* appsink, const std::vector<std::vector<uint8_t>>& sent) {
  std::map<size_t, GstClockTime> out;
  while (GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(appsink), 1500 * GST_MSECOND)) {
    const auto bytes = bytes_of(s);
    for (size_t i = 0; i < sent.size(); ++i) {
      if (bytes == sent[i]) out[i] = GST_BUFFER_PTS(gst_sample_get_buffer(s));
    }
    gst_sample_unref(s);
  }
  return out;
}

bool wait_eos(GstElement* appsink, std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!gst_app_sink_is_eos(GST_APP_SINK(appsink)) && Clock::now() < deadline) {
    if (GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(appsink), 100 * GST_MSECOND)) gst_sample_unref(s);
  }
  return gst_app_sink_is_eos(GST_APP_SINK(appsink));
}

// ---------------------------------------------------------------------------
// No server

class ElementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"}) g_unsetenv(v);
  }
};

TEST_F(ElementTest, PropertiesHaveTheirDefaults) {
  GstElement* sink = gst_element_factory_make("livekitdatasink", nullptr);
  GstElement* src = gst_element_factory_make("livekitdatasrc", nullptr);
  ASSERT_TRUE(sink && src) << "the plugin did not load (GST_PLUGIN_PATH)";
  gst_object_ref_sink(sink);
  gst_object_ref_sink(src);
  for (GstElement* e : {sink, src}) {
    guint timeout = 0, reconnect_timeout = 0;
    gint signalling = -1;
    g_object_get(e, "connect-timeout", &timeout, "signalling", &signalling, "reconnect-timeout", &reconnect_timeout,
                 nullptr);
    EXPECT_EQ(timeout, 15000u);
    EXPECT_EQ(reconnect_timeout, 60000u);
    EXPECT_EQ(signalling, 0);  // auto
    for (const char* p : {"url", "api-key", "room", "identity", "participant-name", "ca-file", "participant-sid",
                          "track-name"}) {
      EXPECT_EQ(string_property(e, p), "") << p;
    }
    // Secrets are write-only.
    for (const char* p : {"token", "api-secret"}) {
      GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(e), p);
      ASSERT_TRUE(spec) << p;
      EXPECT_TRUE(spec->flags & G_PARAM_WRITABLE) << p;
      EXPECT_FALSE(spec->flags & G_PARAM_READABLE) << p;
    }
  }
  gboolean sync = TRUE, async = TRUE;
  gint mode = -1, back_pressure = -1;
  g_object_get(sink, "sync", &sync, "async", &async, "timestamp-mode", &mode, "back-pressure", &back_pressure,
               nullptr);
  EXPECT_FALSE(sync);
  EXPECT_FALSE(async);
  EXPECT_EQ(mode, 0);           // unix-ms
  EXPECT_EQ(back_pressure, 0);  // block
  guint linger = 0;
  g_object_get(sink, "eos-linger", &linger, nullptr);
  EXPECT_EQ(linger, 500u);
  for (const char* f : {"frames-sent", "bytes-sent", "dropped-back-pressure", "dropped-too-large", "queued-bytes"}) {
    EXPECT_EQ(stat(sink, f), 0u) << f;
  }

  gint wait = 0, src_mode = -1, on_unpublished = -1;
  guint partial = 0, queue = 0, queue_bytes = 0;
  gboolean buffer_lists = TRUE;
  GstCaps* caps = nullptr;
  g_object_get(src, "wait-timeout", &wait, "max-partial-frames", &partial, "queue-size", &queue, "queue-max-bytes",
               &queue_bytes, "caps", &caps, "timestamp-mode", &src_mode, "on-unpublished", &on_unpublished,
               "buffer-lists", &buffer_lists, nullptr);
  EXPECT_FALSE(buffer_lists);
  EXPECT_EQ(wait, -1);
  EXPECT_EQ(src_mode, 0);        // arrival
  EXPECT_EQ(on_unpublished, 0);  // eos
  EXPECT_EQ(partial, 1u);
  EXPECT_EQ(queue, 16384u);
  EXPECT_EQ(queue_bytes, 64u << 20);
  EXPECT_EQ(caps, nullptr);
  EXPECT_TRUE(gst_base_src_is_live(GST_BASE_SRC(src)));
  EXPECT_FALSE(gst_base_src_get_do_timestamp(GST_BASE_SRC(src)));
  for (const char* f :
       {"frames-received", "bytes-received", "dropped-queue-overflow", "dropped-reassembly", "frames-missing"}) {
    EXPECT_EQ(stat(src, f), 0u) << f;
  }
  gst_object_unref(sink);
  gst_object_unref(src);
}

TEST_F(ElementTest, AMissingUrlFailsTheStateChangeNamingTheProperty) {
  Pipeline p("fakesrc ! livekitdatasink api-key=k api-secret=s room=r identity=i track-name=t");
  EXPECT_EQ(p.set_state(GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  auto error = p.wait_error(1s);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->domain, GST_RESOURCE_ERROR);
  EXPECT_EQ(error->code, GST_RESOURCE_ERROR_SETTINGS);
  EXPECT_NE(error->text.find("'url'"), std::string::npos) << error->text;
  EXPECT_NE(error->text.find("LIVEKIT_URL"), std::string::npos) << error->text;
}

// Records "ELEMENT TYPE" for each need-context on a bus, and answers a
// "livekit.room" one with `answer` when set.
struct ContextRequests {
  std::vector<std::string> asked;
  GstContext* answer = nullptr;

  static GstBusSyncReply record(GstBus*, GstMessage* m, gpointer data) {
    auto* self = static_cast<ContextRequests*>(data);
    const gchar* type = nullptr;
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_NEED_CONTEXT && gst_message_parse_context_type(m, &type)) {
      self->asked.push_back(std::string(GST_MESSAGE_SRC_NAME(m)) + " " + type);
      if (self->answer) gst_element_set_context(GST_ELEMENT(GST_MESSAGE_SRC(m)), self->answer);
    }
    return GST_BUS_PASS;
  }
};

TEST_F(ElementTest, AnElementWithoutSettingsAsksForALiveKitRoomContext) {
  // An answer of the right type without a connection in it is no connection.
  GstContext* empty = gst_context_new("livekit.room", FALSE);
  for (GstContext* answer : {static_cast<GstContext*>(nullptr), empty}) {
    for (const std::string element : {"sink", "src"}) {
      SCOPED_TRACE(element + (answer ? ", answered with an empty context" : ", not answered"));
      Pipeline p(element == "sink" ? "fakesrc ! livekitdatasink name=e track-name=t"
                                   : "livekitdatasrc name=e participant=p track-name=t ! fakesink");
      ContextRequests requests;
      requests.answer = answer;
      GstBus* bus = gst_element_get_bus(p.element());
      gst_bus_set_sync_handler(bus, ContextRequests::record, &requests, nullptr);
      EXPECT_EQ(p.set_state(GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
      gst_bus_set_sync_handler(bus, nullptr, nullptr, nullptr);
      gst_object_unref(bus);
      EXPECT_EQ(requests.asked, std::vector<std::string>{"e livekit.room"});
      auto error = p.wait_error(1s);
      ASSERT_TRUE(error);
      EXPECT_EQ(error->code, GST_RESOURCE_ERROR_SETTINGS);
      EXPECT_NE(error->text.find("'url'"), std::string::npos) << error->text;
    }
  }
  gst_context_unref(empty);
}

TEST_F(ElementTest, AMissingTrackNameFailsTheStateChangeNamingTheProperty) {
  Pipeline sink("fakesrc ! livekitdatasink url=ws://127.0.0.1:9 api-key=k api-secret=s room=r identity=i");
  EXPECT_EQ(sink.set_state(GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  auto error = sink.wait_error(1s);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, GST_RESOURCE_ERROR_SETTINGS);
  EXPECT_NE(error->text.find("'track-name'"), std::string::npos) << error->text;

  Pipeline src("livekitdatasrc url=ws://127.0.0.1:9 api-key=k api-secret=s room=r identity=i ! fakesink");
  EXPECT_EQ(src.set_state(GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  error = src.wait_error(1s);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, GST_RESOURCE_ERROR_SETTINGS);
  EXPECT_NE(error->text.find("'participant'"), std::string::npos) << error->text;
}

TEST_F(ElementTest, E2eeSettingsAreCheckedAtStartNamingTheProperty) {
  // The passphrase is a secret: it can be set, never read back.
  GstElement* sink = gst_element_factory_make("livekitdatasink", nullptr);
  GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(sink), "e2ee-passphrase");
  ASSERT_TRUE(spec);
  EXPECT_FALSE(spec->flags & G_PARAM_READABLE);
  gst_object_unref(sink);

  gchar* empty_file = nullptr;
  const int fd = g_file_open_tmp("lkt-empty-key-XXXXXX", &empty_file, nullptr);
  ASSERT_GE(fd, 0);
  close(fd);
  const std::string connection = " url=ws://127.0.0.1:9 api-key=k api-secret=s room=r identity=i";
  const std::pair<std::string, std::string> cases[] = {
      {"e2ee-passphrase=x e2ee-key-file=/dev/null", "not both"},
      {"e2ee-key-file=/nonexistent/key", "e2ee-key-file"},
      {std::string("e2ee-key-file=") + empty_file, "is empty"},
      {"e2ee-key-index=2 e2ee-passphrase=x e2ee-key-file=/dev/null", "not both (e2ee-key-index 2)"},
      // The key goes to the index set before it: index 3 has none.
      {"e2ee-passphrase=x e2ee-key-index=3", "no E2EE key at e2ee-key-index 3"},
  };
  for (const auto& [props, says] : cases) {
    for (bool is_sink : {true, false}) {
      SCOPED_TRACE(props + (is_sink ? " (sink)" : " (src)"));
      Pipeline p(is_sink ? "fakesrc ! livekitdatasink track-name=t " + props + connection
                         : "livekitdatasrc participant=p track-name=t " + props + connection + " ! fakesink");
      EXPECT_EQ(p.set_state(GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
      auto error = p.wait_error(1s);
      ASSERT_TRUE(error);
      EXPECT_EQ(error->code, GST_RESOURCE_ERROR_SETTINGS);
      EXPECT_NE(error->text.find(says), std::string::npos) << error->text;
    }
  }
  g_unlink(empty_file);
  g_free(empty_file);
}

TEST_F(ElementTest, E2eeKeyIndexAndRatchetKeyAreThereToRotate) {
  for (const char* factory : {"livekitdatasink", "livekitdatasrc"}) {
    SCOPED_TRACE(factory);
    GstElement* e = gst_element_factory_make(factory, nullptr);
    ASSERT_TRUE(e);
    gst_object_ref_sink(e);
    auto* spec = G_PARAM_SPEC_UINT(g_object_class_find_property(G_OBJECT_GET_CLASS(e), "e2ee-key-index"));
    ASSERT_TRUE(spec);
    EXPECT_EQ(spec->default_value, 0u);
    EXPECT_EQ(spec->minimum, 0u);
    EXPECT_EQ(spec->maximum, 15u);  // livekit-client's key ring: 16 slots
    for (const char* p : {"e2ee-passphrase", "e2ee-key-file", "e2ee-key-index"}) {
      EXPECT_TRUE(g_object_class_find_property(G_OBJECT_GET_CLASS(e), p)->flags & GST_PARAM_MUTABLE_PLAYING) << p;
    }
    // Each index keeps its own key: e2ee-key-file reads the current index's.
    g_object_set(e, "e2ee-key-file", "/keys/zero", "e2ee-key-index", 7u, nullptr);
    guint index = 0;
    g_object_get(e, "e2ee-key-index", &index, nullptr);
    EXPECT_EQ(index, 7u);
    EXPECT_EQ(string_property(e, "e2ee-key-file"), "");
    g_object_set(e, "e2ee-key-index", 0u, nullptr);
    EXPECT_EQ(string_property(e, "e2ee-key-file"), "/keys/zero");
    gst_object_unref(e);
  }
  // Stopped, the sink has no key to ratchet, passphrase or not: FALSE.
  GstElement* sink = gst_element_factory_make("livekitdatasink", nullptr);
  gst_object_ref_sink(sink);
  g_object_set(sink, "e2ee-passphrase", "p", nullptr);
  gboolean ratcheted = TRUE;
  g_signal_emit_by_name(sink, "ratchet-key", &ratcheted);
  EXPECT_FALSE(ratcheted);
  gst_object_unref(sink);
}

// The element a URI makes, or nullptr with the error's code and message.
GstElement* from_uri(GstURIType type, const std::string& uri, GError** error = nullptr) {
  GstElement* e = gst_element_make_from_uri(type, uri.c_str(), nullptr, error);
  if (e) gst_object_ref_sink(e);
  return e;
}

std::string factory_of(GstElement* e) {
  return GST_OBJECT_NAME(gst_element_get_factory(e));
}

std::string uri_of(GstElement* e) {
  gchar* uri = gst_uri_handler_get_uri(GST_URI_HANDLER(e));
  std::string out = uri ? uri : "";
  g_free(uri);
  return out;
}

TEST_F(ElementTest, AUriConfiguresTheSrcAndTheSink) {
  const std::string src_uri = "livekit://10.99.0.1:7880/demo/telemetry?participant=robot&identity=viewer";
  GError* error = nullptr;
  GstElement* src = from_uri(GST_URI_SRC, src_uri, &error);
  ASSERT_TRUE(src) << (error ? error->message : "no element");
  EXPECT_EQ(factory_of(src), "livekitdatasrc");
  EXPECT_EQ(string_property(src, "url"), "ws://10.99.0.1:7880");
  EXPECT_EQ(string_property(src, "room"), "demo");
  EXPECT_EQ(string_property(src, "track-name"), "telemetry");
  EXPECT_EQ(string_property(src, "participant"), "robot");
  EXPECT_EQ(string_property(src, "identity"), "viewer");
  EXPECT_EQ(uri_of(src), src_uri);
  gst_object_unref(src);

  GstElement* sink = from_uri(GST_URI_SINK, "livekits://lk.example.com/demo/telemetry?identity=robot", &error);
  ASSERT_TRUE(sink) << (error ? error->message : "no element");
  EXPECT_EQ(factory_of(sink), "livekitdatasink");
  EXPECT_EQ(string_property(sink, "url"), "wss://lk.example.com");
  EXPECT_EQ(string_property(sink, "room"), "demo");
  EXPECT_EQ(string_property(sink, "track-name"), "telemetry");
  EXPECT_EQ(string_property(sink, "identity"), "robot");
  EXPECT_EQ(uri_of(sink), "livekits://lk.example.com/demo/telemetry?identity=robot");
  // Without identity the property stays as it was; percent-encoding both ways; IPv6.
  g_object_set(sink, "identity", "kept", nullptr);
  ASSERT_TRUE(gst_uri_handler_set_uri(GST_URI_HANDLER(sink), "livekit://[::1]:7880/my%20room/a%2Fb", &error))
      << error->message;
  EXPECT_EQ(string_property(sink, "url"), "ws://[::1]:7880");
  EXPECT_EQ(string_property(sink, "room"), "my room");
  EXPECT_EQ(string_property(sink, "track-name"), "a/b");
  EXPECT_EQ(string_property(sink, "identity"), "kept");
  EXPECT_EQ(uri_of(sink), "livekit://[::1]:7880/my%20room/a%2Fb?identity=kept");
  // A url a URI cannot say (a path): no URI.
  g_object_set(sink, "url", "https://example.com/livekit", nullptr);
  EXPECT_EQ(uri_of(sink), "");
  gst_object_unref(sink);
}

TEST_F(ElementTest, AnInvalidUriIsRefusedWithAGErrorSayingWhy) {
  struct Case {
    GstURIType type;
    const char* uri;
    GstURIError code;
    const char* says;
  };
  const Case cases[] = {
      {GST_URI_SRC, "livekit:///demo/t?participant=p", GST_URI_ERROR_BAD_URI, "host"},
      {GST_URI_SRC, "livekit://h:7880/demo?participant=p", GST_URI_ERROR_BAD_URI, "/ROOM/TRACK"},
      {GST_URI_SRC, "livekit://h/demo/t/more?participant=p", GST_URI_ERROR_BAD_URI, "/ROOM/TRACK"},
      {GST_URI_SRC, "livekit://h//t?participant=p", GST_URI_ERROR_BAD_URI, "/ROOM/TRACK"},
      {GST_URI_SRC, "livekit://h/demo/t", GST_URI_ERROR_BAD_URI, "participant="},
      {GST_URI_SRC, "livekit://h/demo/t?participant=p&token=eyJsecret", GST_URI_ERROR_BAD_URI, "'token'"},
      {GST_URI_SRC, "livekit://me:pw@h/demo/t?participant=p", GST_URI_ERROR_BAD_URI, "properties"},
      {GST_URI_SINK, "livekit://h/demo/t?participant=p", GST_URI_ERROR_BAD_URI, "identity="},
      {GST_URI_SINK, "livekit://h/demo/t?identity=i&colour=blue", GST_URI_ERROR_BAD_URI, "'colour'"},
      {GST_URI_SINK, "livekit://h/de%ZZmo/t", GST_URI_ERROR_BAD_URI, "%-encoding"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.uri);
    GError* error = nullptr;
    GstElement* e = from_uri(c.type, c.uri, &error);
    EXPECT_FALSE(e);
    if (e) gst_object_unref(e);
    ASSERT_TRUE(error);
    EXPECT_EQ(error->domain, GST_URI_ERROR);
    EXPECT_EQ(error->code, c.code) << error->message;
    EXPECT_NE(std::string(error->message).find(c.says), std::string::npos) << error->message;
    EXPECT_EQ(std::string(error->message).find("eyJsecret"), std::string::npos) << "the query leaked";
    g_error_free(error);
  }
  // Another scheme, straight to the handler: not ours.
  GstElement* src = gst_element_factory_make("livekitdatasrc", nullptr);
  ASSERT_TRUE(src);
  gst_object_ref_sink(src);
  GError* error = nullptr;
  EXPECT_FALSE(gst_uri_handler_set_uri(GST_URI_HANDLER(src), "https://h/demo/t?participant=p", &error));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->domain, GST_URI_ERROR);
  EXPECT_EQ(error->code, GST_URI_ERROR_UNSUPPORTED_PROTOCOL) << error->message;
  g_error_free(error);
  EXPECT_EQ(string_property(src, "url"), "") << "a refused URI changed a property";
  gst_object_unref(src);
}

// ---------------------------------------------------------------------------
// No server, in a network namespace

class NetTest : public ElementTest {};

TEST_F(NetTest, AnUnreachableUrlFailsWithinTheConnectTimeout) {
  // 10.99.0.77 answers nothing in the namespace: only the connect timeout ends the wait.
  for (const char* element : {"sink", "src"}) {
    const std::string props = "url=ws://10.99.0.77:7880 api-key=k api-secret=s room=r identity=i connect-timeout=2000";
    const std::string description = std::string(element) == "sink"
                                        ? "fakesrc ! livekitdatasink track-name=t " + props
                                        : "livekitdatasrc participant=p track-name=t " + props + " ! fakesink";
    Pipeline p(description);
    const auto started = Clock::now();
    EXPECT_EQ(p.set_state(GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE) << element;
    EXPECT_LT(Clock::now() - started, 7s) << element;
    auto error = p.wait_error(1s);
    ASSERT_TRUE(error) << element;
    EXPECT_EQ(error->domain, GST_RESOURCE_ERROR);
    EXPECT_EQ(error->code, std::string(element) == "sink" ? GST_RESOURCE_ERROR_OPEN_WRITE : GST_RESOURCE_ERROR_OPEN_READ)
        << error->text;
    EXPECT_NE(error->debug.find("10.99.0.77"), std::string::npos) << error->debug;
  }
}

// ---------------------------------------------------------------------------
// With a server

class ServerTest : public ElementTest {
 protected:
  void SetUp() override {
    ElementTest::SetUp();
    auto started = TestServer::start();
    ASSERT_TRUE(started) << started.error().message;
    server_.emplace(std::move(*started));
  }
  void TearDown() override {
    if (HasFailure() && server_) std::cerr << "--- server log (tail) ---\n" << server_->log_tail() << std::endl;
  }

  std::string credentials() const {
    return "url=" + server_->url() + " api-key=" + TestServer::kApiKey + " api-secret=" + TestServer::kApiSecret;
  }
  std::string as(const std::string& identity) const {
    return credentials() + " room=" + room_ + " identity=" + identity + " connect-timeout=20000";
  }
  // appsrc ! livekitdatasink, publishing `track` as `identity`.
  std::string sender(const std::string& identity, const std::string& track, const std::string& caps = "",
                     const std::string& extra = "") const {
    return "appsrc name=in is-live=true format=time do-timestamp=true" + (caps.empty() ? "" : " caps=\"" + caps + "\"") +
           " ! livekitdatasink name=sink track-name=" + track + " " + as(identity) + " " + extra;
  }
  // livekitdatasrc ! appsink, subscribing to `publisher`'s `track` as `identity`.
  std::string receiver(const std::string& identity, const std::string& publisher, const std::string& track,
                       const std::string& extra = "", const std::string& sink_extra = "") const {
    return "livekitdatasrc name=src participant=" + publisher + " track-name=" + track + " " + as(identity) + " " +
           extra + " ! appsink name=out sync=false " + sink_extra;
  }

  // The publisher and two subscribers PLAYING, both subscriptions live end to end.
  void start_live(Pipeline& tx, Pipeline& first, Pipeline& second) {
    for (Pipeline* p : {&first, &second, &tx}) ASSERT_NE(p->set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    warm_up(tx["in"], first["out"]);
    warm_up(tx["in"], second["out"]);
    drain(first["out"]);
  }

  // Alice's sink to bob's src, then the test server's fault `kind` to bob (below).
  GstSample* across_fault_to_the_src(const std::string& kind, const std::string& back, std::vector<std::string>& texts,
                                     std::string& sid_before, std::string& sid_after);

  std::string room_ = "room-" + std::to_string(g_get_real_time());
  std::optional<TestServer> server_;
};

TEST_F(ServerTest, BuffersArriveByteExactWithCapsAndTimestamps) {
  Pipeline rx(receiver("bob", "alice", "telemetry"));
  Pipeline tx(sender("alice", "telemetry", "application/json"));
  ASSERT_NE(rx.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  ASSERT_NE(tx.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  GstElement* in = tx["in"];
  GstElement* out = rx["out"];
  warm_up(in, out);
  ASSERT_FALSE(HasFailure());

  const uint64_t sent_unix_ns = 1700000000123456789ull;  // carried as milliseconds
  uint32_t seed = 1;
  for (size_t size : {size_t(1), size_t(15987), size_t(16000), size_t(65536), size_t(1 << 20)}) {
    const auto payload = pattern(size, seed++);
    const bool with_meta = size == 1;
    GstSample* sample = deliver(in, out, payload, with_meta ? std::optional(sent_unix_ns) : std::nullopt);
    ASSERT_TRUE(sample) << "a frame of " << size << " B never arrived";
    GstCaps* caps = gst_sample_get_caps(sample);
    ASSERT_TRUE(caps);
    EXPECT_STREQ(gst_structure_get_name(gst_caps_get_structure(caps, 0)), "application/json");
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    EXPECT_TRUE(GST_BUFFER_PTS_IS_VALID(buffer));
    auto* meta = gst_buffer_get_reference_timestamp_meta(buffer, unix_caps());
    ASSERT_TRUE(meta) << "no timestamp/x-unix meta on a frame of " << size << " B";
    if (with_meta) {
      EXPECT_EQ(meta->timestamp, 1700000000123000000ull);
    } else {  // running time mapped to real time at the sender: now, give or take
      const int64_t now_ns = g_get_real_time() * 1000;
      EXPECT_LT(std::llabs(int64_t(meta->timestamp) - now_ns), int64_t(30 * GST_SECOND));
    }
    gst_sample_unref(sample);
  }
  EXPECT_GE(stat(tx["sink"], "frames-sent"), 5u);
  EXPECT_GE(stat(tx["sink"], "bytes-sent"), size_t(1 << 20));
  EXPECT_GE(stat(rx["src"], "frames-received"), 5u);

  // The end of the stream unpublishes the track: the subscriber ends too.
  ASSERT_EQ(gst_app_src_end_of_stream(GST_APP_SRC(in)), GST_FLOW_OK);
  EXPECT_TRUE(wait_eos(out, 15s)) << "no EOS after the publisher's EOS";
}

TEST_F(ServerTest, BothElementsWorkAgainAfterGoingToNullAndBack) {
  Pipeline rx(receiver("bob", "alice", "telemetry"));
  Pipeline tx(sender("alice", "telemetry"));
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    ASSERT_NE(rx.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    ASSERT_NE(tx.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    warm_up(tx["in"], rx["out"]);
    ASSERT_FALSE(HasFailure());
    GstSample* sample = deliver(tx["in"], rx["out"], pattern(300, round));
    EXPECT_TRUE(sample);
    if (sample) gst_sample_unref(sample);
    ASSERT_EQ(tx.set_state(GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
    ASSERT_EQ(rx.set_state(GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
    EXPECT_EQ(string_property(tx["sink"], "participant-sid"), "");
  }
}

TEST_F(ServerTest, TimestampModePtsSendsThePtsAndNoneSendsNothing) {
  for (const char* mode : {"pts", "none"}) {
    SCOPED_TRACE(mode);
    const std::string track = std::string("ts-") + mode;
    Pipeline rx(receiver("bob", "alice", track));
    Pipeline tx(sender("alice", track, "", std::string("timestamp-mode=") + mode));
    ASSERT_NE(rx.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    ASSERT_NE(tx.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    warm_up(tx["in"], rx["out"]);
    ASSERT_FALSE(HasFailure());
    // appsrc stamps running time (do-timestamp): a few seconds at most.
    GstSample* sample = deliver(tx["in"], rx["out"], pattern(64, 5));
    ASSERT_TRUE(sample);
    auto* meta = gst_buffer_get_reference_timestamp_meta(gst_sample_get_buffer(sample), unix_caps());
    if (std::string(mode) == "none") {
      EXPECT_FALSE(meta) << "a user timestamp was sent";
    } else {
      ASSERT_TRUE(meta);
      // The src reads every user timestamp as unix-ms: the PTS (ns) comes back times 10^6.
      const uint64_t pts_ns = meta->timestamp / GST_MSECOND;
      EXPECT_GT(pts_ns, 0u);
      EXPECT_LT(pts_ns, 120 * GST_SECOND);
    }
    gst_sample_unref(sample);
  }
}

TEST_F(ServerTest, TimestampModeSenderMapsTheSendersUnixTimeIntoThePipeline) {
  // One track, read by bob with the sender's clock and by carol at arrival;
  // a second track without user timestamps, read by bob with the sender's clock
  // (appsinks async=false: one branch waiting for its first buffer would hold
  // the pipeline in PAUSED).
  Pipeline by_sender(receiver("bob", "alice", "stamped", "timestamp-mode=sender", "async=false") + "  " +
                     "livekitdatasrc name=src2 participant=alice track-name=plain timestamp-mode=sender " + as("bob") +
                     " ! appsink name=out2 sync=false async=false");
  Pipeline at_arrival(receiver("carol", "alice", "stamped"));
  Pipeline tx(sender("alice", "stamped"));
  Pipeline tx_plain("appsrc name=in is-live=true format=time do-timestamp=true ! livekitdatasink "
                    "track-name=plain timestamp-mode=none " + as("alice"));
  for (Pipeline* p : {&by_sender, &at_arrival, &tx, &tx_plain}) {
    ASSERT_NE(p->set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  }
  GstElement* in = tx["in"];
  warm_up(in, by_sender["out"]);
  ASSERT_FALSE(HasFailure()) << "sender mode";
  warm_up(in, at_arrival["out"]);
  ASSERT_FALSE(HasFailure()) << "arrival mode";
  warm_up(tx_plain["in"], by_sender["out2"]);
  ASSERT_FALSE(HasFailure()) << "no user timestamps";
  drain(by_sender["out"]);

  // Sender times 10 s ahead of now, unevenly spaced; pushed 50 ms apart.
  const std::vector<uint64_t> offsets_ms = {0, 40, 1040, 1041, 1500, 3007};
  const uint64_t base_ms = uint64_t(g_get_real_time() / 1000) + 10000;
  const GstClockTime sender_before = running_time_of(by_sender.element());
  const GstClockTime arrival_before = running_time_of(at_arrival.element());
  std::vector<std::vector<uint8_t>> sent, sent_plain;
  for (size_t i = 0; i < offsets_ms.size(); ++i) {
    sent.push_back(pattern(32, uint32_t(i)));
    push(in, sent.back(), (base_ms + offsets_ms[i]) * GST_MSECOND);
    sent_plain.push_back(pattern(33, uint32_t(i)));
    push(tx_plain["in"], sent_plain.back());
    std::this_thread::sleep_for(50ms);
  }
  const auto got_sender = collect_pts(by_sender["out"], sent);
  const auto got_arrival = collect_pts(at_arrival["out"], sent);
  const auto got_plain = collect_pts(by_sender["out2"], sent_plain);
  const GstClockTime sender_after = running_time_of(by_sender.element());
  const GstClockTime arrival_after = running_time_of(at_arrival.element());
  ASSERT_GE(got_sender.size(), 3u);
  ASSERT_GE(got_arrival.size(), 3u);
  ASSERT_GE(got_plain.size(), 3u);

  // sender: the sender's spacing exactly, and where its clock says (10 s ahead).
  for (const auto& [i, pts] : got_sender) {
    for (const auto& [j, later] : got_sender) {
      if (j <= i) continue;
      EXPECT_EQ(GstClockTimeDiff(later - pts), GstClockTimeDiff((offsets_ms[j] - offsets_ms[i]) * GST_MSECOND))
          << "frames " << i << " and " << j;
    }
    const GstClockTime at_base = pts - offsets_ms[i] * GST_MSECOND;
    EXPECT_GT(at_base, sender_before + 9 * GST_SECOND) << "frame " << i;
    EXPECT_LT(at_base, sender_before + 11 * GST_SECOND) << "frame " << i;
  }
  // arrival (the default): when they came, whatever the sender's clock said.
  for (const auto& [i, pts] : got_arrival) {
    EXPECT_GE(pts, arrival_before) << "frame " << i;
    EXPECT_LE(pts, arrival_after) << "frame " << i;
  }
  // No user timestamp: arrival time even in sender mode.
  for (const auto& [i, pts] : got_plain) {
    EXPECT_GE(pts, sender_before) << "frame " << i;
    EXPECT_LE(pts, sender_after) << "frame " << i;
  }
}

TEST_F(ServerTest, OnUnpublishedWaitKeepsGoingUntilTheTrackComesBack) {
  // bob waits for the track to come back; carol (the default) ends at once.
  Pipeline waiting(receiver("bob", "alice", "telemetry", "on-unpublished=wait"));
  Pipeline ending(receiver("carol", "alice", "telemetry"));
  ASSERT_NE(waiting.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  ASSERT_NE(ending.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  GstElement* out = waiting["out"];
  {
    Pipeline tx(sender("alice", "telemetry"));
    ASSERT_NE(tx.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    warm_up(tx["in"], out);
    ASSERT_FALSE(HasFailure());
    GstSample* sample = deliver(tx["in"], out, pattern(100, 1));
    ASSERT_TRUE(sample);
    gst_sample_unref(sample);
    ASSERT_EQ(tx.set_state(GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);  // unpublishes, and alice leaves
  }
  const uint64_t received_before = stat(waiting["src"], "frames-received");
  EXPECT_TRUE(wait_eos(ending["out"], 15s)) << "the default (eos) did not end the stream";
  EXPECT_FALSE(wait_eos(out, 3s)) << "on-unpublished=wait ended the stream";
  EXPECT_FALSE(waiting.wait_error(0ms));
  GstState state = GST_STATE_VOID_PENDING;
  EXPECT_EQ(gst_element_get_state(waiting.element(), &state, nullptr, 0), GST_STATE_CHANGE_SUCCESS);
  EXPECT_EQ(state, GST_STATE_PLAYING);

  // alice publishes again, from a new pipeline (a new participant).
  Pipeline tx(sender("alice", "telemetry"));
  ASSERT_NE(tx.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  GstSample* first = nullptr;
  for (int i = 0; i < 200 && !first; ++i) {
    push(tx["in"], kWarmUp);
    first = gst_app_sink_try_pull_sample(GST_APP_SINK(out), 100 * GST_MSECOND);
  }
  ASSERT_TRUE(first) << "nothing came through after the track was published again";
  EXPECT_TRUE(GST_BUFFER_FLAG_IS_SET(gst_sample_get_buffer(first), GST_BUFFER_FLAG_DISCONT))
      << "the first buffer of the new publication is not DISCONT";
  gst_sample_unref(first);
  drain(out);
  GstSample* sample = deliver(tx["in"], out, pattern(100, 2));
  ASSERT_TRUE(sample);
  EXPECT_FALSE(GST_BUFFER_FLAG_IS_SET(gst_sample_get_buffer(sample), GST_BUFFER_FLAG_DISCONT));
  gst_sample_unref(sample);
  EXPECT_GT(stat(waiting["src"], "frames-received"), received_before) << "stats count both subscriptions";
  EXPECT_FALSE(gst_app_sink_is_eos(GST_APP_SINK(out)));
}

TEST_F(ServerTest, ARoundTripConfiguredOnlyByUris) {
  // Credentials from the environment; everything else from the URIs.
  g_setenv("LIVEKIT_API_KEY", TestServer::kApiKey, TRUE);
  g_setenv("LIVEKIT_API_SECRET", TestServer::kApiSecret, TRUE);
  const std::string host = server_->url().substr(server_->url().find("://") + 3);
  ASSERT_EQ(server_->url().rfind("ws://", 0), 0u) << server_->url();
  const std::string base = "livekit://" + host + "/" + room_ + "/telemetry";
  GError* error = nullptr;
  GstElement* src = from_uri(GST_URI_SRC, base + "?participant=alice&identity=bob", &error);
  ASSERT_TRUE(src) << error->message;
  GstElement* sink = from_uri(GST_URI_SINK, base + "?identity=alice", &error);
  ASSERT_TRUE(sink) << error->message;
  Pipeline rx("queue name=q ! appsink name=out sync=false");
  Pipeline tx("appsrc name=in is-live=true format=time do-timestamp=true ! queue name=q");
  gst_bin_add(GST_BIN(rx.element()), src);  // the bins take a reference of their own
  gst_bin_add(GST_BIN(tx.element()), sink);
  ASSERT_TRUE(gst_element_link(src, rx["q"]));
  ASSERT_TRUE(gst_element_link(tx["q"], sink));
  ASSERT_NE(rx.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  ASSERT_NE(tx.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  warm_up(tx["in"], rx["out"]);
  ASSERT_FALSE(HasFailure());
  GstSample* sample = deliver(tx["in"], rx["out"], pattern(5000, 3));
  ASSERT_TRUE(sample);
  gst_sample_unref(sample);
  EXPECT_NE(string_property(src, "participant-sid"), string_property(sink, "participant-sid"));
  // Running: the URI stays.
  EXPECT_FALSE(gst_uri_handler_set_uri(GST_URI_HANDLER(src), (base + "?participant=x").c_str(), &error));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, GST_URI_ERROR_BAD_STATE) << error->message;
  g_error_free(error);
  EXPECT_EQ(string_property(src, "participant"), "alice");
  gst_object_unref(src);
  gst_object_unref(sink);
}

TEST_F(ServerTest, TheSrcCapsFollowTheSinkCapsEncodingAndSchema) {
  struct Case {
    const char* sink_caps;  // "" = none (ANY)
    const char* extra;      // sink properties
    const char* src_caps;
  };
  const Case cases[] = {
      {"application/cbor", "", "application/cbor"},
      {"application/x-protobuf, schema=(string)telemetry.v1, schema-encoding=(string)protobuf", "",
       "application/x-protobuf, schema=(string)telemetry.v1, schema-encoding=(string)protobuf"},
      {"", "", "application/octet-stream"},
      {"text/plain", "frame-encoding=x-my-format",
       "application/octet-stream, frame-encoding=(string)x-my-format"},
      {"application/json", "frame-encoding=msgpack schema-name=sample", "application/x-msgpack, schema=(string)sample"},
  };
  int n = 0;
  for (const Case& c : cases) {
    const std::string track = "track" + std::to_string(n++);
    SCOPED_TRACE(track + ": " + c.sink_caps + " " + c.extra);
    Pipeline rx(receiver("bob", "alice", track));
    Pipeline tx(sender("alice", track, c.sink_caps, c.extra));
    ASSERT_NE(rx.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    ASSERT_NE(tx.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    GstElement* out = rx["out"];
    warm_up(tx["in"], out);
    ASSERT_FALSE(HasFailure());
    GstSample* sample = deliver(tx["in"], out, pattern(100, n));
    ASSERT_TRUE(sample);
    GstCaps* expected = gst_caps_from_string(c.src_caps);
    gchar* got = gst_caps_to_string(gst_sample_get_caps(sample));
    EXPECT_TRUE(gst_caps_is_equal(gst_sample_get_caps(sample), expected)) << got;
    g_free(got);
    gst_caps_unref(expected);
    gst_sample_unref(sample);
  }
  // The caps property overrides the track's.
  Pipeline rx(receiver("bob", "alice", "forced", "caps=\"text/x-forced\""));
  Pipeline tx(sender("alice", "forced", "application/json"));
  ASSERT_NE(rx.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  ASSERT_NE(tx.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  GstElement* out = rx["out"];
  warm_up(tx["in"], out);
  GstSample* sample = deliver(tx["in"], out, pattern(10, 99));
  ASSERT_TRUE(sample);
  EXPECT_STREQ(gst_structure_get_name(gst_caps_get_structure(gst_sample_get_caps(sample), 0)), "text/x-forced");
  gst_sample_unref(sample);
}

TEST_F(ServerTest, AGapInFrameNumbersMarksTheNextBufferDiscont) {
  // appsink holds one buffer and the src queue one frame: the rest overflow.
  Pipeline rx(receiver("bob", "alice", "telemetry", "queue-size=1", "max-buffers=1 drop=false"));
  Pipeline tx(sender("alice", "telemetry"));
  ASSERT_NE(rx.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  ASSERT_NE(tx.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  GstElement* in = tx["in"];
  GstElement* out = rx["out"];
  GstElement* src = rx["src"];
  warm_up(in, out);
  ASSERT_FALSE(HasFailure());
  for (int i = 0; i < 200 && stat(src, "dropped-queue-overflow") < 3; ++i) {
    push(in, pattern(1000, i));
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_GE(stat(src, "dropped-queue-overflow"), 3u);
  EXPECT_EQ(stat(src, "frames-missing"), 0u) << "frames dropped from the queue arrived: none is missing";
  std::this_thread::sleep_for(300ms);  // the last frame in
  // What is left: the buffer in appsink, the one the src holds, the frame
  // queued after the dropped ones, which must say DISCONT.
  GstBuffer* last = nullptr;
  while (GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(out), 500 * GST_MSECOND)) {
    if (last) gst_buffer_unref(last);
    last = gst_buffer_ref(gst_sample_get_buffer(s));
    gst_sample_unref(s);
  }
  ASSERT_TRUE(last);
  EXPECT_TRUE(GST_BUFFER_FLAG_IS_SET(last, GST_BUFFER_FLAG_DISCONT)) << "the buffer after dropped frames is not DISCONT";
  gst_buffer_unref(last);
}

TEST_F(ServerTest, ASinkAndASrcWithOneIdentityShareOneParticipant) {
  // alice publishes "a" and reads bob's "b" in one pipeline; bob the reverse.
  // Two joins as one identity would make the server drop the first
  // (duplicate identity): frames going both ways for a while and one
  // participant SID per pipeline show one connection.
  Pipeline alice(sender("alice", "a") + "  " + receiver("alice", "bob", "b"));
  Pipeline bob(sender("bob", "b") + "  " + receiver("bob", "alice", "a"));
  ASSERT_NE(alice.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  ASSERT_NE(bob.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  warm_up(alice["in"], bob["out"]);
  warm_up(bob["in"], alice["out"]);
  ASSERT_FALSE(HasFailure());
  const std::string alice_sid = string_property(alice["sink"], "participant-sid");
  EXPECT_EQ(alice_sid.rfind("PA_", 0), 0u) << alice_sid;
  EXPECT_EQ(string_property(alice["src"], "participant-sid"), alice_sid);
  const std::string bob_sid = string_property(bob["sink"], "participant-sid");
  EXPECT_EQ(string_property(bob["src"], "participant-sid"), bob_sid);
  EXPECT_NE(alice_sid, bob_sid);
  std::this_thread::sleep_for(2s);
  for (int i = 0; i < 2; ++i) {
    GstSample* s = deliver(i ? alice["in"] : bob["in"], i ? bob["out"] : alice["out"], pattern(500, i));
    EXPECT_TRUE(s) << "direction " << i << " stopped";
    if (s) gst_sample_unref(s);
  }
  EXPECT_FALSE(alice.wait_error(0ms));
  EXPECT_FALSE(bob.wait_error(0ms));
}

TEST_F(ServerTest, ABadTokenFailsTheStateChangeAsNotAuthorized) {
  for (const char* element : {"sink", "src"}) {
    const std::string props = "url=" + server_->url() + " api-key=devkey api-secret=not-the-server-secret room=" +
                              room_ + " identity=mallory";
    Pipeline p(std::string(element) == "sink" ? "fakesrc ! livekitdatasink track-name=t " + props
                                              : "livekitdatasrc participant=p track-name=t " + props + " ! fakesink");
    EXPECT_EQ(p.set_state(GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE) << element;
    auto error = p.wait_error(1s);
    ASSERT_TRUE(error) << element;
    EXPECT_EQ(error->domain, GST_RESOURCE_ERROR);
    EXPECT_EQ(error->code, GST_RESOURCE_ERROR_NOT_AUTHORIZED) << error->text;
    EXPECT_NE(error->text.find("401"), std::string::npos) << error->text;
    EXPECT_EQ(error->text.find("eyJ"), std::string::npos) << "the token leaked: " << error->text;
    EXPECT_EQ(error->debug.find("not-the-server-secret"), std::string::npos) << error->debug;
  }
}

TEST_F(ServerTest, AMissingTrackIsNotFoundAfterTheWaitTimeout) {
  Pipeline p("livekitdatasrc name=src participant=nobody track-name=telemetry wait-timeout=1500 " + as("bob") +
             " ! fakesink");
  ASSERT_NE(p.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  auto error = p.wait_error(15s);
  ASSERT_TRUE(error) << "no error after the wait";
  EXPECT_EQ(error->domain, GST_RESOURCE_ERROR);
  EXPECT_EQ(error->code, GST_RESOURCE_ERROR_NOT_FOUND) << error->text;
  EXPECT_NE(error->text.find("'wait-timeout'"), std::string::npos) << error->text;
  EXPECT_NE(error->text.find("nobody"), std::string::npos) << error->text;
}

TEST_F(ServerTest, EnvironmentVariablesStandInForUnsetProperties) {
  g_setenv("LIVEKIT_URL", server_->url().c_str(), TRUE);
  g_setenv("LIVEKIT_API_KEY", TestServer::kApiKey, TRUE);
  g_setenv("LIVEKIT_API_SECRET", TestServer::kApiSecret, TRUE);
  Pipeline p("appsrc ! livekitdatasink name=sink track-name=t room=" + room_ + " identity=alice");
  EXPECT_NE(p.set_state(GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  EXPECT_EQ(string_property(p["sink"], "participant-sid").rfind("PA_", 0), 0u);
  EXPECT_EQ(string_property(p["sink"], "url"), "") << "the property stays unset";
}

TEST_F(ServerTest, ConnectionPropertiesChangeOnlyInReadyOrBelow) {
  Pipeline p("livekitdatasrc name=src participant=nobody track-name=t " + as("bob") + " ! fakesink");
  ASSERT_NE(p.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  GstElement* src = p["src"];
  g_object_set(src, "room", "elsewhere", "track-name", "other", "connect-timeout", 5u, nullptr);
  EXPECT_EQ(string_property(src, "room"), room_);
  EXPECT_EQ(string_property(src, "track-name"), "t");
  guint timeout = 0;
  g_object_get(src, "connect-timeout", &timeout, nullptr);
  EXPECT_EQ(timeout, 20000u);
  ASSERT_EQ(p.set_state(GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
  g_object_set(src, "room", "elsewhere", nullptr);
  EXPECT_EQ(string_property(src, "room"), "elsewhere");
}

TEST_F(ServerTest, TheSrcIsLiveAndAWaitingSrcStopsAtOnce) {
  Pipeline p("livekitdatasrc name=src participant=nobody track-name=t " + as("bob") + " ! fakesink");
  EXPECT_EQ(p.set_state(GST_STATE_PAUSED), GST_STATE_CHANGE_NO_PREROLL);
  ASSERT_NE(p.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  GstQuery* latency = gst_query_new_latency();
  ASSERT_TRUE(gst_element_query(p["src"], latency));
  gboolean live = FALSE;
  GstClockTime min = 1, max = 0;
  gst_query_parse_latency(latency, &live, &min, &max);
  gst_query_unref(latency);
  EXPECT_TRUE(live);
  EXPECT_EQ(min, 0u);
  std::this_thread::sleep_for(500ms);  // create() is now blocked waiting for the track
  const auto started = Clock::now();
  EXPECT_EQ(p.set_state(GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  EXPECT_LT(Clock::now() - started, 3s);
}

TEST_F(ServerTest, ABlockedSinkStopsAtOnce) {
  Pipeline rx(receiver("bob", "alice", "telemetry"));
  Pipeline tx(sender("alice", "telemetry"));
  ASSERT_NE(rx.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  ASSERT_NE(tx.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  GstElement* sink = tx["sink"];
  warm_up(tx["in"], rx["out"]);
  ASSERT_FALSE(HasFailure());
  // A silent server stops acknowledging: the channel backs up past its high
  // watermark (1 MiB) and the sink blocks in push.
  server_->freeze(true);
  const auto big = pattern(1000 * 1000, 7);
  for (int i = 0; i < 8; ++i) push(tx["in"], big);
  const auto deadline = Clock::now() + 8s;
  uint64_t sent = 0;
  while (Clock::now() < deadline) {
    sent = stat(sink, "frames-sent");
    std::this_thread::sleep_for(500ms);
    if (stat(sink, "queued-bytes") > 1024 * 1024 && stat(sink, "frames-sent") == sent) break;
  }
  const uint64_t queued = stat(sink, "queued-bytes");
  const auto started = Clock::now();
  EXPECT_EQ(tx.set_state(GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  const auto took = Clock::now() - started;
  server_->freeze(false);
  EXPECT_GT(queued, 1024u * 1024u) << "the sink never backed up";
  EXPECT_LT(took, 3s) << "stopping a blocked sink took "
                      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
}

// Receiver and sender playing, a few frames through; returns the sink's frames
// accounted for so far (sent or dropped).
uint64_t play_warmed_up(Pipeline& rx, Pipeline& tx) {
  EXPECT_NE(rx.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  EXPECT_NE(tx.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  warm_up(tx["in"], rx["out"]);
  return stat(tx["sink"], "frames-sent") + stat(tx["sink"], "dropped-back-pressure");
}

TEST_F(ServerTest, DropNewDropsInsteadOfBlocking) {
  Pipeline rx(receiver("bob", "alice", "telemetry"));
  Pipeline tx(sender("alice", "telemetry", "", "back-pressure=drop-new"));
  GstElement* sink = tx["sink"];
  const uint64_t before = play_warmed_up(rx, tx);
  ASSERT_FALSE(HasFailure());
  server_->freeze(true);  // the channel backs up
  const auto big = pattern(1000 * 1000, 7);
  for (int i = 0; i < 8; ++i) push(tx["in"], big);
  const auto deadline = Clock::now() + 8s;
  while (stat(sink, "frames-sent") + stat(sink, "dropped-back-pressure") < before + 8 && Clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
  }
  const uint64_t dropped = stat(sink, "dropped-back-pressure");
  const uint64_t sent = stat(sink, "frames-sent");
  server_->freeze(false);
  EXPECT_GE(dropped, 1u);
  EXPECT_EQ(sent + dropped, before + 8) << "every buffer is either sent or dropped at once";
  EXPECT_FALSE(tx.wait_error(0ms));
}

TEST_F(ServerTest, DropOldEvictsTheOldestInsteadOfBlocking) {
  Pipeline rx(receiver("bob", "alice", "telemetry"));
  Pipeline tx(sender("alice", "telemetry", "", "back-pressure=drop-old"));
  GstElement* sink = tx["sink"];
  const uint64_t before = play_warmed_up(rx, tx);
  ASSERT_FALSE(HasFailure());
  server_->freeze(true);  // the channel backs up; newer buffers push older ones out of the backlog
  const auto big = pattern(1000 * 1000, 7);
  for (int i = 0; i < 8; ++i) push(tx["in"], big);
  auto deadline = Clock::now() + 8s;
  while (stat(sink, "dropped-back-pressure") == 0 && Clock::now() < deadline) std::this_thread::sleep_for(100ms);
  const uint64_t dropped = stat(sink, "dropped-back-pressure");
  server_->freeze(false);  // what is left in the backlog goes out
  deadline = Clock::now() + 10s;
  while (stat(sink, "frames-sent") + stat(sink, "dropped-back-pressure") < before + 8 && Clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_GE(dropped, 1u) << "nothing evicted while the server was stalled";
  EXPECT_EQ(stat(sink, "frames-sent") + stat(sink, "dropped-back-pressure"), before + 8)
      << "every buffer is sent or evicted";
  EXPECT_FALSE(tx.wait_error(0ms));
}

// `count` distinct payloads of size_of(index) >= 2 bytes, the index in the
// first two; frame i is sent with the UNIX time kFirstUnixMs + i.
std::vector<std::vector<uint8_t>> numbered_frames(size_t count, const std::function<size_t(size_t)>& size_of) {
  std::vector<std::vector<uint8_t>> out;
  for (size_t i = 0; i < count; ++i) {
    auto payload = pattern(size_of(i), uint32_t(i));
    payload[0] = uint8_t(i >> 8);
    payload[1] = uint8_t(i);
    out.push_back(std::move(payload));
  }
  return out;
}
constexpr uint64_t kFirstUnixMs = 1700000000000ull;

// Counts the buffer lists a pad pushes.
GstPadProbeReturn count_list(GstPad*, GstPadProbeInfo*, gpointer count) {
  ++*static_cast<std::atomic<int>*>(count);
  return GST_PAD_PROBE_OK;
}
GstPadProbeReturn hold(GstPad*, GstPadProbeInfo*, gpointer) { return GST_PAD_PROBE_OK; }

// Pulls what arrives until `count` frames came or 5 s of silence.
std::vector<GstBuffer*> pull_buffers(GstElement* appsink, size_t count) {
  std::vector<GstBuffer*> out;
  while (out.size() < count) {
    GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(appsink), 5 * GST_SECOND);
    if (!s) break;
    out.push_back(gst_buffer_ref(gst_sample_get_buffer(s)));
    gst_sample_unref(s);
  }
  return out;
}

// Each buffer is the frame of that index, whole, with the frame's own timestamp meta.
void expect_frames_in_order(const std::vector<GstBuffer*>& got, const std::vector<std::vector<uint8_t>>& sent) {
  ASSERT_EQ(got.size(), sent.size()) << "each frame must arrive as one buffer";
  for (size_t i = 0; i < got.size(); ++i) {
    std::vector<uint8_t> bytes(gst_buffer_get_size(got[i]));
    gst_buffer_extract(got[i], 0, bytes.data(), bytes.size());
    ASSERT_EQ(bytes, sent[i]) << "buffer " << i << " is not frame " << i << " (" << bytes.size() << " B)";
    auto* meta = gst_buffer_get_reference_timestamp_meta(got[i], unix_caps());
    ASSERT_TRUE(meta) << "buffer " << i;
    EXPECT_EQ(meta->timestamp, (kFirstUnixMs + i) * GST_MSECOND) << "buffer " << i;
    EXPECT_FALSE(GST_BUFFER_FLAG_IS_SET(got[i], GST_BUFFER_FLAG_DISCONT)) << "buffer " << i;
  }
}

// With buffer-lists the frames waiting in the src's queue leave as lists of
// one buffer per frame; by default one buffer per push, as downstream
// elements such as multifilesink treat a list as one unit.
TEST_F(ServerTest, FramesQueuedAtTheSrcLeaveAsListsOfOneBufferEach) {
  for (const bool lists : {false, true}) {
    SCOPED_TRACE(lists ? "buffer-lists=true" : "default");
    Pipeline rx(receiver("bob", "alice", "telemetry", lists ? "buffer-lists=true" : ""));
    Pipeline tx(sender("alice", "telemetry"));
    play_warmed_up(rx, tx);
    if (HasFailure()) return;

    // The src's thread held at its pad while the frames arrive: they wait in
    // its queue, and more than one list's worth (64) of them.
    GstPad* pad = gst_element_get_static_pad(rx["src"], "src");
    std::atomic<int> pushed_lists{0};
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER_LIST, count_list, &pushed_lists, nullptr);
    const gulong held = gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BLOCK_DOWNSTREAM, hold, nullptr, nullptr);
    GstElement* src = rx["src"];
    const uint64_t received_before = stat(src, "frames-received");
    const auto frames = numbered_frames(150, [](size_t) { return 100; });
    std::vector<GstClockTime> sent_at;
    for (size_t i = 0; i < frames.size(); ++i) {
      sent_at.push_back(running_time_of(rx.element()));
      push(tx["in"], frames[i], (kFirstUnixMs + i) * GST_MSECOND);
      std::this_thread::sleep_for(2ms);  // distinct arrival times
    }
    for (int i = 0; i < 100 && stat(src, "frames-received") < received_before + frames.size(); ++i) {
      std::this_thread::sleep_for(50ms);
    }
    const GstClockTime released_at = running_time_of(rx.element());
    gst_pad_remove_probe(pad, held);
    gst_object_unref(pad);

    auto got = pull_buffers(rx["out"], frames.size());
    expect_frames_in_order(got, frames);
    if (lists) {
      EXPECT_GE(pushed_lists.load(), 2) << "150 queued frames: at least two lists of at most 64";
    } else {
      EXPECT_EQ(pushed_lists.load(), 0) << "a list without buffer-lists (multifilesink writes a list as one file)";
    }
    // Each PTS is its own frame's arrival: after it was sent, before the src
    // was let go, and in arrival order.
    for (size_t i = 0; i < got.size() && i < frames.size(); ++i) {
      const GstClockTime pts = GST_BUFFER_PTS(got[i]);
      EXPECT_GE(pts, sent_at[i]) << "buffer " << i << " stamped before its frame was sent";
      EXPECT_LE(pts, released_at) << "buffer " << i << " stamped after it had arrived (when the src was let go)";
      if (i > 0) {
        EXPECT_GE(pts, GST_BUFFER_PTS(got[i - 1])) << "buffer " << i;
      }
    }
    if (got.size() == frames.size()) {
      EXPECT_GT(GST_BUFFER_PTS(got.back()), GST_BUFFER_PTS(got.front())) << "one time for frames 300 ms apart";
    }
    for (auto* b : got) gst_buffer_unref(b);
    EXPECT_EQ(stat(src, "dropped-queue-overflow"), 0u);
  }
}

// Counts the buffers a pad pushes, alone or in lists.
GstPadProbeReturn count_buffers(GstPad*, GstPadProbeInfo* info, gpointer count) {
  auto& n = *static_cast<std::atomic<int>*>(count);
  if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    n += int(gst_buffer_list_length(GST_PAD_PROBE_INFO_BUFFER_LIST(info)));
  } else {
    ++n;
  }
  return GST_PAD_PROBE_OK;
}

TEST_F(ServerTest, NumBuffersCountsTheBuffersOfLists) {
  Pipeline rx(receiver("bob", "alice", "telemetry", "num-buffers=40 buffer-lists=true"));
  Pipeline tx(sender("alice", "telemetry"));
  GstPad* pad = gst_element_get_static_pad(rx["src"], "src");
  std::atomic<int> pushed{0};
  gst_pad_add_probe(pad, GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST), count_buffers,
                    &pushed, nullptr);
  play_warmed_up(rx, tx);
  ASSERT_FALSE(HasFailure());
  ASSERT_LT(pushed.load(), 10) << "the warm-up took most of num-buffers";
  // 100 frames wait for the held src: lists of up to 64 would pass 40.
  const gulong held = gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BLOCK_DOWNSTREAM, hold, nullptr, nullptr);
  GstElement* src = rx["src"];
  const uint64_t received_before = stat(src, "frames-received");
  for (uint32_t i = 0; i < 100; ++i) push(tx["in"], pattern(100, i));
  for (int i = 0; i < 100 && stat(src, "frames-received") < received_before + 100; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  gst_pad_remove_probe(pad, held);
  gst_object_unref(pad);
  EXPECT_TRUE(wait_eos(rx["out"], 15s)) << "no EOS after num-buffers";
  EXPECT_EQ(pushed.load(), 40);
}

TEST_F(ServerTest, TheSinkSendsEachBufferOfAListAsItsOwnFrame) {
  Pipeline rx(receiver("bob", "alice", "telemetry"));
  Pipeline tx(sender("alice", "telemetry"));
  play_warmed_up(rx, tx);
  ASSERT_FALSE(HasFailure());
  GstElement* sink = tx["sink"];
  const uint64_t sent_before = stat(sink, "frames-sent");

  // Lists of 1, 2, 7 and 30 buffers of 2-251 bytes: 5 kB in all, under the
  // 8 KiB livekit-server lets wait for a subscriber before it drops packets.
  const auto frames = numbered_frames(40, [](size_t i) { return 2 + (i * 37) % 250; });
  size_t next = 0;
  for (size_t length : {1, 2, 7, 30}) {
    GstBufferList* list = gst_buffer_list_new_sized(guint(length));
    for (size_t k = 0; k < length; ++k, ++next) {
      GstBuffer* b = gst_buffer_new_memdup(frames[next].data(), frames[next].size());
      gst_buffer_add_reference_timestamp_meta(b, unix_caps(), (kFirstUnixMs + next) * GST_MSECOND, GST_CLOCK_TIME_NONE);
      gst_buffer_list_add(list, b);
    }
    ASSERT_EQ(gst_app_src_push_buffer_list(GST_APP_SRC(tx["in"]), list), GST_FLOW_OK);
  }
  auto got = pull_buffers(rx["out"], frames.size());
  expect_frames_in_order(got, frames);
  for (auto* b : got) gst_buffer_unref(b);
  EXPECT_EQ(stat(sink, "frames-sent"), sent_before + frames.size());
  EXPECT_FALSE(tx.wait_error(0ms));
}

TEST_F(ServerTest, AServerGoneIsAReadErrorForAWaitingSrc) {
  // livekit-server says goodbye (leave DISCONNECT) as it stops, but its peer
  // connection may close first, which starts a reconnect: either way a READ
  // error, at the latest once reconnect-timeout has passed.
  Pipeline p("livekitdatasrc name=src participant=nobody track-name=t reconnect-timeout=3000 " + as("bob") +
             " ! fakesink");
  ASSERT_NE(p.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  std::this_thread::sleep_for(300ms);
  server_->stop();
  auto error = p.wait_error(30s);
  ASSERT_TRUE(error) << "no error after the server went away";
  EXPECT_EQ(error->domain, GST_RESOURCE_ERROR);
  EXPECT_EQ(error->code, GST_RESOURCE_ERROR_READ) << error->text;
  // The text is the connection's own reason, not just "the subscription ended".
  const bool says_why = error->text.find("the server ended the session") != std::string::npos ||
                        error->text.find("could not reconnect within") != std::string::npos;
  EXPECT_TRUE(says_why) << error->text;
}

// A WARNING's or an INFO's text; the message is released.
std::string take_text(GstMessage* m) {
  GError* error = nullptr;
  if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_WARNING) {
    gst_message_parse_warning(m, &error, nullptr);
  } else {
    gst_message_parse_info(m, &error, nullptr);
  }
  std::string out = error->message;
  g_error_free(error);
  gst_message_unref(m);
  return out;
}

// The text of every WARNING on the pipeline's bus, until an ERROR or `timeout`
// (the ERROR is left on the bus, for wait_error).
std::vector<std::string> warnings(Pipeline& p, std::chrono::milliseconds timeout = 0ms) {
  std::vector<std::string> out;
  GstBus* bus = gst_element_get_bus(p.element());
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    GstMessage* m = gst_bus_timed_pop_filtered(bus, std::max<int64_t>(0, left) * GST_MSECOND,
                                               GstMessageType(GST_MESSAGE_WARNING | GST_MESSAGE_ERROR));
    if (!m) break;
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
      gst_bus_post(bus, m);  // back, for wait_error
      break;
    }
    out.push_back(take_text(m));
  }
  gst_object_unref(bus);
  return out;
}

bool any_contains(const std::vector<std::string>& texts, const std::string& part) {
  return std::any_of(texts.begin(), texts.end(), [&](const std::string& t) { return t.find(part) != std::string::npos; });
}

// The texts of the INFO messages on a pipeline's bus so far.
std::vector<std::string> infos(Pipeline& p) {
  std::vector<std::string> out;
  GstBus* bus = gst_element_get_bus(p.element());
  while (GstMessage* m = gst_bus_pop_filtered(bus, GST_MESSAGE_INFO)) out.push_back(take_text(m));
  gst_object_unref(bus);
  return out;
}

TEST_F(ServerTest, ALiveKitRoomContextHandsOnePipelinesConnectionToAnother) {
  // A: alice publishes "a", joined by its properties; the test catches its
  // have-context, as an application would.
  Pipeline a(sender("alice", "a"));
  ASSERT_NE(a.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  GstContext* room = catch_room_context(a.element());
  ASSERT_TRUE(room) << "the sink that joined posted no livekit.room have-context";
  const std::string alice_sid = string_property(a["sink"], "participant-sid");
  EXPECT_EQ(alice_sid.rfind("PA_", 0), 0u) << alice_sid;
  EXPECT_FALSE(gst_context_is_persistent(room));
  const GValue* value = gst_structure_get_value(gst_context_get_structure(room), "room");
  ASSERT_TRUE(value && G_VALUE_HOLDS_OBJECT(value) && g_value_get_object(value));
  auto* object = G_OBJECT(g_value_get_object(value));
  EXPECT_STREQ(G_OBJECT_TYPE_NAME(object), "GstLiveKitRoom");
  EXPECT_EQ(string_property(object, "url"), server_->url());
  EXPECT_EQ(string_property(object, "room"), room_);
  EXPECT_EQ(string_property(object, "identity"), "alice");
  EXPECT_EQ(string_property(object, "participant-sid"), alice_sid);

  // bob publishes "b" and reads alice's "a". B: a src with no connection
  // settings at all, given A's context when it asks (the README's handler).
  // C: carol's src, set up by its own properties, is offered the same
  // context: it says it does not use it and joins as carol.
  Pipeline bob(sender("bob", "b") + "  " + receiver("bob", "alice", "a"));
  Pipeline b("livekitdatasrc name=src participant=bob track-name=b ! appsink name=out sync=false");
  Pipeline c(receiver("carol", "bob", "b"));
  for (Pipeline* p : {&b, &c}) {
    GstBus* bus = gst_element_get_bus(p->element());
    gst_bus_set_sync_handler(bus, give_room_context, gst_context_ref(room), GDestroyNotify(gst_context_unref));
    gst_object_unref(bus);
  }
  gst_context_unref(room);
  ASSERT_NE(bob.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  ASSERT_NE(b.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  ASSERT_NE(c.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  warm_up(bob["in"], b["out"]);
  warm_up(a["in"], bob["out"]);
  ASSERT_FALSE(HasFailure());

  uint32_t seed = 1;
  for (size_t size : {size_t(1), size_t(16000), size_t(65536)}) {
    const auto payload = pattern(size, seed++);
    GstSample* sample = deliver(bob["in"], b["out"], payload);
    EXPECT_TRUE(sample) << "a frame of " << size << " B never reached B's src";
    if (sample) gst_sample_unref(sample);
  }
  // A keeps working: nobody else joined as alice (a second join would have
  // made the server drop the first), and B's src is alice.
  GstSample* sample = deliver(a["in"], bob["out"], pattern(700, seed++));
  EXPECT_TRUE(sample) << "A's frames stopped after B started";
  if (sample) gst_sample_unref(sample);
  EXPECT_EQ(string_property(b["src"], "participant-sid"), alice_sid) << "B's src is another participant";
  EXPECT_EQ(string_property(b["src"], "url"), "");
  const std::string carol_sid = string_property(c["src"], "participant-sid");
  EXPECT_EQ(carol_sid.rfind("PA_", 0), 0u) << carol_sid;
  EXPECT_NE(carol_sid, alice_sid);
  const auto said = infos(c);
  EXPECT_TRUE(any_contains(said, "livekit.room context") && any_contains(said, "identity 'carol'"))
      << "carol's src did not say why it joined by its own properties";
  for (Pipeline* p : {&a, &b, &c, &bob}) EXPECT_FALSE(p->wait_error(0ms));
}

TEST_F(ServerTest, ALiveKitRoomContextWhoseConnectionEndedIsAnError) {
  Pipeline a(sender("alice", "a", "", "reconnect-timeout=1000"));
  ASSERT_NE(a.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  GstContext* room = catch_room_context(a.element());
  ASSERT_TRUE(room) << "the sink that joined posted no livekit.room have-context";
  server_->stop();
  ASSERT_TRUE(a.wait_error(30s)) << "A's connection did not end with its server";

  for (const std::string element : {"sink", "src"}) {
    SCOPED_TRACE(element);
    Pipeline b(element == "sink" ? "fakesrc ! livekitdatasink track-name=b"
                                 : "livekitdatasrc participant=bob track-name=b ! fakesink");
    gst_element_set_context(b.element(), room);
    EXPECT_EQ(b.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    auto error = b.wait_error(1s);
    ASSERT_TRUE(error);
    EXPECT_EQ(error->domain, GST_RESOURCE_ERROR);
    EXPECT_EQ(error->code, element == "sink" ? GST_RESOURCE_ERROR_OPEN_WRITE : GST_RESOURCE_ERROR_OPEN_READ);
    EXPECT_NE(error->text.find("livekit.room context"), std::string::npos) << error->text;
    EXPECT_NE(error->text.find("has ended"), std::string::npos) << error->text;
  }
  gst_context_unref(room);
}

TEST_F(ServerTest, BothElementsKeepFlowingAcrossAServerRestart) {
  Pipeline rx(receiver("bob", "alice", "telemetry", "on-unpublished=wait"));
  Pipeline tx(sender("alice", "telemetry"));
  ASSERT_NE(rx.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  ASSERT_NE(tx.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  GstElement* out = rx["out"];
  warm_up(tx["in"], out);
  ASSERT_FALSE(HasFailure());
  const std::string sid_before = string_property(tx["sink"], "participant-sid");

  server_->kill();
  std::this_thread::sleep_for(1s);
  auto restarted = server_->restart();
  ASSERT_TRUE(restarted) << restarted.error().message;
  // The sink blocks (back-pressure=block) until its track is published again.
  GstSample* first = nullptr;
  for (int i = 0; i < 300 && !first; ++i) {
    push(tx["in"], kWarmUp);
    first = gst_app_sink_try_pull_sample(GST_APP_SINK(out), 100 * GST_MSECOND);
  }
  ASSERT_TRUE(first) << "nothing came through after the restart";
  EXPECT_TRUE(GST_BUFFER_FLAG_IS_SET(gst_sample_get_buffer(first), GST_BUFFER_FLAG_DISCONT))
      << "the first buffer after the reconnect is not DISCONT";
  gst_sample_unref(first);
  drain(out);
  GstSample* sample = deliver(tx["in"], out, pattern(40000, 3));
  ASSERT_TRUE(sample) << "a frame after the reconnect did not arrive whole";
  gst_sample_unref(sample);

  for (Pipeline* p : {&tx, &rx}) {
    auto texts = warnings(*p);
    // The WebSocket ends first: a resume, refused by the new server, then a full reconnect.
    EXPECT_TRUE(any_contains(texts, "reconnecting (attempt")) << "no bus warning for a reconnect attempt";
    EXPECT_FALSE(p->wait_error(0ms));
  }
  const std::string sid_after = string_property(tx["sink"], "participant-sid");
  EXPECT_NE(sid_after, sid_before) << "participant-sid did not follow the new session";
  EXPECT_EQ(sid_after.rfind("PA_", 0), 0u) << sid_after;
}

// The texts of the WARNINGs and INFOs on the pipeline's bus, up to the first
// INFO that contains `info_part` (within `timeout`); empty when none came.
std::vector<std::string> bus_texts_until(Pipeline& p, const std::string& info_part, std::chrono::seconds timeout) {
  std::vector<std::string> texts;
  GstBus* bus = gst_element_get_bus(p.element());
  bool found = false;
  for (const auto deadline = Clock::now() + timeout; !found && Clock::now() < deadline;) {
    GstMessage* m = gst_bus_timed_pop_filtered(bus, 100 * GST_MSECOND, GstMessageType(GST_MESSAGE_INFO | GST_MESSAGE_WARNING));
    if (!m) continue;
    GError* said = nullptr;
    const bool info = GST_MESSAGE_TYPE(m) == GST_MESSAGE_INFO;
    if (info) gst_message_parse_info(m, &said, nullptr);
    else gst_message_parse_warning(m, &said, nullptr);
    texts.emplace_back(said->message);
    found = info && texts.back().find(info_part) != std::string::npos;
    g_error_free(said);
    gst_message_unref(m);
  }
  gst_object_unref(bus);
  return found ? texts : std::vector<std::string>{};
}

// Alice's sink to bob's src, warmed up; then the test server's fault to bob
// only, while alice sends nothing (her frame numbers go on without a gap).
// The bus texts of bob's pipeline up to its INFO containing `back`; then the
// next buffer bob gets, or null.
GstSample* ServerTest::across_fault_to_the_src(const std::string& kind, const std::string& back,
                                               std::vector<std::string>& texts, std::string& sid_before,
                                               std::string& sid_after) {
  Pipeline rx(receiver("bob", "alice", "telemetry"));
  Pipeline tx(sender("alice", "telemetry"));
  if (rx.set_state(GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE || tx.set_state(GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    ADD_FAILURE() << "the pipelines did not start";
    return nullptr;
  }
  GstElement* out = rx["out"];
  warm_up(tx["in"], out);
  sid_before = string_property(rx["src"], "participant-sid");
  EXPECT_EQ(server_->fault(room_, "bob", kind), 200u);
  texts = bus_texts_until(rx, back, 20s);
  sid_after = string_property(rx["src"], "participant-sid");
  if (texts.empty()) {
    ADD_FAILURE() << "no bus INFO saying '" << back << "'";
    return nullptr;
  }
  std::this_thread::sleep_for(1s);  // after a reconnect: the subscription granted again (the test server answers at once)
  return deliver(tx["in"], out, pattern(100, 5));
}

// Only the src's side reconnects (the test server's leave{RECONNECT} to bob):
// only the reconnect can mark the next buffer DISCONT.
TEST_F(ServerTest, TheFirstBufferAfterTheSrcsReconnectIsDiscont) {
  if (TestServer::kind() != "sfu") GTEST_SKIP() << "needs the test server's fault hook";
  std::vector<std::string> texts;
  std::string sid_before, sid_after;
  GstSample* sample = across_fault_to_the_src("leave-reconnect", "reconnected", texts, sid_before, sid_after);
  ASSERT_TRUE(sample);
  EXPECT_TRUE(GST_BUFFER_FLAG_IS_SET(gst_sample_get_buffer(sample), GST_BUFFER_FLAG_DISCONT))
      << "the first buffer after the src's reconnect is not DISCONT";
  gst_sample_unref(sample);
}

// The test server's leave{RESUME} to bob: his src resumes the session (a
// WARNING saying so, no full reconnect, the same participant) and the next
// buffer is no DISCONT: nothing was lost.
TEST_F(ServerTest, TheSrcResumesAfterALeaveWithResume) {
  if (TestServer::kind() != "sfu") GTEST_SKIP() << "needs the test server's fault hook";
  std::vector<std::string> texts;
  std::string sid_before, sid_after;
  GstSample* sample = across_fault_to_the_src("leave-resume", "resumed", texts, sid_before, sid_after);
  ASSERT_TRUE(sample);
  EXPECT_TRUE(any_contains(texts, "resuming the session")) << "no bus WARNING saying the src resumes";
  EXPECT_FALSE(any_contains(texts, "reconnecting")) << "a full reconnect instead of a resume";
  EXPECT_EQ(sid_after, sid_before);
  EXPECT_FALSE(GST_BUFFER_FLAG_IS_SET(gst_sample_get_buffer(sample), GST_BUFFER_FLAG_DISCONT))
      << "a buffer after a resume is DISCONT";
  gst_sample_unref(sample);
}

TEST_F(ServerTest, NoReconnectWithinTheReconnectTimeoutIsAnError) {
  Pipeline p("livekitdatasrc name=src participant=nobody track-name=t reconnect-timeout=2000 " + as("bob") +
             " ! fakesink");
  ASSERT_NE(p.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  std::this_thread::sleep_for(300ms);
  server_->kill();  // no leave: the src reconnects, and finds no server
  const auto attempts = warnings(p, 30s);
  auto error = p.wait_error(1s);
  ASSERT_TRUE(error) << "no error after the reconnect timeout";
  EXPECT_EQ(error->domain, GST_RESOURCE_ERROR);
  EXPECT_EQ(error->code, GST_RESOURCE_ERROR_READ) << error->text;
  EXPECT_NE(error->text.find("could not reconnect within 2000 ms"), std::string::npos) << error->text;
  EXPECT_TRUE(any_contains(attempts, "reconnecting (attempt 2)")) << "no bus warning per attempt";
}

TEST_F(ServerTest, DisabledDataTracksAreNotAuthorizedNamingTheSetting) {
  server_.reset();
  auto started = TestServer::start({"--data-tracks-disabled"});
  ASSERT_TRUE(started) << started.error().message;
  server_.emplace(std::move(*started));
  Pipeline tx(sender("alice", "telemetry", "application/json"));
  ASSERT_NE(tx.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);  // joining is allowed
  push(tx["in"], kWarmUp);  // the first caps publish
  auto error = tx.wait_error(20s);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->domain, GST_RESOURCE_ERROR);
  EXPECT_EQ(error->code, GST_RESOURCE_ERROR_NOT_AUTHORIZED) << error->text;
  EXPECT_NE(error->text.find("enable_data_tracks"), std::string::npos) << error->text;
}

TEST_F(ServerTest, ADuplicateTrackNameIsASettingsError) {
  // Two sinks of one identity share a participant: one name, one track.
  Pipeline first(sender("alice", "telemetry"));
  ASSERT_NE(first.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  push(first["in"], kWarmUp);
  for (int i = 0; i < 100 && stat(first["sink"], "frames-sent") == 0; ++i) std::this_thread::sleep_for(50ms);
  ASSERT_EQ(stat(first["sink"], "frames-sent"), 1u);
  Pipeline second(sender("alice", "telemetry"));
  ASSERT_NE(second.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  push(second["in"], kWarmUp);
  auto error = second.wait_error(20s);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, GST_RESOURCE_ERROR_SETTINGS) << error->text;
  EXPECT_NE(error->text.find("'telemetry'"), std::string::npos) << error->text;
  EXPECT_FALSE(first.wait_error(0ms));
}

TEST_F(ServerTest, AnEncryptedTrackRoundTripsAndAMissingKeyIsASettingsError) {
  // The src reads the passphrase's bytes from a file: the same key.
  gchar* key_file = nullptr;
  const int fd = g_file_open_tmp("lkt-key-XXXXXX", &key_file, nullptr);
  ASSERT_GE(fd, 0);
  close(fd);
  const std::string passphrase = "a shared passphrase";
  ASSERT_TRUE(g_file_set_contents(key_file, passphrase.data(), gssize(passphrase.size()), nullptr));
  Pipeline rx(receiver("bob", "alice", "secret", std::string("e2ee-key-file=") + key_file));
  Pipeline tx(sender("alice", "secret", "", "e2ee-passphrase=\"" + passphrase + "\""));
  ASSERT_NE(rx.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  ASSERT_NE(tx.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  warm_up(tx["in"], rx["out"]);
  ASSERT_FALSE(HasFailure());
  for (size_t size : {size_t(1), size_t(16000), size_t(1 << 20)}) {
    GstSample* sample = deliver(tx["in"], rx["out"], pattern(size, uint32_t(size)));
    EXPECT_TRUE(sample) << "a frame of " << size << " B never arrived";
    if (sample) gst_sample_unref(sample);
  }
  EXPECT_EQ(stat(rx["src"], "dropped-decryption"), 0u);

  // No key for an encrypted track: an error that says which and what to set.
  Pipeline keyless(receiver("carol", "alice", "secret"));
  ASSERT_NE(keyless.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  auto error = keyless.wait_error(20s);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, GST_RESOURCE_ERROR_SETTINGS) << error->text;
  EXPECT_NE(error->text.find("encrypted and no E2EE key"), std::string::npos) << error->text;
  EXPECT_NE(error->text.find("e2ee-passphrase"), std::string::npos) << error->text;
  EXPECT_EQ(error->text.find(passphrase), std::string::npos);
  g_unlink(key_file);
  g_free(key_file);
}

// Key rotation while PLAYING (README "Key rotation"): the sink moves to a new
// key at index 3; a src given both keys opens every frame, one with only the
// old key counts the new frames as dropped by decryption and delivers none.
// Back at index 0 both open again: neither side let the old key go.
TEST_F(ServerTest, TheSinkRotatesToANewKeyIndexWhilePlaying) {
  const std::string old_key = "e2ee-passphrase=\"the old passphrase\"";
  const char* new_passphrase = "the new passphrase";
  // The src with both keys, as gst-launch-1.0 would give them: each key after its index.
  Pipeline both(receiver("bob", "alice", "secret",
                         old_key + " e2ee-key-index=3 e2ee-passphrase=\"" + new_passphrase + "\""));
  Pipeline old_only(receiver("carol", "alice", "secret", old_key));
  Pipeline tx(sender("alice", "secret", "", old_key));
  start_live(tx, both, old_only);
  ASSERT_FALSE(HasFailure());

  uint32_t seed = 1;
  deliver_frames(tx["in"], {both["out"], old_only["out"]}, seed, "the old key at index 0");
  ASSERT_FALSE(HasFailure());

  g_object_set(tx["sink"], "e2ee-key-index", 3u, "e2ee-passphrase", new_passphrase, nullptr);
  guint index = 0;
  g_object_get(tx["sink"], "e2ee-key-index", &index, nullptr);
  EXPECT_EQ(index, 3u);
  const auto rotated = deliver_frames(tx["in"], {both["out"]}, seed, "the new key at index 3");
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(count_arrived(old_only["out"], rotated), 0u) << "frames sealed with a key the src lacks were delivered";
  EXPECT_GT(stat(old_only["src"], "dropped-decryption"), 0u);

  g_object_set(tx["sink"], "e2ee-key-index", 0u, nullptr);
  deliver_frames(tx["in"], {both["out"], old_only["out"]}, seed, "back to the old key at index 0");
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(stat(both["src"], "dropped-decryption"), 0u);

  // A key file that cannot be read, while PLAYING: a warning naming it, the key in use kept.
  g_object_set(tx["sink"], "e2ee-key-file", "/nonexistent/key", nullptr);
  const auto texts = warnings(tx, 1s);
  EXPECT_TRUE(any_contains(texts, "e2ee-key-file")) << "no bus warning naming the property";
  EXPECT_TRUE(any_contains(texts, "kept")) << "the warning does not say the keys in use are kept";
  deliver_frames(tx["in"], {both["out"], old_only["out"]}, seed, "after a bad key file");
  EXPECT_FALSE(tx.wait_error(0ms));
}

// ratchet-key on the sink, as livekit-client's keyProvider.ratchetKey(): a
// src with e2ee-ratchet-window=1 follows each step; one with window 0 drops
// every frame after the first step (counted) and delivers none.
TEST_F(ServerTest, RatchetKeyOnTheSinkIsFollowedWithinTheSrcsRatchetWindow) {
  const std::string key = "e2ee-passphrase=\"a ratcheted passphrase\"";
  Pipeline following(receiver("bob", "alice", "secret", key + " e2ee-ratchet-window=1"));
  Pipeline fixed(receiver("carol", "alice", "secret", key));
  Pipeline tx(sender("alice", "secret", "", key));
  start_live(tx, following, fixed);
  ASSERT_FALSE(HasFailure());

  uint32_t seed = 1;
  for (int step = 1; step <= 2; ++step) {
    gboolean ratcheted = FALSE;
    g_signal_emit_by_name(tx["sink"], "ratchet-key", &ratcheted);
    EXPECT_TRUE(ratcheted) << "step " << step;
    const auto sent = deliver_frames(tx["in"], {following["out"]}, seed, "step " + std::to_string(step));
    ASSERT_FALSE(HasFailure());
    EXPECT_EQ(count_arrived(fixed["out"], sent), 0u) << "step " << step << ": frames under a ratcheted key delivered";
  }
  EXPECT_EQ(stat(following["src"], "dropped-decryption"), 0u);
  EXPECT_GT(stat(fixed["src"], "dropped-decryption"), 0u);
}

TEST_F(ServerTest, AnOversizedBufferIsAnErrorNamingSizeAndLimit) {
  Pipeline tx(sender("alice", "telemetry"));
  ASSERT_NE(tx.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  push(tx["in"], std::vector<uint8_t>(3 * 1024 * 1024));
  auto error = tx.wait_error(10s);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->domain, GST_RESOURCE_ERROR);
  EXPECT_EQ(error->code, GST_RESOURCE_ERROR_WRITE);
  EXPECT_NE(error->text.find("3145728 bytes"), std::string::npos) << error->text;
  EXPECT_NE(error->text.find("128 packets"), std::string::npos) << error->text;
  EXPECT_EQ(stat(tx["sink"], "dropped-too-large"), 1u);
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  if (::testing::GTEST_FLAG(filter).find("ServerTest") != std::string::npos) {
    if (auto why = TestServer::unavailable()) {
      std::cout << "SKIP: " << *why << std::endl;
      return 77;
    }
  }
  int result = RUN_ALL_TESTS();
  if (::testing::UnitTest::GetInstance()->test_to_run_count() == 0) {
    std::cerr << "no test matches the filter" << std::endl;
    result = 1;
  }
  gst_deinit();
  return result;
}
