// One end of the end-to-end bench (bench/e2e/e2e.mjs) on our elements: `send`
// feeds livekitdatasink, `recv` runs livekitdatasrc ! appsink. Connection
// settings come from the elements' environment variables (LIVEKIT_URL,
// LIVEKIT_API_KEY, LIVEKIT_API_SECRET); the commands and the frame layout are
// in peer_protocol.h.
//   gst_peer send|recv --room R --identity I --track T [--participant P (recv)]
// The sender pushes each buffer into the sink's pad from the thread that makes
// the frame, as a live source's streaming thread does. LKT_E2E_APPSRC=1 runs
// `appsrc ! livekitdatasink` instead, where every frame also wakes appsrc's
// own streaming thread: GStreamer's cost of feeding a pipeline from an
// application thread, not the sink's (docs/benchmarks.md compares the two).
// LKT_E2E_LIST=N pushes the frames in buffer lists of N (the last of a command
// shorter), as an element that batches does: the sink's render_list.
// The receiver's src runs with buffer-lists=true (appsink takes each buffer
// of a list as its own sample); LKT_E2E_SRC_LISTS=0 measures the default.
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include <atomic>
#include <string>
#include <thread>

#include "peer_protocol.h"

namespace {

using namespace lk::bench;

std::atomic<bool> g_eos{false};

// Exits on the first pipeline error: the driver reports the row as failed.
gboolean on_bus_message(GstBus*, GstMessage* message, gpointer) {
  if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_EOS) g_eos = true;
  if (GST_MESSAGE_TYPE(message) != GST_MESSAGE_ERROR) return TRUE;
  GError* error = nullptr;
  gst_message_parse_error(message, &error, nullptr);
  fail(error->message);
}

GstElement* parse(const std::string& description) {
  GError* error = nullptr;
  GstElement* element = gst_parse_launch(description.c_str(), &error);
  if (!element) fail(error->message);
  return element;
}

GstElement* play(GstElement* pipeline) {
  gst_bus_add_watch(GST_ELEMENT_BUS(pipeline), on_bus_message, nullptr);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  return pipeline;
}

std::string connection(const Endpoint& e) {
  return " room=" + e.room + " identity=" + e.identity + " track-name=" + e.track;
}

int sender_through_appsrc(const Endpoint& e) {
  // A small appsrc queue that blocks: the sink's back-pressure reaches the pushes.
  GstElement* pipeline = play(parse("appsrc name=src is-live=true block=true max-bytes=65536 format=bytes "
                                    "caps=application/octet-stream ! livekitdatasink" + connection(e)));
  auto* src = GST_APP_SRC(gst_bin_get_by_name(GST_BIN(pipeline), "src"));
  serve_sender([src](const uint8_t* bytes, size_t size) {
    gst_app_src_push_buffer(src, gst_buffer_new_memdup(bytes, size));
  });
  gst_app_src_end_of_stream(src);
  gst_object_unref(src);
  for (int i = 0; i < 1000 && !g_eos; i++) g_usleep(10000);  // the sink sends what it holds first
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return 0;
}

// The stream a source element would start with: the same caps and byte
// segment as the appsrc above.
void start_stream(GstPad* pad) {
  gst_pad_push_event(pad, gst_event_new_stream_start("gst_peer"));
  GstCaps* caps = gst_caps_new_empty_simple("application/octet-stream");
  gst_pad_push_event(pad, gst_event_new_caps(caps));
  gst_caps_unref(caps);
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_BYTES);
  gst_pad_push_event(pad, gst_event_new_segment(&segment));
}

int sender(const Endpoint& e) {
  if (g_getenv("LKT_E2E_APPSRC")) return sender_through_appsrc(e);
  GstElement* sink = parse("livekitdatasink" + connection(e));
  GstElement* pipeline = gst_pipeline_new(nullptr);
  gst_bin_add(GST_BIN(pipeline), sink);
  play(pipeline);
  GstPad* pad = gst_pad_new("src", GST_PAD_SRC);
  GstPad* sink_pad = gst_element_get_static_pad(sink, "sink");
  gst_pad_set_active(pad, TRUE);
  if (gst_pad_link(pad, sink_pad) != GST_PAD_LINK_OK) fail("cannot link to livekitdatasink");
  gst_object_unref(sink_pad);
  start_stream(pad);
  auto check = [](GstFlowReturn flow) {
    if (flow != GST_FLOW_OK) fail(std::string("push: ") + gst_flow_get_name(flow));
  };
  // Each push blocks while the sink does (back-pressure); an error also reaches the bus.
  const char* list_env = g_getenv("LKT_E2E_LIST");
  if (const guint list_size = list_env ? guint(g_ascii_strtoull(list_env, nullptr, 10)) : 0) {
    GstBufferList* list = gst_buffer_list_new_sized(list_size);
    auto flush = [&] {
      if (gst_buffer_list_length(list) == 0) return;
      check(gst_pad_push_list(pad, list));
      list = gst_buffer_list_new_sized(list_size);
    };
    serve_sender(
        [&](const uint8_t* bytes, size_t size) {
          gst_buffer_list_add(list, gst_buffer_new_memdup(bytes, size));
          if (gst_buffer_list_length(list) == list_size) flush();
        },
        flush);
    gst_buffer_list_unref(list);
  } else {
    serve_sender([&](const uint8_t* bytes, size_t size) { check(gst_pad_push(pad, gst_buffer_new_memdup(bytes, size))); });
  }
  gst_pad_push_event(pad, gst_event_new_eos());  // returns once the sink sent what it holds
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pad);
  gst_object_unref(pipeline);
  return 0;
}

GstFlowReturn on_sample(GstAppSink* sink, gpointer data) {
  GstSample* sample = gst_app_sink_pull_sample(sink);
  if (!sample) return GST_FLOW_EOS;
  GstMapInfo map{};
  GstBuffer* buffer = gst_sample_get_buffer(sample);
  if (gst_buffer_map(buffer, &map, GST_MAP_READ)) {
    static_cast<Arrivals*>(data)->record(map.data, map.size);
    gst_buffer_unmap(buffer, &map);
  }
  gst_sample_unref(sample);
  return GST_FLOW_OK;
}

int receiver(const Endpoint& e) {
  Arrivals arrivals;
  const bool lists = g_strcmp0(g_getenv("LKT_E2E_SRC_LISTS"), "0") != 0;
  GstElement* pipeline = play(parse("livekitdatasrc participant=" + e.participant + connection(e) +
                                    (lists ? " buffer-lists=true" : "") +
                                    " ! appsink name=sink sync=false max-buffers=0"));
  auto* sink = GST_APP_SINK(gst_bin_get_by_name(GST_BIN(pipeline), "sink"));
  GstAppSinkCallbacks callbacks{};
  callbacks.new_sample = on_sample;
  gst_app_sink_set_callbacks(sink, &callbacks, &arrivals, nullptr);
  arrivals.serve();
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  Endpoint e = parse_endpoint(argc, argv);
  // The bus watch needs a running main loop; the commands run on the main thread.
  std::thread([] { g_main_loop_run(g_main_loop_new(nullptr, FALSE)); }).detach();
  return e.role == "send" ? sender(e) : receiver(e);
}
