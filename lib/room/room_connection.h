// A LiveKit room joined as one participant, carrying data tracks both ways:
// the object the elements share. It wires signalling (lib/signal), the WebRTC
// transport (lib/rtc) and the data-track codec (lib/datatrack) together
// (docs/protocol.md has the flows).
//
// Threads: every public method of RoomConnection, LocalDataTrack and
// DataTrackSubscription may be called from any thread. The connection runs
// its own thread with its own GMainContext, where signalling, ICE and all room
// state live. Every blocking call has a timeout and a way to be cancelled.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "datatrack/depacketizer.h"
#include "livekit_models.pb.h"
#include "util/result.h"

namespace lk::e2ee {
class KeyRing;
}

namespace lk::room {

enum class Signalling {
  Auto,  // /rtc/v1 first, /rtc when the server has no v1 (as livekit-client does)
  V1,    // single peer connection only
  V0,    // publisher + subscriber peer connections only
};
const char* to_string(Signalling signalling);

struct ConnectOptions {
  std::string url;  // ws://, wss://, http:// or https:// LiveKit server URL
  // A join token; or, when empty, one minted from these (HS256):
  std::string token;
  std::string api_key, api_secret, room, identity;
  std::string participant_name;  // only for a minted token
  std::chrono::seconds token_validity = std::chrono::hours(6);
  std::string ca_file;  // trust anchors for wss:// instead of the system's ("" = system)
  Signalling signalling = Signalling::Auto;
  unsigned connect_timeout_ms = 15000;  // whole join: WebSocket, join response, ICE, DTLS, SCTP
  // After a fault (signalling lost, peer connection failed or closed, server
  // leave with RESUME or RECONNECT, server restart): how long to keep trying
  // to reconnect before the connection ends (status() then says why);
  // 0 = never reconnect. Signalling lost (or leave{RESUME}) is first resumed
  // while the peer connections keep their DTLS and SCTP: only the WebSocket
  // is opened again, and ICE restarted on a peer connection not Connected;
  // the session (participant, track sids and handles, subscriptions) stays.
  // Anything else (an ICE failure included), or a resume that fails, is a
  // full reconnect (new join, tracks republished under the same names,
  // subscriptions requested again).
  unsigned reconnect_timeout_ms = 60000;
};

// What happened to the connection, for the elements' bus warnings. Called on
// the room thread: do not block, do not call back into the connection.
struct RoomEvent {
  enum class Kind {
    Resuming,         // signalling lost, DTLS and SCTP kept: resuming the session
    Reconnecting,     // a fault: a full reconnect follows (attempt, what happened)
    Reconnected,      // resumed or joined again (outage_ms: how long it lasted)
    TrackRepublished, // a local track is published again (new sid and handle)
    TrackLost,        // a local track could not be published again: it ended
    GaveUp,           // no reconnect within the timeout (or the server said DISCONNECT): ended
  };
  Kind kind;
  std::string message;  // what happened, for a user
  unsigned attempt = 0;
  int64_t outage_ms = 0;
};
using RoomListener = std::function<void(const RoomEvent&)>;

enum class BackPressure {
  Block,    // wait for room below the low watermark (timeout or cancel)
  DropNew,  // refuse the frame at once, counted
  DropOld,  // keep the frame in a bounded backlog; the oldest frames not yet
            // handed to the channel make room, counted
};

struct PublishOptions {
  std::string name;
  std::optional<livekit::DataTrackFrameEncoding> frame_encoding;
  std::optional<livekit::DataTrackSchemaId> schema;
  BackPressure back_pressure = BackPressure::Block;
  // Bytes waiting on the channel (not yet taken by SCTP) above which the
  // channel counts as backed up, and below which a blocked push goes on.
  // Measured with bench/room (docs/benchmarks.md): see kDefaultHighWatermark.
  size_t high_watermark = kDefaultHighWatermark;
  size_t low_watermark = kDefaultLowWatermark;
  unsigned publish_timeout_ms = 10000;  // as the official clients
  // End-to-end encryption (docs/protocol.md §13): when set, the track is
  // published with encryption GCM and every frame is encrypted with the
  // ring's current key before packetization (16 bytes more on the wire).
  std::shared_ptr<e2ee::KeyRing> e2ee;

  static constexpr size_t kDefaultHighWatermark = 1024 * 1024;
  static constexpr size_t kDefaultLowWatermark = 256 * 1024;
};

struct LocalTrackStats {
  uint64_t frames_sent = 0, bytes_sent = 0;
  uint64_t dropped_back_pressure = 0;  // DropNew refusals, Block timeouts, DropOld evictions, frames lost at a fault
  uint64_t dropped_too_large = 0;      // over 128 packets
  uint64_t queued_bytes = 0;           // on the channel and in the DropOld backlog, not yet handed to SCTP
};

class RoomConnection;
class OfflineRoom;

// One frame of LocalDataTrack::push_batch().
struct OutgoingFrame {
  std::span<const uint8_t> payload;
  std::optional<uint64_t> user_timestamp;
};

class LocalDataTrack {
 public:
  ~LocalDataTrack();
  // As the server answered (sid, handle, ...); a full reconnect republishes
  // the track under the same name, with a new sid and handle.
  livekit::DataTrackInfo info() const;

  // Sends one frame (0 is a valid user timestamp; note that livekit-client
  // drops a zero one). Refused before anything is sent when it needs more than
  // 128 packets (InvalidArgument, naming the limit), when the track is no
  // longer published (Closed), or when the channel is backed up: DropNew at
  // once, Block after timeout_ms (-1 = no limit) or cancel_push() (Timeout /
  // Cancelled); DropOld queues it and evicts older frames instead. While the
  // room reconnects the channel counts as backed up. A frame is sent whole or
  // not at all, and frames never interleave.
  lk::Result<void> push(std::span<const uint8_t> payload, std::optional<uint64_t> user_timestamp,
                        int timeout_ms = -1);
  // push() for each frame in order, under one lock, their packets leaving in
  // as few system calls as possible. A frame dropped on back-pressure (push()'s
  // Timeout, counted in stats) does not stop the rest; any other error does
  // and is returned: the frames before it were pushed, none after it.
  lk::Result<void> push_batch(std::span<const OutgoingFrame> frames, int timeout_ms = -1);
  // Wakes a blocked push (and makes later ones fail) until resume_push().
  void cancel_push();
  void resume_push();

  // Waits until the DropOld backlog has gone to the channel (for EOS); false
  // after timeout_ms or when the track is no longer published.
  bool flush(int timeout_ms);
  // Waits until every frame pushed so far has left: handed to SCTP and
  // acknowledged by the server (or abandoned). For EOS before unpublishing or
  // leaving, which would drop what is still in flight. False after timeout_ms.
  bool drain(int timeout_ms);
  // Unpublishes (returns at once): frames not yet handed to the channel are dropped.
  void unpublish();
  bool is_published() const;
  LocalTrackStats stats() const;
  // Largest payload push() accepts with a user timestamp (16 bytes less when
  // the track is encrypted).
  static size_t max_frame_size(bool encrypted = false);
  // Sends bytes as one message on the data-track channel as they are: no
  // packetizing, no checks, no stats. Only for tests playing a broken or
  // hostile publisher (tests/room HostilePeerTest).
  lk::Result<void> send_raw_packet(std::span<const uint8_t> bytes);

  struct State;

 private:
  friend class RoomConnection;
  explicit LocalDataTrack(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

struct ReceivedFrame {
  std::vector<uint8_t> payload;
  std::optional<uint64_t> user_timestamp;
  uint16_t frame_number = 0;        // the publisher's counter: a gap shows lost frames
  int64_t arrival_monotonic_us = 0; // g_get_monotonic_time() when the last packet came
  int64_t arrival_realtime_us = 0;  // g_get_real_time() then
  bool after_gap = false;  // the first frame after our connection came back: frames may be missing before it
};

enum class SubscriptionEnd {
  None,           // still live
  Unpublished,    // the publisher unpublished the track
  PublisherLeft,  // the publisher left the room
  Disconnected,   // our connection ended
  NeverPublished, // the track did not appear within the wait
  Refused,        // the server did not grant the subscription in time
  Closed,         // close() on the subscription
  KeyMissing,     // the track is end-to-end encrypted and no key ring was given
  NotEncrypted,   // a key ring was given but the track is not encrypted
};
const char* to_string(SubscriptionEnd end);

struct SubscribeOptions {
  int wait_for_track_ms = -1;           // for a track not published yet; -1 = for ever
  unsigned subscribe_timeout_ms = 10000; // for the server's grant once the track exists
  size_t max_partial_frames = 1;        // frames reassembled at once
  // Whole frames waiting for read(), bounded by count and by payload bytes
  // (0 = no byte bound); overflow drops the oldest. The count is large so a
  // burst of small frames outlasts a reader that is not scheduled for a
  // while (see kDefaultQueueFrames); the bytes keep big frames from piling up.
  size_t queue_frames = kDefaultQueueFrames;
  size_t queue_bytes = 64 << 20;
  // Keys for an end-to-end encrypted track; must be set exactly when the
  // track is encrypted (else the subscription ends: KeyMissing / NotEncrypted).
  std::shared_ptr<e2ee::KeyRing> e2ee;

  // A quarter of a second of 100-byte frames at 60,000 a second: a reader
  // held off a busy CPU for longer than 1,024 frames last (17 ms) lost part
  // of every burst (docs/benchmarks.md); 16,384 small frames hold about 3 MB.
  static constexpr size_t kDefaultQueueFrames = 16384;
};

struct SubscriptionStats {
  uint64_t frames_received = 0, bytes_received = 0;
  uint64_t dropped_queue_overflow = 0;
  uint64_t dropped_reassembly = 0;  // the depacketizer's drops, all reasons
  datatrack::DropCounts reassembly_drops;  // the same, by reason (Interrupted, Incomplete, ...)
  uint64_t frames_missing = 0;  // frame numbers skipped: frames that lost every packet (or were empty)
  uint64_t dropped_decryption = 0;  // encrypted frames that failed authentication or had no usable key
  uint64_t queued_frames = 0;
};

class DataTrackSubscription {
 public:
  ~DataTrackSubscription();
  // The track as the server described it (name, sid, publisher, encoding,
  // schema, encryption); nullopt until the track is known.
  std::optional<livekit::DataTrackInfo> info() const;
  bool wait_active(int timeout_ms);  // true once the server granted it

  // The next whole frame. Errors: Timeout (none within timeout_ms, -1 = no
  // limit), Cancelled (cancel_read()), Closed / NotFound (the subscription
  // ended: end() says why; queued frames are delivered first).
  lk::Result<ReceivedFrame> read(int timeout_ms);
  // As read() for the first frame, then also the frames queued behind it, in
  // order, up to max_frames and max_bytes of payload (the first is always
  // taken, whatever its size): one lock and at most one wait for them all,
  // for a reader that hands frames on in batches. Never waits for more than
  // the first. Replaces what `out` held; on an error `out` is empty.
  lk::Result<void> read_batch(int timeout_ms, size_t max_frames, size_t max_bytes, std::vector<ReceivedFrame>& out);
  void cancel_read();
  void resume_read();
  SubscriptionEnd end() const;
  SubscriptionStats stats() const;
  void close();  // unsubscribes; returns at once

  struct State;

 private:
  friend class RoomConnection;
  friend class OfflineRoom;
  explicit DataTrackSubscription(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

class RoomConnection {
 public:
  // Joins the room; blocks up to options.connect_timeout_ms.
  static lk::Result<std::shared_ptr<RoomConnection>> connect(const ConnectOptions& options);
  ~RoomConnection();  // leaves the room and stops the thread
  RoomConnection(const RoomConnection&) = delete;
  RoomConnection& operator=(const RoomConnection&) = delete;

  // Publishes a data track; blocks until the server answers or the publish
  // timeout. Errors say what to fix (duplicate name, invalid name, no
  // permission, a server without data tracks, ...).
  lk::Result<std::shared_ptr<LocalDataTrack>> publish_data_track(const PublishOptions& options);

  // Subscribes to `name` published by `identity` (also before it is
  // published); returns at once, frames come through read().
  std::shared_ptr<DataTrackSubscription> subscribe(const std::string& identity, const std::string& name,
                                                   const SubscribeOptions& options = {});

  // Leaves the room (idempotent). Tracks and subscriptions end.
  void close();

  // Reconnect events (RoomEvent), on the room thread. After remove_listener
  // returns the listener is not running and is never called again.
  uint64_t add_listener(RoomListener listener);
  void remove_listener(uint64_t id);

  struct Stats {
    uint64_t malformed_packets = 0;       // data-track packets that did not parse, dropped
    uint64_t unknown_handle_packets = 0;  // packets for no subscription of ours, dropped
    uint64_t malformed_signal_messages = 0;
    int64_t signal_rtt_ms = -1;           // last ping round trip
  };
  Stats stats() const;
  // An error once the connection ended on its own (a server leave with
  // DISCONNECT, no reconnect within reconnect_timeout_ms); ok while connected,
  // while reconnecting, and after close().
  lk::Result<void> status() const;

  std::string room() const;  // the room's name, as the server's join response gave it
  std::string identity() const;
  std::string participant_sid() const;
  std::string server_version() const;
  Signalling signalling() const;  // the protocol in use: V1 or V0

  struct Impl;

 private:
  explicit RoomConnection(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace lk::room
