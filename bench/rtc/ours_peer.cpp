// Our transport (lk::rtc::PeerConnection) as a JSON-lines peer process, the
// twin of tests/interop/wrtc/peer.mjs (same commands and events, the subset a
// benchmark needs): createChannel, createOffer, setRemote, candidate, send,
// burst, report, stats, close, exit; and diag (every layer's counters). The bench pairs it with itself, the
// libwebrtc peer or the pion peer, so every combination runs as two processes.
#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <json-glib/json-glib.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "payload.h"
#include "peer_process.h"
#include "rtc/peer_connection.h"

namespace {

using lk::rtc::DataChannel;
using lk::test::PeerEvent;

constexpr size_t kBurstHighWater = 4 << 20;
constexpr size_t kBurstLowWater = 1 << 20;

double now_ms() { return g_get_monotonic_time() / 1000.0; }

int64_t cpu_us() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000LL + usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
}

// One event line on stdout, built like a command.
class Emit {
 public:
  explicit Emit(const char* type) : object_(json_object_new()) { json_object_set_string_member(object_, "ev", type); }
  ~Emit() {
    JsonNode* node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, object_);
    gchar* text = json_to_string(node, FALSE);
    std::fprintf(stdout, "%s\n", text);
    std::fflush(stdout);
    g_free(text);
    json_node_unref(node);
  }
  Emit& set(const char* k, const char* v) { return set(k, std::string(v)); }
  Emit& set(const char* k, const std::string& v) { json_object_set_string_member(object_, k, v.c_str()); return *this; }
  Emit& set(const char* k, int64_t v) { json_object_set_int_member(object_, k, v); return *this; }
  Emit& set(const char* k, double v) { json_object_set_double_member(object_, k, v); return *this; }
  Emit& set(const char* k, bool v) { json_object_set_boolean_member(object_, k, v); return *this; }

 private:
  JsonObject* object_;
};

struct Channel {
  std::shared_ptr<DataChannel> channel;
  bool opened = false;
  bool each = true;  // one "message" event per message, else counters only
  int64_t count = 0, bytes = 0, seq_gaps = 0;
  uint32_t next_seq = 0;
  double first_ms = 0, last_ms = 0;
  // burst state
  std::vector<uint8_t> burst_message;
  int64_t burst_sent = 0, burst_count = 0;
  double burst_t0 = 0, burst_deadline = 0;
  bool burst_active = false;
  guint burst_timer = 0;
};

class OursPeer {
 public:
  OursPeer(GMainContext* context, std::unique_ptr<lk::rtc::PeerConnection> pc) : context_(context), pc_(std::move(pc)) {
    pc_->on_local_candidate = [](const std::string& candidate, const std::string& mid) {
      Emit("candidate").set("candidate", candidate).set("sdpMid", mid);
    };
    pc_->on_state_change = [](lk::rtc::PeerState state) {
      Emit("state").set("connection", std::string(lk::rtc::to_string(state)));
    };
    pc_->on_error = [](const lk::Error& error) { Emit("error").set("cmd", "pc").set("message", error.message); };
    pc_->on_data_channel = [this](std::shared_ptr<DataChannel> channel) {
      Emit("channel").set("label", channel->label()).set("id", int64_t{channel->id()})
          .set("ordered", channel->init().ordered);
      track(channel);
    };
  }

  // Returns an error message, or "" when the command was accepted.
  std::string run(const PeerEvent& c) {
    const std::string cmd = c.str("cmd");
    if (cmd == "createChannel") {
      lk::rtc::DataChannelInit init;
      init.ordered = !c.has("ordered") || c.flag("ordered");
      if (c.has("maxRetransmits")) init.max_retransmits = static_cast<uint16_t>(c.num("maxRetransmits"));
      if (c.has("maxPacketLifeTime")) init.max_packet_life_time_ms = static_cast<uint16_t>(c.num("maxPacketLifeTime"));
      auto channel = pc_->create_data_channel(c.str("label"), init);
      if (!channel.ok()) return channel.error().message;
      track(channel.value());
    } else if (cmd == "createOffer") {
      auto offer = pc_->create_offer();
      if (!offer.ok()) return offer.error().message;
      Emit("sdp").set("type", "offer").set("sdp", offer.value());
    } else if (cmd == "setRemote") {
      auto set = pc_->set_remote_description(c.str("type"), c.str("sdp"));
      if (!set.ok()) return set.error().message;
      if (c.str("type") == "offer") {
        auto answer = pc_->create_answer();
        if (!answer.ok()) return answer.error().message;
        Emit("sdp").set("type", "answer").set("sdp", answer.value());
      }
    } else if (cmd == "candidate") {
      if (c.str("candidate").empty()) {
        pc_->add_remote_end_of_candidates();
      } else if (auto added = pc_->add_remote_candidate(c.str("candidate"), c.str("sdpMid")); !added.ok()) {
        return added.error().message;
      }
    } else if (cmd == "send" || cmd == "burst" || cmd == "report" || cmd == "stats" || cmd == "close") {
      auto it = channels_.find(c.str("label"));
      if (it == channels_.end()) return "no channel labelled \"" + c.str("label") + "\"";
      return run_on_channel(cmd, c, *it->second);
    } else if (cmd == "diag") {
      diag(c.str("label"));
    } else if (cmd == "exit") {
      std::exit(0);
    } else {
      return "unknown command \"" + cmd + "\"";
    }
    return "";
  }

 private:
  std::string run_on_channel(const std::string& cmd, const PeerEvent& c, Channel& ch) {
    if (cmd == "send") {
      auto sent = ch.channel->send(lk::test::pattern(static_cast<uint32_t>(c.num("seed")), c.num("size")));
      if (!sent.ok()) return sent.error().message;
    } else if (cmd == "burst") {
      if (ch.burst_active) return "a burst is already running";
      ch.burst_message = lk::test::pattern(static_cast<uint32_t>(c.num("seed")), c.num("size"));
      ch.burst_count = c.has("count") ? c.num("count") : INT64_MAX;
      ch.burst_t0 = now_ms();
      ch.burst_deadline = c.has("durationMs") ? ch.burst_t0 + c.real("durationMs") : 1e300;
      ch.burst_sent = 0;
      ch.burst_active = true;
      pump(ch);
    } else if (cmd == "report") {
      ch.each = c.str("mode") != "count";
      ch.count = ch.bytes = ch.seq_gaps = 0;
      ch.next_seq = 0;
      ch.first_ms = ch.last_ms = 0;
    } else if (cmd == "stats") {
      Emit("stats").set("label", ch.channel->label()).set("count", ch.count).set("bytes", ch.bytes)
          .set("firstMs", ch.first_ms).set("lastMs", ch.last_ms).set("seqGaps", ch.seq_gaps)
          .set("cpuUs", cpu_us()).set("bufferedAmount", static_cast<int64_t>(ch.channel->buffered_amount()));
    } else if (cmd == "close") {
      ch.channel->close();
    }
    return "";
  }

  // Every layer's state and counters (bench/rtc's stall report), with the
  // channel's when there is one of that label.
  void diag(const std::string& label) {
    auto st = pc_->transport_status();
    Emit e("diag");
    e.set("pc", std::string(lk::rtc::to_string(pc_->state()))).set("ice", st.ice).set("dtls", st.dtls)
        .set("sctp", st.sctp).set("datagramsIn", int64_t(st.datagrams_in)).set("datagramsOut", int64_t(st.datagrams_out))
        .set("datagramsFailed", int64_t(st.datagrams_failed)).set("msSinceReceive", st.ms_since_receive)
        .set("sctpBytesIn", int64_t(st.sctp_bytes_in)).set("sctpBytesOut", int64_t(st.sctp_bytes_out))
        .set("dtlsWriteFailures", int64_t(st.dtls_write_failures))
        .set("peerRwnd", int64_t{st.association.peer_rwnd}).set("unackedChunks", int64_t{st.association.unacked_chunks})
        .set("pendingChunks", int64_t{st.association.pending_chunks}).set("cwnd", int64_t{st.association.cwnd})
        .set("rtoMs", int64_t{st.association.rto_ms}).set("writableEvents", int64_t{st.association.writable_events});
    auto it = channels_.find(label);
    if (it == channels_.end()) return;
    const Channel& ch = *it->second;
    e.set("channel", std::string(ch.channel->is_open() ? "open" : "closed")).set("messagesIn", ch.count)
        .set("messagesOut", ch.burst_sent).set("bufferedAmount", static_cast<int64_t>(ch.channel->buffered_amount()));
  }

  void track(std::shared_ptr<DataChannel> channel) {
    auto ch = std::make_shared<Channel>();
    ch->channel = channel;
    Channel* raw = ch.get();
    channel->on_open = [raw] {
      if (raw->opened) return;
      raw->opened = true;
      Emit("open").set("label", raw->channel->label()).set("id", int64_t{raw->channel->id()});
    };
    channel->on_close = [raw] { Emit("close").set("label", raw->channel->label()); };
    channel->on_message = [raw](std::span<const uint8_t> data, bool binary) { received(*raw, data, binary); };
    channel->on_buffered_amount_low = [this, raw] { if (raw->burst_active) pump(*raw); };
    channels_[channel->label()] = ch;
    // Remote channels arrive open, and one created while connected may be too.
    if (channel->is_open()) channel->on_open();
  }

  static void received(Channel& ch, std::span<const uint8_t> data, bool binary) {
    double t = now_ms();
    if (ch.count == 0) ch.first_ms = t;
    ch.last_ms = t;
    ++ch.count;
    ch.bytes += static_cast<int64_t>(data.size());
    if (data.size() >= 4) {
      uint32_t seq = lk::test::burst_index(data);
      if (seq != ch.next_seq) ++ch.seq_gaps;
      ch.next_seq = seq + 1;
    }
    if (ch.each) {
      Emit("message").set("label", ch.channel->label()).set("size", static_cast<int64_t>(data.size()))
          .set("hash", lk::test::sha256_hex(data)).set("binary", binary);
    }
  }

  // Sends while the channel's queue is under the high mark; resumes from the
  // buffered-amount-low callback or, failing that, a 1 ms timer.
  void pump(Channel& ch) {
    if (ch.burst_timer) {
      g_source_remove(ch.burst_timer);
      ch.burst_timer = 0;
    }
    ch.channel->set_buffered_amount_low_threshold(kBurstLowWater);
    bool done = false;
    while (ch.channel->buffered_amount() < kBurstHighWater) {
      if (ch.burst_sent == ch.burst_count || (ch.burst_sent % 64 == 0 && now_ms() >= ch.burst_deadline)) {
        done = true;
        break;
      }
      lk::test::stamp_burst_index(ch.burst_message, static_cast<uint32_t>(ch.burst_sent));
      auto sent = ch.channel->send(ch.burst_message);
      if (!sent.ok()) {
        ch.burst_active = false;
        Emit("error").set("cmd", "burst").set("message", sent.error().message);
        return;
      }
      ++ch.burst_sent;
    }
    if (done && ch.channel->buffered_amount() == 0) {
      ch.burst_active = false;
      Emit("drained").set("label", ch.channel->label()).set("count", ch.burst_sent)
          .set("ms", now_ms() - ch.burst_t0);
      return;
    }
    auto* source = g_timeout_source_new(1);
    struct Again { OursPeer* self; Channel* ch; };
    g_source_set_callback(
        source,
        [](gpointer data) {
          auto* again = static_cast<Again*>(data);
          again->ch->burst_timer = 0;
          again->self->pump(*again->ch);
          return G_SOURCE_REMOVE;
        },
        new Again{this, &ch}, [](gpointer data) { delete static_cast<Again*>(data); });
    ch.burst_timer = g_source_attach(source, context_);
    g_source_unref(source);
  }

  GMainContext* context_;
  std::unique_ptr<lk::rtc::PeerConnection> pc_;
  std::map<std::string, std::shared_ptr<Channel>> channels_;
};

struct Input {
  OursPeer* peer;
  GDataInputStream* stream;
  GMainLoop* loop;
};

void read_line(Input* input);

void on_line(GObject* source, GAsyncResult* result, gpointer data) {
  auto* input = static_cast<Input*>(data);
  gsize length = 0;
  gchar* text = g_data_input_stream_read_line_finish(G_DATA_INPUT_STREAM(source), result, &length, nullptr);
  if (!text) {  // the driver went away
    g_main_loop_quit(input->loop);
    return;
  }
  std::string line(text, length);
  g_free(text);
  JsonParser* parser = json_parser_new();
  if (!json_parser_load_from_data(parser, line.c_str(), static_cast<gssize>(line.size()), nullptr) ||
      !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
    Emit("error").set("cmd", "").set("message", "bad JSON: " + line.substr(0, 80));
  } else {
    std::shared_ptr<JsonNode> node(json_node_copy(json_parser_get_root(parser)), json_node_unref);
    PeerEvent command(node, line);
    std::string failed = input->peer->run(command);
    if (!failed.empty()) Emit("error").set("cmd", command.str("cmd")).set("message", failed);
  }
  g_object_unref(parser);
  read_line(input);
}

void read_line(Input* input) {
  g_data_input_stream_read_line_async(input->stream, G_PRIORITY_DEFAULT, nullptr, on_line, input);
}

}  // namespace

int main(int argc, char** argv) {
  g_log_writer_default_set_use_stderr(TRUE);  // stdout carries only JSON events
  unsigned sctp_mtu = lk::rtc::Configuration{}.sctp_mtu;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--sctp-mtu=", 11) == 0) {
      sctp_mtu = static_cast<unsigned>(std::strtoul(argv[i] + 11, nullptr, 10));
    } else {
      std::fprintf(stderr, "usage: %s [--sctp-mtu=N]\n", argv[0]);
      return 2;
    }
  }
  GMainContext* context = g_main_context_default();
  lk::rtc::Configuration config;
  config.context = context;
  config.sctp_mtu = sctp_mtu;
  config.ice_tcp = false;
  auto pc = lk::rtc::PeerConnection::create(config);
  if (!pc) {
    Emit("error").set("cmd", "").set("message", pc.error().message);
    return 1;
  }
  GMainLoop* loop = g_main_loop_new(context, FALSE);
  {
    OursPeer peer(context, std::move(pc).value());
    GInputStream* in = g_unix_input_stream_new(0, FALSE);
    Input input{&peer, g_data_input_stream_new(in), loop};
    g_object_unref(in);
    Emit("ready").set("pid", static_cast<int64_t>(getpid()));
    read_line(&input);
    g_main_loop_run(loop);
    g_object_unref(input.stream);
  }
  g_main_loop_unref(loop);
  return 0;
}
