// Our elements and a webrtcbin data channel in one process: both carry data,
// whichever starts first and while both run. They share libnice, OpenSSL and
// GLib; webrtcbin's SCTP is the sctp plugin's own usrsctp copy, ours the
// system libusrsctp with its process-wide settings (CRC offload). Inside
// scripts/netns-run.sh with a LiveKit server (LKT_SERVER); exits 77 (skipped)
// when that server cannot run here.
#include <gst/app/app.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "payload.h"
#include "test_server.h"

namespace {

using namespace std::chrono_literals;
using lk::test::TestServer;

// Two webrtcbin peers in this process, offer and answer passed by hand,
// joined by one reliable data channel from a to b.
class WebrtcbinPair {
 public:
  WebrtcbinPair() {
    pipeline_ = gst_pipeline_new("webrtcbin-pair");
    a_ = gst_element_factory_make("webrtcbin", "a");
    b_ = gst_element_factory_make("webrtcbin", "b");
    if (!a_ || !b_) {
      ADD_FAILURE() << "no webrtcbin: install gstreamer1.0-plugins-bad and gstreamer1.0-nice";
      return;
    }
    gst_bin_add_many(GST_BIN(pipeline_), a_, b_, nullptr);
    g_signal_connect(a_, "on-ice-candidate", G_CALLBACK(on_candidate), b_);
    g_signal_connect(b_, "on-ice-candidate", G_CALLBACK(on_candidate), a_);
    g_signal_connect(b_, "on-data-channel", G_CALLBACK(on_data_channel), this);
    gst_element_set_state(pipeline_, GST_STATE_PLAYING);
    g_signal_emit_by_name(a_, "create-data-channel", "chat", nullptr, &channel_);
    g_signal_emit_by_name(a_, "create-offer", nullptr, gst_promise_new_with_change_func(on_offer, this, nullptr));
  }
  ~WebrtcbinPair() {
    gst_element_set_state(pipeline_, GST_STATE_NULL);
    if (channel_) g_object_unref(channel_);
    gst_object_unref(pipeline_);
  }

  // Sends `count` messages once the channel is open; true when all arrived
  // (the channel is reliable and ordered) within 20 s.
  bool exchange(int count, const std::string& tag) {
    if (!channel_ || !wait([this] { return is_open(); })) return false;
    for (int i = 0; i < count; ++i) {
      g_signal_emit_by_name(channel_, "send-string", (tag + std::to_string(i)).c_str());
    }
    return wait([&] {
      std::lock_guard lock(mutex_);
      for (int i = 0; i < count; ++i) {
        if (!received_.count(tag + std::to_string(i))) return false;
      }
      return true;
    });
  }

 private:
  template <typename F>
  static bool wait(F done) {
    const auto until = std::chrono::steady_clock::now() + 20s;
    while (!done()) {
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::sleep_for(20ms);
    }
    return true;
  }

  bool is_open() const {
    int state = 0;
    g_object_get(channel_, "ready-state", &state, nullptr);
    GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(channel_), "ready-state");
    GEnumValue* value = g_enum_get_value(G_PARAM_SPEC_ENUM(spec)->enum_class, state);
    return value && std::string(value->value_nick) == "open";
  }

  static void on_candidate(GstElement*, guint mline, gchar* candidate, GstElement* other) {
    g_signal_emit_by_name(other, "add-ice-candidate", mline, candidate);
  }
  // The description in a create-offer/create-answer reply, handed to both sides.
  static void describe(GstPromise* promise, const char* field, GstElement* local, GstElement* remote) {
    const GstStructure* reply = gst_promise_get_reply(promise);
    gpointer description = reply ? g_value_get_boxed(gst_structure_get_value(reply, field)) : nullptr;
    if (description) {
      g_signal_emit_by_name(local, "set-local-description", description, nullptr);
      g_signal_emit_by_name(remote, "set-remote-description", description, nullptr);
    }
    gst_promise_unref(promise);
  }
  static void on_offer(GstPromise* promise, gpointer data) {
    auto* self = static_cast<WebrtcbinPair*>(data);
    describe(promise, "offer", self->a_, self->b_);
    g_signal_emit_by_name(self->b_, "create-answer", nullptr, gst_promise_new_with_change_func(on_answer, self, nullptr));
  }
  static void on_answer(GstPromise* promise, gpointer data) {
    auto* self = static_cast<WebrtcbinPair*>(data);
    describe(promise, "answer", self->b_, self->a_);
  }
  static void on_data_channel(GstElement*, GObject* channel, WebrtcbinPair* self) {
    g_signal_connect(channel, "on-message-string", G_CALLBACK(on_message), self);
  }
  static void on_message(GObject*, gchar* text, WebrtcbinPair* self) {
    std::lock_guard lock(self->mutex_);
    self->received_.insert(text);
  }

  GstElement* pipeline_ = nullptr;
  GstElement *a_ = nullptr, *b_ = nullptr;
  GObject* channel_ = nullptr;
  std::mutex mutex_;
  std::set<std::string> received_;
};

class CoexistenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = TestServer::start();
    ASSERT_TRUE(started) << started.error().message;
    server_.emplace(std::move(*started));
  }

  // appsrc ! livekitdatasink -> livekitdatasrc ! appsink through the server:
  // after a warm-up, how many of 20 frames arrived byte-exact; -1 when one
  // arrived altered.
  int carry_frames(const std::string& track) {
    const std::string as = "url=" + server_->url() + " api-key=" + TestServer::kApiKey +
                           " api-secret=" + TestServer::kApiSecret + " room=" + room_ + " connect-timeout=20000";
    GstElement* rx = gst_parse_launch(("livekitdatasrc participant=alice track-name=" + track + " identity=bob " + as +
                                       " ! appsink name=out sync=false").c_str(), nullptr);
    GstElement* tx = gst_parse_launch(("appsrc name=in is-live=true format=time ! livekitdatasink track-name=" + track +
                                       " identity=alice " + as).c_str(), nullptr);
    if (!rx || !tx) {
      ADD_FAILURE() << "the pipelines did not parse (is GST_PLUGIN_PATH set?)";
      return 0;
    }
    gst_element_set_state(rx, GST_STATE_PLAYING);
    gst_element_set_state(tx, GST_STATE_PLAYING);
    GstElement* in = gst_bin_get_by_name(GST_BIN(tx), "in");
    GstElement* out = gst_bin_get_by_name(GST_BIN(rx), "out");
    auto push = [&](const std::vector<uint8_t>& bytes) {
      gst_app_src_push_buffer(GST_APP_SRC(in), gst_buffer_new_memdup(bytes.data(), bytes.size()));
    };
    auto pull = [&](GstClockTime timeout) -> std::optional<std::vector<uint8_t>> {
      GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(out), timeout);
      if (!s) return std::nullopt;
      GstBuffer* b = gst_sample_get_buffer(s);
      std::vector<uint8_t> bytes(gst_buffer_get_size(b));
      gst_buffer_extract(b, 0, bytes.data(), bytes.size());
      gst_sample_unref(s);
      return bytes;
    };
    // Warm-up: a data track forwards only once the subscription is set up.
    const std::vector<uint8_t> warm = {'w'};
    bool live = false;
    for (int i = 0; i < 200 && !live; ++i) {
      push(warm);
      live = pull(100 * GST_MSECOND).has_value();
    }
    while (pull(300 * GST_MSECOND)) {
    }
    int arrived = 0;
    for (uint32_t i = 0; i < 20 && live && arrived >= 0; ++i) {
      const auto frame = lk::test::pattern(i + 1, 1000 + 3000 * i);
      push(frame);
      auto got = pull(3 * GST_SECOND);
      if (got) arrived = *got == frame ? arrived + 1 : -1;
    }
    gst_element_set_state(tx, GST_STATE_NULL);
    gst_element_set_state(rx, GST_STATE_NULL);
    gst_object_unref(in);
    gst_object_unref(out);
    gst_object_unref(tx);
    gst_object_unref(rx);
    return arrived;
  }

  std::optional<TestServer> server_;
  std::string room_ = "room-" + std::to_string(g_get_real_time());
};

TEST_F(CoexistenceTest, OurElementsAndAWebrtcbinDataChannelBothCarryData) {
  // Ours first, then gone (process-wide state set up and finished)...
  EXPECT_GE(carry_frames("first"), 15) << "our elements, alone";
  // ...then webrtcbin...
  WebrtcbinPair pair;
  EXPECT_TRUE(pair.exchange(20, "before-")) << "webrtcbin after our elements ran";
  // ...then ours again while webrtcbin's connection lives, and webrtcbin after that.
  EXPECT_GE(carry_frames("second"), 15) << "our elements beside webrtcbin";
  EXPECT_TRUE(pair.exchange(20, "after-")) << "webrtcbin after our elements ran beside it";
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  if (auto why = TestServer::unavailable()) {
    std::cout << "SKIP: " << *why << std::endl;
    return 77;
  }
  int result = RUN_ALL_TESTS();
  gst_deinit();
  return result;
}
