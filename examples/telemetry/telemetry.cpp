// Telemetry alongside video, the way an application embeds the livekitdata
// elements. Two roles:
//
//   telemetry publish   [--room R] [--identity I] [--track T] [--seconds N] [--video FILE]
//     A 50 fps test video is recorded to FILE (Motion-JPEG in Matroska); for
//     every video frame one JSON telemetry sample goes out on data track T,
//     carrying that video frame's number and PTS, so a receiver can line the
//     two up. Each sample's user timestamp is the wall-clock time the video
//     frame was made (a timestamp/x-unix meta, which livekitdatasink sends as
//     UNIX milliseconds).
//
//   telemetry subscribe [--room R] [--identity I] [--participant P] [--track T] [--seconds N]
//     Prints every sample of P's track T with its end-to-end latency (now
//     minus the sample's user timestamp), and a summary at the end.
//
// The LiveKit server comes from LIVEKIT_URL, LIVEKIT_API_KEY and
// LIVEKIT_API_SECRET, as for LiveKit's own tools. Stops after --seconds (or
// at EOS, or on Ctrl-C) and leaves nothing running.
#include <glib-unix.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Args {
  std::string role, room = "demo", identity, participant = "drone", track = "telemetry", video;
  int seconds = 5;
};

GstCaps* unix_time_caps() {
  static GstCaps* caps = gst_caps_new_empty_simple("timestamp/x-unix");
  return caps;
}

// Runs the pipeline until EOS, an error, Ctrl-C or the deadline; returns 0 on a clean end.
int run(GstElement* pipeline, int seconds, GstElement* eos_target) {
  GMainLoop* loop = g_main_loop_new(nullptr, FALSE);
  int status = 0;
  struct Ctx {
    GMainLoop* loop;
    int* status;
    GstElement* eos_target;
  } ctx{loop, &status, eos_target};
  GstBus* bus = gst_element_get_bus(pipeline);
  gst_bus_add_watch(
      bus,
      [](GstBus*, GstMessage* m, gpointer data) -> gboolean {
        auto* c = static_cast<Ctx*>(data);
        if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
          GError* error = nullptr;
          gchar* debug = nullptr;
          gst_message_parse_error(m, &error, &debug);
          std::fprintf(stderr, "error from %s: %s\n", GST_OBJECT_NAME(m->src), error->message);
          g_clear_error(&error);
          g_free(debug);
          *c->status = 1;
          g_main_loop_quit(c->loop);
        } else if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS) {
          g_main_loop_quit(c->loop);
        }
        return G_SOURCE_CONTINUE;
      },
      &ctx);
  // The deadline and Ctrl-C end the stream with EOS, so files are finished properly.
  auto finish = [](gpointer data) -> gboolean {
    auto* c = static_cast<Ctx*>(data);
    if (c->eos_target) {
      gst_element_send_event(c->eos_target, gst_event_new_eos());
    } else {
      g_main_loop_quit(c->loop);
    }
    return G_SOURCE_REMOVE;
  };
  const guint deadline = g_timeout_add_seconds(guint(seconds), finish, &ctx);
  const guint sigint = g_unix_signal_add(SIGINT, finish, &ctx);
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    // The element posted the reason as an error: show it.
    GstMessage* m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
    if (m) {
      GError* error = nullptr;
      gst_message_parse_error(m, &error, nullptr);
      std::fprintf(stderr, "error from %s: %s\n", GST_OBJECT_NAME(m->src), error->message);
      g_clear_error(&error);
      gst_message_unref(m);
    }
    status = 1;
  } else {
    g_main_loop_run(loop);
  }
  for (guint id : {sigint, deadline}) {
    if (GSource* source = g_main_context_find_source_by_id(nullptr, id)) g_source_destroy(source);  // if not run yet
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_bus_remove_watch(bus);
  gst_object_unref(bus);
  g_main_loop_unref(loop);
  return status;
}

int publish(const Args& a) {
  const std::string video = a.video.empty() ? "telemetry-video.mkv" : a.video;
  const std::string description =
      "videotestsrc is-live=true pattern=ball name=camera ! video/x-raw,width=320,height=240,framerate=50/1 "
      "! videoconvert ! jpegenc ! matroskamux ! filesink location=\"" + video + "\" "
      "appsrc name=telemetry is-live=true format=time caps=application/json "
      "! livekitdatasink name=sink room=\"" + a.room + "\" identity=\"" + a.identity + "\" track-name=\"" + a.track + "\"";
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &error);
  if (!pipeline) {
    std::fprintf(stderr, "pipeline: %s\n", error->message);
    return 1;
  }
  GstElement* camera = gst_bin_get_by_name(GST_BIN(pipeline), "camera");
  GstElement* telemetry = gst_bin_get_by_name(GST_BIN(pipeline), "telemetry");
  GstPad* pad = gst_element_get_static_pad(camera, "src");
  // One telemetry sample per video frame, stamped with that frame's PTS.
  gst_pad_add_probe(
      pad, GST_PAD_PROBE_TYPE_BUFFER,
      [](GstPad*, GstPadProbeInfo* info, gpointer appsrc) -> GstPadProbeReturn {
        GstBuffer* frame = GST_PAD_PROBE_INFO_BUFFER(info);
        const guint64 n = GST_BUFFER_OFFSET(frame);
        const double t = double(GST_BUFFER_PTS(frame)) / GST_SECOND;
        gchar* json = g_strdup_printf(
            "{\"video_frame\":%" G_GUINT64_FORMAT ",\"video_pts_ns\":%" G_GUINT64_FORMAT
            ",\"altitude_m\":%.2f,\"heading_deg\":%.1f,\"battery\":%.3f}",
            n, GST_BUFFER_PTS(frame), 120 + 15 * std::sin(t), std::fmod(36 * t, 360.0), 1.0 - t / 1000);
        GstBuffer* sample = gst_buffer_new_wrapped(json, strlen(json));
        GST_BUFFER_PTS(sample) = GST_BUFFER_PTS(frame);
        gst_buffer_add_reference_timestamp_meta(sample, unix_time_caps(), guint64(g_get_real_time()) * 1000,
                                                GST_CLOCK_TIME_NONE);
        gst_app_src_push_buffer(GST_APP_SRC(appsrc), sample);
        return GST_PAD_PROBE_OK;
      },
      telemetry, nullptr);
  gst_object_unref(pad);
  gst_object_unref(camera);
  // EOS into both branches: the video file is finished and the track unpublished.
  const int status = run(pipeline, a.seconds, pipeline);
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  GstStructure* stats = nullptr;
  g_object_get(sink, "stats", &stats, nullptr);
  if (stats) {
    gchar* text = gst_structure_to_string(stats);
    std::printf("publisher: video recorded to %s; telemetry %s\n", video.c_str(), text);
    g_free(text);
    gst_structure_free(stats);
  }
  gst_object_unref(sink);
  gst_object_unref(telemetry);
  gst_object_unref(pipeline);
  return status;
}

int subscribe(const Args& a) {
  const std::string description = "livekitdatasrc name=src room=\"" + a.room + "\" identity=\"" + a.identity +
                                  "\" participant=\"" + a.participant + "\" track-name=\"" + a.track +
                                  "\" ! appsink name=out emit-signals=true sync=false";
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &error);
  if (!pipeline) {
    std::fprintf(stderr, "pipeline: %s\n", error->message);
    return 1;
  }
  struct Seen {
    int frames = 0;
    std::vector<double> latency_ms;
  } seen;
  GstElement* out = gst_bin_get_by_name(GST_BIN(pipeline), "out");
  g_signal_connect(out, "new-sample", G_CALLBACK(+[](GstAppSink* sink, gpointer data) -> GstFlowReturn {
    auto* s = static_cast<Seen*>(data);
    GstSample* sample = gst_app_sink_pull_sample(sink);
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    GstMapInfo map;
    gst_buffer_map(buffer, &map, GST_MAP_READ);
    double latency = NAN;
    if (auto* meta = gst_buffer_get_reference_timestamp_meta(buffer, unix_time_caps())) {
      latency = (double(g_get_real_time()) * 1000 - double(meta->timestamp)) / 1e6;
      s->latency_ms.push_back(latency);
    }
    ++s->frames;
    if (s->frames <= 5 || s->frames % 50 == 0) {
      std::printf("subscriber: frame %4d  latency %6.1f ms  %.*s\n", s->frames, latency, int(map.size),
                  reinterpret_cast<const char*>(map.data));
      std::fflush(stdout);
    }
    gst_buffer_unmap(buffer, &map);
    gst_sample_unref(sample);
    return GST_FLOW_OK;
  }), &seen);
  const int status = run(pipeline, a.seconds, nullptr);
  gst_object_unref(out);
  gst_object_unref(pipeline);
  auto& l = seen.latency_ms;
  std::sort(l.begin(), l.end());
  if (!l.empty()) {
    std::printf("subscriber: %d samples; end-to-end latency p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", seen.frames,
                l[l.size() / 2], l[std::min(l.size() - 1, l.size() * 99 / 100)], l.back());
  } else {
    std::printf("subscriber: %d samples\n", seen.frames);
  }
  return status != 0 ? status : (seen.frames > 0 ? 0 : 2);
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  Args a;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s publish|subscribe [--room R] [--identity I] [--participant P] [--track T] "
                         "[--seconds N] [--video FILE]\n", argv[0]);
    return 2;
  }
  a.role = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--room") a.room = v;
    else if (k == "--identity") a.identity = v;
    else if (k == "--participant") a.participant = v;
    else if (k == "--track") a.track = v;
    else if (k == "--seconds") a.seconds = std::max(1, std::atoi(v.c_str()));
    else if (k == "--video") a.video = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (a.identity.empty()) a.identity = a.role == "publish" ? "drone" : "ground-station";
  if (a.role == "publish") return publish(a);
  if (a.role == "subscribe") return subscribe(a);
  std::fprintf(stderr, "the role is publish or subscribe, not %s\n", a.role.c_str());
  return 2;
}
