// One room participant on lib/room, driven by JSON lines: one command per stdin
// line, one event per stdout line (the style of tests/interop/wrtc/peer.mjs).
// The Node interop tests pair it with the official client in Chromium.
//
// Commands ("cmd") and their answers ("ev"):
//   join {url, token | key, secret, room, identity; signalling: auto|v1|v0}
//        -> joined {sid, identity, signalling, serverVersion, maxFrameSize}
//   publish {name, encoding?, schema? {name, encoding}}
//        -> published {name, sid, handle, encoding?, schema?}
//      an encoding is a well-known enum name (WELL_KNOWN_FRAME_ENCODING_JSON,
//      WELL_KNOWN_SCHEMA_ENCODING_JSON_SCHEMA, ...) or any other text (custom).
//   push {name, size, seed | text, userTimestamp? (decimal string)}
//        -> pushed {name, size, sha256, userTimestamp}
//   subscribe {identity, name, maxPartialFrames?, queueFrames?} -> active {name, sid, encoding?, schema?}, then
//        frame {name, size, sha256, userTimestamp (decimal string or null),
//        frameNumber} for each frame, and ended {name, reason} when it ends
//        (reason "left" after leave or EOF, else lib/room's words)
//   stats {name} -> stats {name, framesReceived, droppedReassembly, droppedQueueOverflow}
//   unpublish {name} -> unpublished {name}
//   leave -> left
// A failed command answers error {cmd, message}. Stdin EOF leaves and exits 0.
//
// Payloads are the page's generator (payloadFor in
// tests/interop/browser/lib/client-page.js): xorshift32 from
// (seed * 2654435761) mod 2^32, 1 when that is 0. The page multiplies in
// doubles, so seeds below 2^21 give the same bytes on both sides.
#include <glib.h>
#include <json-glib/json-glib.h>

#include <atomic>
#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "room/room_connection.h"

using namespace lk::room;

namespace {

std::vector<uint8_t> page_payload(size_t size, uint32_t seed) {
  uint32_t x = static_cast<uint32_t>(uint64_t{seed} * 2654435761u);
  if (x == 0) x = 1;
  std::vector<uint8_t> bytes(size);
  for (auto& b : bytes) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<uint8_t>(x & 0xff);
  }
  return bytes;
}

std::string sha256_hex(const std::vector<uint8_t>& bytes) {
  gchar* hex = g_compute_checksum_for_data(G_CHECKSUM_SHA256, bytes.data(), bytes.size());
  std::string text = hex;
  g_free(hex);
  return text;
}

std::mutex out_mutex;

// One event object; emit() writes it as one line.
class Event {
 public:
  explicit Event(const char* ev) : b_(json_builder_new()) {
    json_builder_begin_object(b_);
    set("ev", ev);
  }
  ~Event() { g_object_unref(b_); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  Event& set(const char* name, const std::string& value) {
    json_builder_set_member_name(b_, name);
    json_builder_add_string_value(b_, value.c_str());
    return *this;
  }
  Event& set(const char* name, const char* value) { return set(name, std::string(value)); }
  Event& set(const char* name, int64_t value) {
    json_builder_set_member_name(b_, name);
    json_builder_add_int_value(b_, value);
    return *this;
  }
  Event& null(const char* name) {
    json_builder_set_member_name(b_, name);
    json_builder_add_null_value(b_);
    return *this;
  }
  // Encoding and schema of a track as the server described it, when set.
  Event& track_format(const livekit::DataTrackInfo& info) {
    if (info.has_frame_encoding()) {
      const auto& e = info.frame_encoding();
      set("encoding", e.has_custom() ? e.custom()
                                     : livekit::DataTrackFrameEncoding::WellKnownFrameEncoding_Name(e.well_known()));
    }
    if (info.has_schema()) {
      const auto& e = info.schema().encoding();
      json_builder_set_member_name(b_, "schema");
      json_builder_begin_object(b_);
      set("name", info.schema().name());
      set("encoding", e.has_custom() ? e.custom()
                                     : livekit::DataTrackSchemaEncoding::WellKnownSchemaEncoding_Name(e.well_known()));
      json_builder_end_object(b_);
    }
    return *this;
  }

  void emit() {
    json_builder_end_object(b_);
    JsonNode* root = json_builder_get_root(b_);
    JsonGenerator* generator = json_generator_new();
    json_generator_set_root(generator, root);
    gchar* line = json_generator_to_data(generator, nullptr);
    {
      std::lock_guard lock(out_mutex);
      std::cout << line << std::endl;
    }
    g_free(line);
    g_object_unref(generator);
    json_node_unref(root);
  }

 private:
  JsonBuilder* b_;
};

void fail(const std::string& cmd, const std::string& message) {
  Event("error").set("cmd", cmd).set("message", message).emit();
}

// A string member, or "" when it is missing or not a string.
std::string text(JsonObject* o, const char* name) {
  JsonNode* node = o ? json_object_get_member(o, name) : nullptr;
  const char* value = node && JSON_NODE_HOLDS_VALUE(node) ? json_node_get_string(node) : nullptr;
  return value ? value : "";
}

// A subscription and the thread that reports its frames.
struct Receiver {
  std::shared_ptr<DataTrackSubscription> sub;
  std::thread thread;
  std::atomic<bool> stop{false};
};

// Why the subscription ended: ours ("left") or as lib/room says.
std::string end_reason(const Receiver& r) { return r.stop ? "left" : to_string(r.sub->end()); }

void receive(Receiver& r, const std::string& name) {
  while (!r.sub->wait_active(200)) {
    if (r.stop || r.sub->end() != SubscriptionEnd::None) {
      Event("ended").set("name", name).set("reason", end_reason(r)).emit();
      return;
    }
  }
  Event active("active");
  active.set("name", name);
  if (auto info = r.sub->info()) active.set("sid", info->sid()).track_format(*info);
  active.emit();
  for (;;) {
    auto frame = r.sub->read(-1);
    if (!frame) {
      Event("ended").set("name", name).set("reason", end_reason(r)).emit();
      return;
    }
    Event ev("frame");
    ev.set("name", name).set("size", static_cast<int64_t>(frame->payload.size())).set("sha256", sha256_hex(frame->payload));
    if (frame->user_timestamp) {
      ev.set("userTimestamp", std::to_string(*frame->user_timestamp));
    } else {
      ev.null("userTimestamp");
    }
    ev.set("frameNumber", static_cast<int64_t>(frame->frame_number)).emit();
  }
}

class Peer {
 public:
  ~Peer() { leave(); }

  void run(const std::string& cmd, JsonObject* c) {
    if (cmd == "join") return join(c);
    if (cmd == "leave") {
      leave();
      return Event("left").emit();
    }
    if (!room_) return fail(cmd, "not joined");
    if (cmd == "publish") return publish(c);
    if (cmd == "push") return push(c);
    if (cmd == "subscribe") return subscribe(c);
    if (cmd == "unpublish") return unpublish(c);
    if (cmd == "stats") return stats(c);
    fail(cmd, "unknown command \"" + cmd + "\"");
  }

 private:
  void join(JsonObject* c) {
    if (room_) return fail("join", "already joined");
    ConnectOptions o;
    o.url = text(c, "url");
    o.token = text(c, "token");
    o.api_key = text(c, "key");
    o.api_secret = text(c, "secret");
    o.room = text(c, "room");
    o.identity = text(c, "identity");
    const std::string signalling = text(c, "signalling");
    if (signalling == "v1") {
      o.signalling = Signalling::V1;
    } else if (signalling == "v0") {
      o.signalling = Signalling::V0;
    } else if (!signalling.empty() && signalling != "auto") {
      return fail("join", "signalling must be auto, v1 or v0");
    }
    o.connect_timeout_ms = 20000;
    auto room = RoomConnection::connect(o);
    if (!room) return fail("join", room.error().message);
    room_ = *room;
    Event("joined")
        .set("sid", room_->participant_sid())
        .set("identity", room_->identity())
        .set("signalling", to_string(room_->signalling()))
        .set("serverVersion", room_->server_version())
        .set("maxFrameSize", static_cast<int64_t>(LocalDataTrack::max_frame_size()))
        .emit();
  }

  void publish(JsonObject* c) {
    PublishOptions o;
    o.name = text(c, "name");
    if (json_object_has_member(c, "encoding")) {
      const std::string encoding = text(c, "encoding");
      livekit::DataTrackFrameEncoding e;
      livekit::DataTrackFrameEncoding::WellKnownFrameEncoding known;
      if (livekit::DataTrackFrameEncoding::WellKnownFrameEncoding_Parse(encoding, &known)) {
        e.set_well_known(known);
      } else {
        e.set_custom(encoding);
      }
      o.frame_encoding = e;
    }
    if (json_object_has_member(c, "schema")) {
      JsonObject* s = json_object_get_object_member(c, "schema");
      livekit::DataTrackSchemaId schema;
      schema.set_name(text(s, "name"));
      const std::string encoding = text(s, "encoding");
      livekit::DataTrackSchemaEncoding::WellKnownSchemaEncoding known;
      if (livekit::DataTrackSchemaEncoding::WellKnownSchemaEncoding_Parse(encoding, &known)) {
        schema.mutable_encoding()->set_well_known(known);
      } else {
        schema.mutable_encoding()->set_custom(encoding);
      }
      o.schema = schema;
    }
    auto track = room_->publish_data_track(o);
    if (!track) return fail("publish", track.error().message);
    tracks_[o.name] = *track;
    const auto& info = (*track)->info();
    Event("published")
        .set("name", o.name)
        .set("sid", info.sid())
        .set("handle", static_cast<int64_t>(info.pub_handle()))
        .track_format(info)
        .emit();
  }

  void push(JsonObject* c) {
    const std::string name = text(c, "name");
    auto track = tracks_.find(name);
    if (track == tracks_.end()) return fail("push", "no published track \"" + name + "\"");
    const auto size = static_cast<size_t>(json_object_get_int_member_with_default(c, "size", 0));
    const auto seed = static_cast<uint32_t>(json_object_get_int_member_with_default(c, "seed", 0));
    std::optional<uint64_t> user_timestamp;
    const std::string ts = text(c, "userTimestamp");
    if (!ts.empty()) {
      guint64 value = 0;
      if (!g_ascii_string_to_unsigned(ts.c_str(), 10, 0, G_MAXUINT64, &value, nullptr)) {
        return fail("push", "userTimestamp is not a decimal u64: " + ts);
      }
      user_timestamp = value;
    }
    const std::string probe = text(c, "text");
    const auto payload = json_object_has_member(c, "text") ? std::vector<uint8_t>(probe.begin(), probe.end())
                                                            : page_payload(size, seed);
    auto pushed = track->second->push(payload, user_timestamp, 10000);
    if (!pushed) return fail("push", pushed.error().message);
    Event ev("pushed");
    ev.set("name", name).set("size", static_cast<int64_t>(payload.size())).set("sha256", sha256_hex(payload));
    if (user_timestamp) {
      ev.set("userTimestamp", std::to_string(*user_timestamp));
    } else {
      ev.null("userTimestamp");
    }
    ev.emit();
  }

  void subscribe(JsonObject* c) {
    const std::string name = text(c, "name");
    if (receivers_.count(name)) return fail("subscribe", "already subscribed to \"" + name + "\"");
    auto r = std::make_unique<Receiver>();
    SubscribeOptions o;
    o.wait_for_track_ms = 15000;
    o.queue_frames = static_cast<size_t>(json_object_get_int_member_with_default(c, "queueFrames", 256));
    o.max_partial_frames = static_cast<size_t>(json_object_get_int_member_with_default(c, "maxPartialFrames", 1));
    r->sub = room_->subscribe(text(c, "identity"), name, o);
    r->thread = std::thread(receive, std::ref(*r), name);
    receivers_[name] = std::move(r);
  }

  void stats(JsonObject* c) {
    const std::string name = text(c, "name");
    auto r = receivers_.find(name);
    if (r == receivers_.end()) return fail("stats", "not subscribed to \"" + name + "\"");
    const auto st = r->second->sub->stats();
    Event("stats").set("name", name).set("framesReceived", static_cast<int64_t>(st.frames_received))
        .set("droppedReassembly", static_cast<int64_t>(st.dropped_reassembly))
        .set("droppedQueueOverflow", static_cast<int64_t>(st.dropped_queue_overflow)).emit();
  }

  void unpublish(JsonObject* c) {
    const std::string name = text(c, "name");
    auto track = tracks_.find(name);
    if (track == tracks_.end()) return fail("unpublish", "no published track \"" + name + "\"");
    track->second->unpublish();
    tracks_.erase(track);
    Event("unpublished").set("name", name).emit();
  }

  void leave() {
    for (auto& [name, r] : receivers_) {
      r->stop = true;
      r->sub->cancel_read();
      r->thread.join();
    }
    receivers_.clear();
    tracks_.clear();
    if (room_) room_->close();
    room_.reset();
  }

  std::shared_ptr<RoomConnection> room_;
  std::map<std::string, std::shared_ptr<LocalDataTrack>> tracks_;
  std::map<std::string, std::unique_ptr<Receiver>> receivers_;
};

}  // namespace

int main() {
  Peer peer;
  for (std::string line; std::getline(std::cin, line);) {
    if (line.empty()) continue;
    JsonParser* parser = json_parser_new();
    GError* error = nullptr;
    if (!json_parser_load_from_data(parser, line.c_str(), -1, &error)) {
      fail("", std::string("bad JSON: ") + error->message);
      g_error_free(error);
    } else if (JsonNode* root = json_parser_get_root(parser); !JSON_NODE_HOLDS_OBJECT(root)) {
      fail("", "a command is a JSON object");
    } else {
      JsonObject* c = json_node_get_object(root);
      peer.run(text(c, "cmd"), c);
    }
    g_object_unref(parser);
  }
  return 0;
}
