#undef G_LOG_DOMAIN
#define G_LOG_DOMAIN "livekit-room"

#include "room/room_connection.h"

#include <glib.h>

#include <atomic>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "datatrack/depacketizer.h"
#include "datatrack/packet.h"
#include "datatrack/packetizer.h"
#include "e2ee/key_ring.h"
#include "livekit_rtc.pb.h"
#include "room/offline_room.h"
#include "room/reconnect_policy.h"
#include "room/remote_tracks.h"
#include "room/trickle.h"
#include "rtc/peer_connection.h"
#include "rtc/udp_batch.h"
#include "signal/join_url.h"
#include "signal/signal_client.h"
#include "signal/token.h"
#include "util/post.h"
#include "util/scoped_source.h"

namespace lk::room {
namespace {

constexpr const char* kDataTrackLabel = "_data_track";

// How long a peer connection closed by the server waits for the server's
// leave (which says whether to reconnect) before it counts as a fault.
constexpr unsigned kLeaveGraceMs = 500;

// The server text that tells a missing room from a missing /rtc/v1 route
// (livekit-client falls back to v0 only on a 404 without it).
constexpr const char* kRoomMissingText = "requested room does not exist";

const char* reason_name(livekit::RequestResponse::Reason reason) {
  return livekit::RequestResponse::Reason_Name(reason).c_str();
}

// What the server's refusal of a publish means for the user.
lk::Error publish_refusal(const livekit::RequestResponse& rr, const std::string& name) {
  using R = livekit::RequestResponse;
  const std::string server = rr.message().empty() ? "" : " (server: " + rr.message() + ")";
  switch (rr.reason()) {
    case R::NOT_ALLOWED:
      return make_error(ErrorKind::NotAuthorized,
                        "publishing data track '" + name + "' is not allowed" + server +
                            ": the token needs the canPublishData grant, and the server must have data tracks "
                            "enabled (livekit-server: enable_data_tracks)");
    case R::DUPLICATE_NAME:
      return make_error(ErrorKind::InvalidArgument,
                        "this participant already publishes a data track named '" + name + "'" + server);
    case R::INVALID_NAME:
      return make_error(ErrorKind::InvalidArgument,
                        "invalid data track name '" + name + "': it must be 1 to 256 bytes" + server);
    case R::LIMIT_EXCEEDED:
      return make_error(ErrorKind::Unsupported, "the server's limit of data tracks is reached" + server);
    case R::INVALID_REQUEST:
      return make_error(ErrorKind::InvalidArgument,
                        "the server refused the frame encoding or schema of '" + name + "'" + server);
    default:
      return make_error(ErrorKind::Internal, std::string("the server refused to publish '") + name + "': " +
                                                 reason_name(rr.reason()) + server);
  }
}

}  // namespace

const char* to_string(Signalling s) {
  switch (s) {
    case Signalling::Auto: return "auto";
    case Signalling::V1: return "v1";
    case Signalling::V0: return "v0";
  }
  return "?";
}

const char* to_string(SubscriptionEnd end) {
  switch (end) {
    case SubscriptionEnd::None: return "live";
    case SubscriptionEnd::Unpublished: return "the track was unpublished";
    case SubscriptionEnd::PublisherLeft: return "the publisher left the room";
    case SubscriptionEnd::Disconnected: return "the connection to the room ended";
    case SubscriptionEnd::NeverPublished: return "the track was not published in time";
    case SubscriptionEnd::Refused: return "the server did not grant the subscription in time";
    case SubscriptionEnd::Closed: return "the subscription was closed";
    case SubscriptionEnd::KeyMissing: return "the track is end-to-end encrypted and no E2EE key was set for it";
    case SubscriptionEnd::NotEncrypted: return "an E2EE key was set but the track is not end-to-end encrypted";
  }
  return "?";
}

// ---------------------------------------------------------------------------
// Local tracks: pushed from any thread; the channel's send is thread-safe.

struct LocalDataTrack::State {
  std::weak_ptr<RoomConnection::Impl> room;
  livekit::DataTrackInfo info;
  BackPressure back_pressure;
  size_t high_watermark = 0, low_watermark = 0;
  unsigned publish_timeout_ms = 10000;
  // Room thread only: the wait before publishing it again after a DuplicateName.
  lk::ScopedSource republish_timer;
  unsigned republish_attempt = 0;
  std::shared_ptr<e2ee::KeyRing> e2ee;  // null for a clear track
  std::vector<uint8_t> sealed;          // the encrypted frame, reused

  struct Pending {
    std::vector<uint8_t> payload;
    datatrack::Extensions extensions;
  };

  mutable std::mutex mutex;
  std::condition_variable room_available;  // the channel drained, or the track stopped
  // The channel of the current connection; none while the room reconnects.
  std::shared_ptr<rtc::DataChannel> channel;
  datatrack::Packetizer packetizer;
  std::deque<Pending> backlog;  // DropOld only
  size_t backlog_bytes = 0;
  bool published = true;
  bool cancelled = false;
  LocalTrackStats stats;

  State(uint16_t handle) : packetizer(datatrack::Packetizer::with_system_clock(handle)) {}

  bool backed_up() const { return !channel || channel->buffered_amount() > high_watermark; }
  bool below_low_watermark() const { return channel && channel->buffered_amount() <= low_watermark; }

  // One whole frame to the channel; the caller holds the mutex, so frames
  // never interleave.
  lk::Result<void> send_locked(std::span<const uint8_t> payload, datatrack::Extensions extensions) {
    const size_t plain_size = payload.size();
    if (e2ee) {  // the whole frame, once, before packetization; the user timestamp stays clear
      auto sealed_with = e2ee->encrypt(payload, sealed);
      if (!sealed_with) return sealed_with.error();
      extensions.e2ee = *sealed_with;
      payload = sealed;
    }
    lk::Result<void> sent;
    auto packetized = packetizer.packetize(payload, extensions, [&](std::span<const uint8_t> packet) {
      if (sent) sent = channel->send(packet);
    });
    if (!packetized) return packetized.error();
    if (!sent) return sent.error();
    ++stats.frames_sent;
    stats.bytes_sent += plain_size;
    return lk::ok();
  }

  // Hands backlog frames to the channel while it has room (any thread, mutex held).
  void drain_backlog_locked() {
    while (!backlog.empty() && published && !backed_up()) {
      Pending frame = std::move(backlog.front());
      backlog.pop_front();
      backlog_bytes -= frame.payload.size();
      auto sent = send_locked(frame.payload, frame.extensions);
      if (!sent) g_debug("backlog frame not sent: %s", sent.error().message.c_str());
    }
    if (backlog.empty()) room_available.notify_all();
  }
};

// ---------------------------------------------------------------------------
// Subscriptions: filled on the room thread, read from any thread.

struct DataTrackSubscription::State {
  std::weak_ptr<RoomConnection::Impl> room;
  std::string identity, name;
  SubscribeOptions options;

  static std::shared_ptr<State> make(std::weak_ptr<RoomConnection::Impl> room, const std::string& identity,
                                     const std::string& name, const SubscribeOptions& options) {
    auto state = std::make_shared<State>();
    state->room = std::move(room);
    state->identity = identity;
    state->name = name;
    state->options = options;
    return state;
  }

  // Room thread only.
  std::optional<datatrack::Depacketizer> depacketizer;
  lk::ScopedSource timer;
  bool requested = false;  // update_data_subscription sent

  mutable std::mutex mutex;
  std::condition_variable changed;
  std::optional<livekit::DataTrackInfo> info;
  std::string track_sid;
  bool active = false;
  bool cancelled = false;
  SubscriptionEnd end = SubscriptionEnd::None;
  std::deque<ReceivedFrame> queue;
  size_t queued_bytes = 0;  // payload bytes in queue
  SubscriptionStats stats;

  ReceivedFrame pop_front() {
    ReceivedFrame frame = std::move(queue.front());
    queue.pop_front();
    queued_bytes -= frame.payload.size();
    return frame;
  }
  bool gap = false;  // our connection came back: the next frame is after a gap

  void finish(SubscriptionEnd why) {
    std::lock_guard lock(mutex);
    if (end == SubscriptionEnd::None) end = why;
    active = false;
    changed.notify_all();
  }
};

// ---------------------------------------------------------------------------

struct RoomConnection::Impl : std::enable_shared_from_this<Impl> {
  GMainContext* context = nullptr;
  GMainLoop* loop = nullptr;
  std::thread thread;

  ConnectOptions options;
  std::string token;  // a credential: never logged
  signal::ServerUrl server;
  signal::SignalProtocol protocol = signal::SignalProtocol::V1;

  // Room thread only, from here on.
  std::unique_ptr<signal::SignalClient> signalling;
  std::unique_ptr<rtc::PeerConnection> publisher;   // the PC we offer (the only one in v1)
  std::unique_ptr<rtc::PeerConnection> subscriber;  // v0: the PC the server offers
  bool publisher_answered = false, subscriber_described = false;
  std::vector<TrickleCandidate> early_publisher_candidates, early_subscriber_candidates;
  std::vector<std::shared_ptr<rtc::DataChannel>> channels;  // ours and the server's
  std::shared_ptr<rtc::DataChannel> data_track_channel;     // ours: we send on it
  uint32_t next_offer_id = 1;
  uint32_t next_pub_handle = 1;
  livekit::JoinResponse join;
  std::optional<RemoteTracks> remote;
  lk::ScopedSource connect_deadline;
  std::string stage = "opening the signalling connection";
  std::promise<lk::Result<void>> connected;
  bool connect_pending = true;
  bool torn_down = false;  // callbacks of retired objects that still fire do nothing
  // OfflineRoom (room/offline_room.h): no signalling or peer connection; what
  // would be sent is kept instead.
  bool offline = false;
  std::vector<livekit::SignalRequest> offline_sent;
  // Reconnecting (docs/protocol.md, "Reconnecting"): between a fault and the
  // next join every transport object is dropped; callbacks of dropped ones
  // carry an older generation and do nothing.
  ReconnectPolicy policy{0};
  bool reconnecting = false;
  uint64_t generation = 0;
  lk::ScopedSource retry_timer;
  lk::ScopedSource closed_grace;  // a peer connection closed by the server: waiting for its leave
  std::optional<lk::Error> outage_cause;  // the fault that began the outage
  // Resuming ("Resuming" in docs/protocol.md): only the signalling is opened
  // again; callbacks of a replaced signalling client carry an older epoch.
  bool resuming = false;
  bool reconnect_answered = false;  // resuming: the server said `reconnect`; waiting for the peer connections
  uint64_t signal_epoch = 0;
  lk::ScopedSource resume_deadline;
  std::string local_offer_sdp, remote_answer_sdp;  // of the publisher PC, for sync_state
  std::string subscriber_offer_sdp, subscriber_answer_sdp;  // v0: of the subscriber PC, for sync_state
  std::vector<std::shared_ptr<LocalDataTrack::State>> to_republish;       // once joined again
  std::vector<std::shared_ptr<LocalDataTrack::State>> waiting_republish;  // on their republish_timer
  std::map<uint64_t, RoomListener> listeners;
  uint64_t next_listener = 1;

  struct PendingPublish {
    std::string name;
    std::shared_ptr<LocalDataTrack::State> track;
    std::promise<lk::Result<livekit::DataTrackInfo>> done;  // unused for a republish
    lk::ScopedSource timeout;
    bool republish = false;  // a track published before a reconnect
  };
  std::map<uint32_t, PendingPublish> pending_publishes;           // by pub handle
  std::map<uint32_t, std::shared_ptr<LocalDataTrack::State>> published;  // by pub handle
  std::vector<std::shared_ptr<DataTrackSubscription::State>> subscriptions;
  std::map<uint32_t, std::shared_ptr<DataTrackSubscription::State>> by_sub_handle;
  uint64_t malformed_packets = 0, unknown_handle_packets = 0;

  // Any thread.
  mutable std::mutex mutex;
  std::optional<lk::Error> failure;  // set once the connection ended on its own
  bool closed = false;
  std::string room_name, identity, participant_sid, server_version;
  Signalling in_use = Signalling::V1;

  // Destroys an object on a later turn of the loop: it may be the one whose
  // callback is running now (signalling and peer connections forbid that).
  template <typename T>
  void retire(std::unique_ptr<T>& object) {
    if (!object) return;
    std::shared_ptr<T> held(std::move(object));
    lk::post(context, [held] {});
  }

  bool stale(uint64_t gen) const { return torn_down || gen != generation; }
  static int64_t now_ms() { return g_get_monotonic_time() / 1000; }

  void notify(const RoomEvent& event) {
    auto copy = listeners;  // a listener may remove itself
    for (auto& [id, listener] : copy) listener(event);
  }

  // Runs fn on the room thread and waits for its result.
  template <typename F>
  auto call(F fn) -> decltype(fn()) {
    using R = decltype(fn());
    if (g_main_context_is_owner(context)) return fn();
    std::promise<R> result;
    auto future = result.get_future();
    lk::post(context, [&] { result.set_value(fn()); });
    return future.get();
  }

  // ---- connecting ---------------------------------------------------------

  void start_connect() {
    connect_deadline = lk::ScopedSource::timeout(context, options.connect_timeout_ms, [this] {
      fail_connect(make_error(ErrorKind::Timeout, "could not join within " +
                                                      std::to_string(options.connect_timeout_ms) +
                                                      " ms (stuck " + stage + ")"));
      return false;
    });
    open_signalling();
  }

  signal::HttpOptions http_options(const signal::SignalRequest& request) const {
    signal::HttpOptions http;
    http.authorization = request.authorization;
    http.ca_file = options.ca_file;
    http.timeout_ms = options.connect_timeout_ms;
    return http;
  }

  void open_signalling() {
    signal::JoinOptions join_options;  // auto_subscribe off: nothing pushed we did not ask for
    auto request = signal::make_signal_request(server, token, protocol, join_options);
    if (!request) return fail_connect(request.error());
    {
      std::lock_guard lock(mutex);
      in_use = protocol == signal::SignalProtocol::V1 ? Signalling::V1 : Signalling::V0;
    }
    g_info("joining %s (%s)", request->redacted_url.c_str(), to_string(in_use));
    new_signalling();
    const uint64_t gen = generation;
    stage = "opening the signalling connection";
    signalling->connect(request->websocket_url, http_options(*request),
                        [this, gen, request = *request](lk::Result<void> opened) {
                          // The join may have failed meanwhile (connect timeout):
                          // the client is retired, this answer is stale.
                          if (stale(gen) || !connect_pending || !signalling) return;
                          if (opened) {
                            stage = "waiting for the join response";
                            return;
                          }
                          if (signalling->http_status() >= 400) return validate(request, opened.error());
                          fail_connect(opened.error());
                        });
  }

  // A new signalling client (the previous one retired: this may run inside
  // its callback) whose callbacks end with it or with the transport.
  void new_signalling() {
    retire(signalling);
    signalling = std::make_unique<signal::SignalClient>(context);
    const uint64_t gen = generation, epoch = ++signal_epoch;
    signalling->on_message = [this, gen, epoch](const livekit::SignalResponse& r) {
      if (!stale(gen) && epoch == signal_epoch) on_signal(r);
    };
    signalling->on_lost = [this, gen, epoch](const lk::Error& e) {
      if (!stale(gen) && epoch == signal_epoch) connection_ended(e, Fault::SignalLost);
    };
  }

  // The upgrade was refused: ask the validate endpoint why, as livekit-client
  // does, and fall back to v0 when the server has no /rtc/v1.
  void validate(const signal::SignalRequest& request, lk::Error refused) {
    stage = "validating the join";
    signalling->get(request.validate_url, http_options(request),
                    [this, gen = generation, refused](lk::Result<signal::HttpReply> reply) mutable {
                      if (stale(gen) || !connect_pending) return;
                      if (!reply) return fail_connect(refused);
                      const bool no_v1 = reply->status == 404 &&
                                         reply->body.find(kRoomMissingText) == std::string::npos;
                      if (no_v1 && protocol == signal::SignalProtocol::V1 &&
                          options.signalling == Signalling::Auto) {
                        g_info("the server has no /rtc/v1: falling back to /rtc (v0)");
                        protocol = signal::SignalProtocol::V0;
                        return open_signalling();
                      }
                      refused.message += server_says(reply->body);
                      fail_connect(refused);
                    });
  }

  // The server's explanation of a refusal, fit for a log line: livekit-server
  // quotes the whole token in some of them, so it is cut out.
  std::string server_says(std::string body) const {
    for (size_t at; !token.empty() && (at = body.find(token)) != std::string::npos;) body.replace(at, token.size(), "<token>");
    while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back()))) body.pop_back();
    if (body.size() > 300) body = body.substr(0, 300) + "...";
    return body.empty() ? "" : " (server: " + body + ")";
  }

  void on_join(const livekit::JoinResponse& response) {
    // One per session: a repeated one must not rebuild the peer connection
    // under the published tracks (found by tests/fuzz/room_signal_fuzzer).
    if (remote) return g_debug("a second join response ignored");
    join = response;
    {
      std::lock_guard lock(mutex);
      room_name = join.room().name();
      participant_sid = join.participant().sid();
      identity = join.participant().identity();
      server_version = join.server_info().version().empty() ? join.server_version() : join.server_info().version();
    }
    g_info("joined room '%s' as '%s' (%s); server %s %s, protocol %d, subscriber_primary %d", join.room().name().c_str(),
           identity.c_str(), participant_sid.c_str(),
           join.server_info().edition() == livekit::ServerInfo::Cloud ? "LiveKit Cloud" : "livekit-server",
           server_version.c_str(), join.server_info().protocol(), join.subscriber_primary());
    remote.emplace(identity);
    apply_participants(join.other_participants());
    if (offline) {  // no transport to bring up
      connect_pending = false;
      return connected.set_value(lk::ok());
    }
    if (join.ping_interval() > 0 && join.ping_timeout() > 0) {
      signalling->start_keepalive(unsigned(join.ping_interval()) * 1000, unsigned(join.ping_timeout()) * 1000);
    }
    stage = "connecting the peer connection (ICE, DTLS, SCTP)";
    auto pc = make_peer_connection(livekit::PUBLISHER);
    if (!pc) return fail_connect(pc.error());
    publisher = std::move(*pc);
    // The three channels livekit-client opens; data-track packets use the
    // unordered, unretransmitted one.
    rtc::DataChannelInit lossy;
    lossy.ordered = false;
    lossy.max_retransmits = 0;
    for (auto [label, init] : {std::pair{"_reliable", rtc::DataChannelInit{}}, std::pair{"_lossy", lossy},
                               std::pair{kDataTrackLabel, lossy}}) {
      auto channel = publisher->create_data_channel(label, init);
      if (!channel) return fail_connect(channel.error());
      adopt_channel(*channel);
      if (std::string(label) == kDataTrackLabel) data_track_channel = *channel;
    }
    data_track_channel->set_buffered_amount_low_threshold(PublishOptions::kDefaultLowWatermark);
    data_track_channel->on_open = [this, gen = generation] {
      if (!stale(gen)) maybe_connected();
    };
    data_track_channel->on_buffered_amount_low = [this, gen = generation] {
      if (stale(gen)) return;
      for (auto& [handle, track] : published) {
        std::lock_guard lock(track->mutex);
        track->drain_backlog_locked();
        track->room_available.notify_all();
      }
    };
    auto offer = publisher->create_offer();
    if (!offer) return fail_connect(offer.error());
    send_offer(*offer);
  }

  // Our offer of the publisher PC (kept for sync_state).
  void send_offer(const std::string& sdp) {
    local_offer_sdp = sdp;
    livekit::SignalRequest request;
    auto* sd = request.mutable_offer();
    sd->set_type("offer");
    sd->set_sdp(sdp);
    sd->set_id(next_offer_id++);
    send(request);
  }

  lk::Result<std::unique_ptr<rtc::PeerConnection>> make_peer_connection(livekit::SignalTarget target) {
    if (offline) return make_error(ErrorKind::Unsupported, "an offline room has no peer connection");
    rtc::Configuration config;
    config.context = context;
    for (const auto& s : join.ice_servers()) {
      config.ice_servers.push_back({{s.urls().begin(), s.urls().end()}, s.username(), s.credential()});
    }
    config.relay_only = join.client_configuration().force_relay() == livekit::ClientConfigSetting::ENABLED;
    // livekit-server reads each message into a 65,535-byte buffer while it
    // advertises far more (docs/transport-notes.md); packets are <= 16,000 anyway.
    config.max_send_message_size = 65535;
    auto created = rtc::PeerConnection::create(std::move(config));
    if (!created) return created;
    rtc::PeerConnection* pc = created->get();
    const uint64_t gen = generation;
    pc->on_local_candidate = [this, gen, target](const std::string& candidate, const std::string& mid) {
      if (candidate.empty() || stale(gen)) return;  // livekit-client sends no end-of-candidates either
      livekit::SignalRequest request;
      request.mutable_trickle()->set_candidateinit(encode_candidate_init({candidate, mid}, 0));
      request.mutable_trickle()->set_target(target);
      send(request);
    };
    pc->on_state_change = [this, gen, target](rtc::PeerState state) {
      if (stale(gen)) return;
      const char* which = target == livekit::PUBLISHER ? "publisher" : "subscriber";
      g_debug("%s peer connection: %s", which, rtc::to_string(state));
      if (state == rtc::PeerState::Connected) return resuming ? maybe_resumed() : maybe_connected();
      if (state == rtc::PeerState::Failed) {
        connection_ended(make_error(ErrorKind::Network, std::string("the ") + which + " peer connection failed (ICE or DTLS)"),
                         Fault::TransportLost);
      }
      // Closed here is the server's doing (DTLS close_notify, SCTP abort): ours never calls
      // back. A server that ends the session closes it as it sends its leave, which may come
      // later on the WebSocket and decides: a short grace for it.
      if (state == rtc::PeerState::Closed && !closed_grace) {
        detach_tracks();
        auto error = make_error(ErrorKind::Network, std::string("the ") + which + " peer connection was closed by the server");
        closed_grace = lk::ScopedSource::timeout(context, kLeaveGraceMs, [this, gen, error] {
          if (!stale(gen)) connection_ended(error, Fault::TransportLost);
          return false;
        });
      }
    };
    pc->on_data_channel = [this, gen](std::shared_ptr<rtc::DataChannel> channel) {
      if (!stale(gen)) adopt_channel(channel);
    };
    pc->on_error = [](const lk::Error& e) { g_message("peer connection: %s", e.message.c_str()); };
    return created;
  }

  // Data-track packets may come on any _data_track: ours (v1, v0 publisher
  // primary) or the server's on the subscriber PC (v0 subscriber primary).
  void adopt_channel(const std::shared_ptr<rtc::DataChannel>& channel) {
    channels.push_back(channel);
    if (channel->label() != kDataTrackLabel) return;
    channel->on_message = [this, gen = generation](std::span<const uint8_t> data, bool binary) {
      if (binary && !stale(gen)) on_packet(data);
    };
  }

  void maybe_connected() {
    if (torn_down || !connect_pending || !publisher || publisher->state() != rtc::PeerState::Connected ||
        !data_track_channel || !data_track_channel->is_open()) {
      return;
    }
    connect_pending = false;
    connect_deadline.reset();
    stage = "connected";
    if (reconnecting) return reconnected();
    g_info("connected (%s)", to_string(in_use));
    connected.set_value(lk::ok());
  }

  void fail_connect(lk::Error error) {
    if (!connect_pending) return;
    if (reconnecting) return connection_ended(error, Fault::AttemptFailed);
    connect_pending = false;
    connect_deadline.reset();
    g_info("join failed: %s", error.message.c_str());
    teardown(false);
    connected.set_value(std::move(error));
  }

  // ---- signalling ---------------------------------------------------------

  void send(const livekit::SignalRequest& request) {
    if (offline) return offline_sent.push_back(request);
    if (!signalling) return;
    auto sent = signalling->send(request);
    if (!sent) g_debug("signal request not sent: %s", sent.error().message.c_str());
  }

  void on_signal(const livekit::SignalResponse& r) {
    if (torn_down) return;
    using M = livekit::SignalResponse;
    switch (r.message_case()) {
      case M::kJoin: return on_join(r.join());
      case M::kReconnect: return on_resumed();
      case M::kLeave: return on_leave(r.leave());
      case M::kAnswer: return on_answer(r.answer());
      case M::kOffer: return on_offer(r.offer());
      case M::kTrickle: return on_trickle(r.trickle());
      case M::kUpdate: return apply_participants(r.update().participants());
      case M::kPublishDataTrackResponse: return on_published(r.publish_data_track_response().info());
      case M::kUnpublishDataTrackResponse: return;  // unpublish() does not wait on it
      case M::kRequestResponse: return on_request_response(r.request_response());
      case M::kDataTrackSubscriberHandles: return on_subscriber_handles(r.data_track_subscriber_handles());
      case M::kRefreshToken: token = r.refresh_token(); return;
      default: return;  // pongs are the signal client's; media messages are not ours
    }
  }

  void on_leave(const livekit::LeaveRequest& leave) {
    const std::string reason = livekit::DisconnectReason_Name(leave.reason());
    using A = livekit::LeaveRequest;
    const Fault fault = leave.action() == A::RESUME      ? Fault::LeaveResume
                        : leave.action() == A::RECONNECT ? Fault::LeaveReconnect
                                                         : Fault::LeaveDisconnect;
    if (connect_pending && !reconnecting) {
      return fail_connect(make_error(ErrorKind::NotAuthorized, "the server refused the join (" + reason + ")"));
    }
    connection_ended(make_error(ErrorKind::Closed, "the server ended the session (" + reason + ")"), fault);
  }

  void on_answer(const livekit::SessionDescription& answer) {
    if (!publisher) return;
    auto set = publisher->set_remote_description("answer", answer.sdp());
    if (!set) return connection_ended(set.error(), Fault::TransportLost);
    remote_answer_sdp = answer.sdp();
    publisher_answered = true;
    for (auto& c : early_publisher_candidates) add_candidate(*publisher, c);
    early_publisher_candidates.clear();
  }

  // v0: the server offers the subscriber PC (with its own channels).
  void on_offer(const livekit::SessionDescription& offer) {
    if (in_use != Signalling::V0) {
      g_debug("offer on v1 ignored (no media here)");
      return;
    }
    if (!subscriber) {
      auto pc = make_peer_connection(livekit::SUBSCRIBER);
      if (!pc) return connection_ended(pc.error(), Fault::TransportLost);
      subscriber = std::move(*pc);
    }
    auto set = subscriber->set_remote_description("offer", offer.sdp());
    if (!set) return connection_ended(set.error(), Fault::TransportLost);
    subscriber_described = true;
    subscriber_offer_sdp = offer.sdp();
    for (auto& c : early_subscriber_candidates) add_candidate(*subscriber, c);
    early_subscriber_candidates.clear();
    auto answer = subscriber->create_answer();
    if (!answer) return connection_ended(answer.error(), Fault::TransportLost);
    subscriber_answer_sdp = *answer;
    livekit::SignalRequest request;
    request.mutable_answer()->set_type("answer");
    request.mutable_answer()->set_sdp(*answer);
    request.mutable_answer()->set_id(offer.id());
    send(request);
  }

  void on_trickle(const livekit::TrickleRequest& trickle) {
    auto candidate = decode_candidate_init(trickle.candidateinit());
    if (!candidate) return g_debug("%s", candidate.error().message.c_str());
    if (trickle.target() == livekit::PUBLISHER) {
      if (publisher && publisher_answered) return add_candidate(*publisher, *candidate);
      early_publisher_candidates.push_back(*candidate);
    } else {
      if (subscriber && subscriber_described) return add_candidate(*subscriber, *candidate);
      early_subscriber_candidates.push_back(*candidate);
    }
  }

  static void add_candidate(rtc::PeerConnection& pc, const TrickleCandidate& c) {
    if (c.candidate.empty()) return pc.add_remote_end_of_candidates();
    auto added = pc.add_remote_candidate(c.candidate, c.mid);
    if (!added) g_debug("remote candidate refused: %s", added.error().message.c_str());
  }

  // ---- publishing ---------------------------------------------------------

  std::future<lk::Result<livekit::DataTrackInfo>> request_publish(const PublishOptions& opts,
                                                                   std::shared_ptr<LocalDataTrack::State>& out) {
    std::promise<lk::Result<livekit::DataTrackInfo>> failed;
    auto refuse = [&](lk::Error e) {
      failed.set_value(std::move(e));
      return failed.get_future();
    };
    if (auto e = ended()) return refuse(*e);
    if (reconnecting || resuming || !data_track_channel) {
      return refuse(make_error(ErrorKind::Network, "the room connection is reconnecting: publish again once it is back"));
    }
    if (next_pub_handle > 65535) {
      return refuse(make_error(ErrorKind::Unsupported, "no data-track handle left on this connection (65,535 used)"));
    }
    const uint32_t handle = next_pub_handle++;  // never reused within a connection, as the official clients
    out = std::make_shared<LocalDataTrack::State>(uint16_t(handle));
    out->room = weak_from_this();
    out->back_pressure = opts.back_pressure;
    out->high_watermark = std::max<size_t>(opts.high_watermark, 1);
    out->low_watermark = std::min(opts.low_watermark, out->high_watermark);
    out->publish_timeout_ms = opts.publish_timeout_ms;
    out->channel = data_track_channel;
    lower_threshold(out->low_watermark);
    out->e2ee = opts.e2ee;
    out->info.set_name(opts.name);
    if (opts.e2ee) out->info.set_encryption(livekit::Encryption::GCM);
    if (opts.frame_encoding) *out->info.mutable_frame_encoding() = *opts.frame_encoding;
    if (opts.schema) *out->info.mutable_schema() = *opts.schema;
    const livekit::SignalRequest request = publish_request(handle, out->info);
    auto& pending = pending_publishes[handle];
    pending.name = opts.name;
    pending.track = out;
    auto future = pending.done.get_future();
    pending.timeout = lk::ScopedSource::timeout(context, opts.publish_timeout_ms, [this, handle, ms = opts.publish_timeout_ms] {
      finish_publish(handle, make_error(ErrorKind::Timeout,
                                        "the server did not answer the data-track publish within " +
                                            std::to_string(ms) +
                                            " ms: it may lack data-track support (livekit-server before 1.11, "
                                            "or enable_data_tracks off in older configurations)"));
      // Cancel, as livekit-client does, in case the answer is only late.
      livekit::SignalRequest cancel;
      cancel.mutable_unpublish_data_track_request()->set_pub_handle(handle);
      send(cancel);
      return false;
    });
    send(request);
    return future;
  }

  // One threshold for the channel: the lowest any track waits for, so no
  // blocked push misses its wake-up.
  void lower_threshold(size_t low_watermark) {
    if (data_track_channel->buffered_amount_low_threshold() > low_watermark) {
      data_track_channel->set_buffered_amount_low_threshold(low_watermark);
    }
  }

  static livekit::SignalRequest publish_request(uint32_t handle, const livekit::DataTrackInfo& wanted) {
    livekit::SignalRequest request;
    auto* pub = request.mutable_publish_data_track_request();
    pub->set_pub_handle(handle);
    pub->set_name(wanted.name());
    if (wanted.has_frame_encoding()) *pub->mutable_frame_encoding() = wanted.frame_encoding();
    if (wanted.has_schema()) *pub->mutable_schema() = wanted.schema();
    pub->set_encryption(wanted.encryption());
    return request;
  }

  void finish_publish(uint32_t handle, lk::Result<livekit::DataTrackInfo> result) {
    auto it = pending_publishes.find(handle);
    if (it == pending_publishes.end()) return;
    PendingPublish pending = std::move(it->second);
    pending_publishes.erase(it);
    pending.timeout.reset();
    if (pending.republish) return finish_republish(handle, pending.track, std::move(result));
    if (result) {
      {
        std::lock_guard lock(pending.track->mutex);
        pending.track->info = *result;
      }
      published[handle] = pending.track;
      g_info("published data track '%s' as %s (handle %u)", result->name().c_str(), result->sid().c_str(), handle);
    }
    pending.done.set_value(std::move(result));
  }

  // ---- republishing after a reconnect ---------------------------------------
  // Same name, encoding and schema; a new handle and (from the server) a new sid.

  void republish(const std::shared_ptr<LocalDataTrack::State>& track) {
    livekit::DataTrackInfo wanted;
    {
      std::lock_guard lock(track->mutex);
      if (!track->published) return;
      wanted = track->info;
    }
    if (next_pub_handle > 65535) return track_lost(track, "no data-track handle left on this connection");
    const uint32_t handle = next_pub_handle++;
    auto& pending = pending_publishes[handle];
    pending.name = wanted.name();
    pending.track = track;
    pending.republish = true;
    pending.timeout = lk::ScopedSource::timeout(context, track->publish_timeout_ms, [this, handle] {
      livekit::SignalRequest cancel;
      cancel.mutable_unpublish_data_track_request()->set_pub_handle(handle);
      send(cancel);
      republish_refused(handle, true, "the server did not answer the publish");
      return false;
    });
    send(publish_request(handle, wanted));
  }

  void finish_republish(uint32_t handle, const std::shared_ptr<LocalDataTrack::State>& track,
                        lk::Result<livekit::DataTrackInfo> result) {
    if (!result) return track_lost(track, result.error().message);
    std::string name;
    {
      std::lock_guard lock(track->mutex);
      if (track->published) {
        name = result->name();
        track->info = *result;
        track->packetizer = datatrack::Packetizer::with_system_clock(uint16_t(handle));
        track->channel = data_track_channel;
        track->republish_attempt = 0;
        track->drain_backlog_locked();
        track->room_available.notify_all();
      }
    }
    if (name.empty()) {  // unpublished meanwhile
      livekit::SignalRequest request;
      request.mutable_unpublish_data_track_request()->set_pub_handle(handle);
      return send(request);
    }
    lower_threshold(track->low_watermark);
    published[handle] = track;
    const std::string what = "data track '" + name + "' published again as " + result->sid();
    g_info("%s (handle %u)", what.c_str(), handle);
    notify({RoomEvent::Kind::TrackRepublished, what});
  }

  // A republish refused or unanswered: DuplicateName (the server still holds
  // the old track) and silence are retried with backoff; the rest end the track.
  void republish_refused(uint32_t handle, bool retry, const std::string& why) {
    auto it = pending_publishes.find(handle);
    if (it == pending_publishes.end()) return;
    auto track = it->second.track;
    it->second.timeout.reset();
    pending_publishes.erase(it);
    auto delay = retry ? ReconnectPolicy::republish_delay(++track->republish_attempt) : std::nullopt;
    if (!delay) return track_lost(track, why);
    g_info("republishing data track '%s' again in %u ms: %s", track->info.name().c_str(), *delay, why.c_str());
    waiting_republish.push_back(track);
    track->republish_timer = lk::ScopedSource::timeout(context, *delay, [this, track] {
      std::erase(waiting_republish, track);
      republish(track);
      return false;
    });
  }

  void track_lost(const std::shared_ptr<LocalDataTrack::State>& track, const std::string& why) {
    std::string name;
    {
      std::lock_guard lock(track->mutex);
      track->published = false;
      track->room_available.notify_all();
      name = track->info.name();
    }
    const std::string what = "data track '" + name + "' could not be published again: " + why;
    g_message("%s", what.c_str());
    notify({RoomEvent::Kind::TrackLost, what});
  }

  void on_published(const livekit::DataTrackInfo& info) { finish_publish(info.pub_handle(), info); }

  void on_request_response(const livekit::RequestResponse& rr) {
    if (rr.has_publish_data_track()) {
      const uint32_t handle = rr.publish_data_track().pub_handle();
      auto it = pending_publishes.find(handle);
      if (it == pending_publishes.end()) return;
      if (it->second.republish) {
        return republish_refused(handle, rr.reason() == livekit::RequestResponse::DUPLICATE_NAME,
                                 publish_refusal(rr, it->second.name).message);
      }
      finish_publish(handle, publish_refusal(rr, it->second.name));
      return;
    }
    if (rr.reason() != livekit::RequestResponse::OK) {
      g_debug("request refused: %s %s", reason_name(rr.reason()), rr.message().c_str());
    }
  }

  // The track's `published` is already false: a republish in flight
  // unpublishes itself when it is answered.
  void unpublish(const std::shared_ptr<LocalDataTrack::State>& track) {
    track->republish_timer.reset();
    std::erase(to_republish, track);
    std::erase(waiting_republish, track);
    auto it = std::find_if(published.begin(), published.end(), [&](const auto& entry) { return entry.second == track; });
    if (it == published.end()) return;
    livekit::SignalRequest request;
    request.mutable_unpublish_data_track_request()->set_pub_handle(it->first);
    published.erase(it);
    send(request);
  }

  // ---- subscribing --------------------------------------------------------

  void apply_participants(const google::protobuf::RepeatedPtrField<livekit::ParticipantInfo>& infos) {
    if (!remote) return;
    for (const TrackChange& change : remote->apply(infos)) {
      const auto& t = change.track;
      switch (change.kind) {
        case TrackChange::Kind::Published:
          g_debug("'%s' published data track '%s' (%s)", t.publisher_identity.c_str(), t.info.name().c_str(),
                  t.info.sid().c_str());
          for (auto& s : subscriptions) {
            if (!s->requested && s->identity == t.publisher_identity && s->name == t.info.name()) request_subscription(s);
          }
          break;
        case TrackChange::Kind::Unpublished:
        case TrackChange::Kind::PublisherLeft:
          end_subscriptions_to(t.info.sid(), change.kind == TrackChange::Kind::Unpublished
                                                 ? SubscriptionEnd::Unpublished
                                                 : SubscriptionEnd::PublisherLeft);
          break;
      }
    }
  }

  void add_subscription(const std::shared_ptr<DataTrackSubscription::State>& s) {
    if (ended()) return s->finish(SubscriptionEnd::Disconnected);
    subscriptions.push_back(s);
    if (remote && remote->find(s->identity, s->name)) return request_subscription(s);
    if (s->options.wait_for_track_ms >= 0) {
      s->timer = lk::ScopedSource::timeout(context, unsigned(s->options.wait_for_track_ms), [this, s] {
        end_subscription(s, SubscriptionEnd::NeverPublished);
        return false;
      });
    }
  }

  void request_subscription(const std::shared_ptr<DataTrackSubscription::State>& s) {
    const RemoteTrack* track = remote->find(s->identity, s->name);
    // Changes are handled after the whole update is applied: a track that a
    // later entry of the same update removed again is not there to ask for.
    if (!track) return;
    s->requested = true;
    s->depacketizer.emplace(std::max<size_t>(1, s->options.max_partial_frames));
    {
      std::lock_guard lock(s->mutex);
      s->info = track->info;
      s->track_sid = track->info.sid();
      s->changed.notify_all();
    }
    // As the official clients: a track is decrypted exactly when it is encrypted.
    const bool encrypted = track->info.encryption() != livekit::Encryption::NONE;
    if (encrypted != bool(s->options.e2ee)) {
      s->requested = false;  // nothing asked of the server
      return end_subscription(s, encrypted ? SubscriptionEnd::KeyMissing : SubscriptionEnd::NotEncrypted);
    }
    livekit::SignalRequest request;
    auto* update = request.mutable_update_data_subscription()->add_updates();
    update->set_track_sid(track->info.sid());
    update->set_subscribe(true);
    send(request);
    s->timer = lk::ScopedSource::timeout(context, s->options.subscribe_timeout_ms, [this, s] {
      end_subscription(s, SubscriptionEnd::Refused);
      return false;
    });
  }

  // A full snapshot of our subscriptions: handle -> track.
  void on_subscriber_handles(const livekit::DataTrackSubscriberHandles& handles) {
    by_sub_handle.clear();
    for (const auto& [handle, track] : handles.sub_handles()) {
      for (auto& s : subscriptions) {
        if (!s->requested || s->track_sid != track.track_sid()) continue;
        by_sub_handle[handle] = s;
        s->timer.reset();
        std::lock_guard lock(s->mutex);
        if (!s->active && s->end == SubscriptionEnd::None) {
          s->active = true;
          g_info("subscribed to '%s' of '%s' (%s, handle %u)", s->name.c_str(), s->identity.c_str(),
                 s->track_sid.c_str(), handle);
          s->changed.notify_all();
        }
      }
    }
  }

  void end_subscriptions_to(const std::string& sid, SubscriptionEnd why) {
    auto copy = subscriptions;
    for (auto& s : copy) {
      if (s->requested && s->track_sid == sid) end_subscription(s, why);
    }
  }

  void end_subscription(const std::shared_ptr<DataTrackSubscription::State>& s, SubscriptionEnd why) {
    s->timer.reset();
    std::erase(subscriptions, s);
    std::erase_if(by_sub_handle, [&](const auto& entry) { return entry.second == s; });
    if (s->requested && why != SubscriptionEnd::Unpublished && why != SubscriptionEnd::PublisherLeft &&
        why != SubscriptionEnd::Disconnected) {
      livekit::SignalRequest request;
      auto* update = request.mutable_update_data_subscription()->add_updates();
      update->set_track_sid(s->track_sid);
      update->set_subscribe(false);
      send(request);
    }
    s->finish(why);
  }

  void on_packet(std::span<const uint8_t> bytes) {
    auto parsed = datatrack::parse_packet(bytes);
    if (!parsed.ok()) {
      ++malformed_packets;
      return;
    }
    auto it = by_sub_handle.find(parsed.packet.header.handle);
    if (it == by_sub_handle.end()) {
      ++unknown_handle_packets;
      return;
    }
    auto& s = it->second;
    auto frame = s->depacketizer->push(parsed.packet);
    std::lock_guard lock(s->mutex);
    s->stats.reassembly_drops = s->depacketizer->drops();
    s->stats.dropped_reassembly = s->stats.reassembly_drops.total();
    s->stats.frames_missing = s->depacketizer->missing_frames();
    if (!frame) return;
    if (s->options.e2ee && !decrypt_frame(*s, *frame)) return;
    ReceivedFrame out;
    out.after_gap = std::exchange(s->gap, false);
    out.payload = std::move(frame->payload);
    out.user_timestamp = frame->extensions.user_timestamp;
    out.frame_number = frame->frame_number;
    out.arrival_monotonic_us = g_get_monotonic_time();
    out.arrival_realtime_us = g_get_real_time();
    ++s->stats.frames_received;
    s->stats.bytes_received += out.payload.size();
    // Make room by dropping the oldest; the newest frame always gets in.
    const size_t max_bytes = s->options.queue_bytes ? s->options.queue_bytes : SIZE_MAX;
    while (!s->queue.empty() && (s->queue.size() >= std::max<size_t>(1, s->options.queue_frames) ||
                                 s->queued_bytes + out.payload.size() > max_bytes)) {
      s->pop_front();
      ++s->stats.dropped_queue_overflow;
    }
    s->queued_bytes += out.payload.size();
    s->queue.push_back(std::move(out));
    s->changed.notify_all();
  }

  // Replaces an encrypted frame's payload by its plaintext; false (counted,
  // the frame dropped) when it does not authenticate. s.mutex held.
  static bool decrypt_frame(DataTrackSubscription::State& s, datatrack::Frame& frame) {
    auto plain = frame.extensions.e2ee
                     ? s.options.e2ee->decrypt(frame.payload, *frame.extensions.e2ee)
                     : lk::Result<std::vector<uint8_t>>(
                           make_error(ErrorKind::Malformed, "a frame without the E2EE extension"));
    if (!plain) {
      if (s.stats.dropped_decryption++ == 0) {
        g_message("track '%s' of '%s': frame dropped: %s", s.name.c_str(), s.identity.c_str(),
                  plain.error().message.c_str());
      }
      return false;
    }
    frame.payload = std::move(*plain);
    return true;
  }

  // Chunks sent on the publisher PC not yet acknowledged (room thread).
  size_t outstanding_chunks() const { return publisher ? publisher->sctp_outstanding_chunks() : 0; }

  // ---- ending -------------------------------------------------------------

  std::optional<lk::Error> ended() const {
    std::lock_guard lock(mutex);
    if (failure) return failure;
    if (closed) return make_error(ErrorKind::Closed, "the room connection is closed");
    return std::nullopt;
  }

  // A fault: reconnect after the policy's delay, or end the connection
  // (everything that waits learns why).
  void connection_ended(const lk::Error& error, Fault fault) {
    if (connect_pending && !reconnecting) return fail_connect(error);
    if (ended()) return;
    if (resuming) {  // the resume failed (or the transport did meanwhile): a full reconnect
      resuming = false;
      reconnect_answered = false;
      resume_deadline.reset();
      if (fault == Fault::SignalLost || fault == Fault::LeaveResume) fault = Fault::AttemptFailed;
    } else if (can_resume(fault)) {
      return start_resume(error, fault);
    }
    connect_pending = false;
    const auto step = policy.on_fault(fault, now_ms());
    if (!outage_cause) outage_cause = error;
    if (step.give_up) return give_up(error, fault);
    const std::string what = std::string(to_string(fault)) + " (" + error.message + ")";
    g_message("room connection interrupted: %s; reconnecting (attempt %u in %u ms)", what.c_str(), step.attempt,
              step.delay_ms);
    notify({RoomEvent::Kind::Reconnecting,
            what + ": reconnecting (attempt " + std::to_string(step.attempt) + ")", step.attempt});
    drop_transport(error);
    reconnecting = true;
    retry_timer = lk::ScopedSource::timeout(context, step.delay_ms, [this] {
      connect_pending = true;
      start_connect();  // a full reconnect: a new join
      return false;
    });
  }

  // ---- resuming -------------------------------------------------------------
  // As livekit-client and livekit-server do (docs/protocol.md, "Resuming"):
  // the WebSocket opened again with reconnect=true and our participant sid;
  // the server answers `reconnect` and keeps the session, we tell it what we
  // hold (sync_state); a peer connection not Connected then restarts ICE (we
  // offer the publisher PC anew; in v0 the server offers the subscriber PC
  // anew on every resume) and its DTLS session and SCTP association go on.
  //
  // Only a lost signalling is resumed. A path lost for the 12 s that make ICE
  // fail is a full reconnect: after an ICE restart both SCTP ends (ours up to
  // 10 s, livekit-server's pion up to 60 s) wait out their backed-off
  // retransmission timers, so frames came back 15-21 s after the fault where
  // a fresh association gave 10 s (docs/protocol.md, "Resuming").

  bool can_resume(Fault fault) const {
    if (fault != Fault::SignalLost && fault != Fault::LeaveResume) return false;
    return !offline && !reconnecting && association_kept() &&
           join.client_configuration().resume_connection() != livekit::ClientConfigSetting::DISABLED;
  }

  // Every peer connection still holds its DTLS session and SCTP association
  // (our data-track channel open), whatever ICE does: what a resume keeps.
  bool association_kept() const {
    return publisher && publisher->association_up() && (!subscriber || subscriber->association_up()) &&
           data_track_channel && data_track_channel->is_open();
  }

  void start_resume(const lk::Error& error, Fault fault) {
    const auto step = policy.on_fault(fault, now_ms());
    if (!outage_cause) outage_cause = error;
    if (step.give_up) return give_up(error, fault);
    const std::string what = std::string(to_string(fault)) + " (" + error.message + ")";
    g_message("room connection interrupted: %s; resuming the session", what.c_str());
    notify({RoomEvent::Kind::Resuming, what + ": resuming the session (attempt " + std::to_string(step.attempt) + ")",
            step.attempt});
    resuming = true;
    signal::JoinOptions join_options;
    join_options.reconnect = true;
    join_options.participant_sid = join.participant().sid();
    join_options.reconnect_reason = livekit::RR_SIGNAL_DISCONNECTED;
    auto request = signal::make_signal_request(server, token, protocol, join_options);
    if (!request) return connection_ended(request.error(), Fault::AttemptFailed);
    new_signalling();
    // Within the reconnect timeout too: a silent server must not hold it up.
    const unsigned wait_ms = std::min(options.connect_timeout_ms, policy.timeout_ms());
    resume_deadline = lk::ScopedSource::timeout(context, wait_ms, [this, wait_ms] {
      const std::string what = reconnect_answered ? "the peer connections did not reconnect (ICE restart)"
                                                  : "the server did not answer the resume";
      connection_ended(make_error(ErrorKind::Timeout, what + " within " + std::to_string(wait_ms) + " ms"),
                       Fault::AttemptFailed);
      return false;
    });
    signalling->connect(request->websocket_url, http_options(*request),
                        [this, gen = generation, epoch = signal_epoch](lk::Result<void> opened) {
                          if (stale(gen) || epoch != signal_epoch || !resuming || opened) return;
                          connection_ended(opened.error(), Fault::AttemptFailed);
                        });
  }

  // The server's `reconnect`: the session is ours again; its peer
  // connections too once ICE has a path (restarted if it lost it).
  void on_resumed() {
    if (!resuming || reconnect_answered) return g_debug("a reconnect response outside a resume ignored");
    reconnect_answered = true;
    if (join.ping_interval() > 0 && join.ping_timeout() > 0) {
      signalling->start_keepalive(unsigned(join.ping_interval()) * 1000, unsigned(join.ping_timeout()) * 1000);
    }
    send(sync_state());  // what we hold now, as livekit-client (before its restart)
    if (publisher->state() != rtc::PeerState::Connected) restart_ice();
    maybe_resumed();
  }

  void maybe_resumed() {
    if (!resuming || !reconnect_answered || publisher->state() != rtc::PeerState::Connected ||
        (subscriber && subscriber->state() != rtc::PeerState::Connected)) {
      return;
    }
    finish_resume();
  }

  // A new offer with new ICE credentials (our candidates inline); the
  // server's answer and candidates bring the path back (its ICE servers in
  // `reconnect` are not applied: lib/rtc sets them once, at creation).
  void restart_ice() {
    g_info("restarting ICE on the peer connection (%s)", rtc::to_string(publisher->state()));
    publisher->restart_ice();
    auto offer = publisher->create_offer();
    if (!offer) return connection_ended(offer.error(), Fault::AttemptFailed);
    publisher_answered = false;  // candidates for the new credentials wait for the answer
    send_offer(*offer);
  }

  void finish_resume() {
    resuming = reconnect_answered = false;
    resume_deadline.reset();
    outage_cause.reset();
    const int64_t outage_ms = policy.on_connected(now_ms());
    const std::string what = "resumed the session after " + std::to_string(outage_ms) + " ms (participant " +
                             join.participant().sid() + ")";
    g_message("%s", what.c_str());
    RoomEvent event{RoomEvent::Kind::Reconnected, what};
    event.outage_ms = outage_ms;
    notify(event);
  }

  // What we hold, for the server to check: the offer and answer of the
  // primary peer connection as livekit-client sends them (v1: the one PC;
  // v0: the subscriber PC's), no media subscriptions, and every published
  // data track (one the server does not know makes it ask for a full reconnect).
  livekit::SignalRequest sync_state() const {
    const bool v0 = in_use == Signalling::V0;
    livekit::SignalRequest request;
    auto* sync = request.mutable_sync_state();
    sync->mutable_offer()->set_type("offer");
    sync->mutable_offer()->set_sdp(v0 ? subscriber_offer_sdp : local_offer_sdp);
    sync->mutable_answer()->set_type("answer");
    sync->mutable_answer()->set_sdp(v0 ? subscriber_answer_sdp : remote_answer_sdp);
    sync->mutable_subscription()->set_subscribe(true);
    for (const auto& [handle, track] : published) {
      std::lock_guard lock(track->mutex);
      *sync->add_publish_data_tracks()->mutable_info() = track->info;
    }
    return request;
  }

  void give_up(const lk::Error& error, Fault fault) {
    lk::Error final = error;
    if (policy.timeout_ms() > 0 && fault != Fault::LeaveDisconnect) {
      final.message = "could not reconnect within " + std::to_string(policy.timeout_ms()) +
                      " ms (reconnect-timeout) after: " + outage_cause->message;
      if (error.message != outage_cause->message) final.message += "; last attempt: " + error.message;
    }
    {
      std::lock_guard lock(mutex);
      failure = final;
    }
    g_message("room connection ended: %s", final.message.c_str());
    notify({RoomEvent::Kind::GaveUp, final.message});
    teardown(false);
  }

  void reconnected() {
    reconnecting = false;
    outage_cause.reset();
    const int64_t outage_ms = policy.on_connected(now_ms());
    const std::string what = "reconnected to the room after " + std::to_string(outage_ms) + " ms (" +
                             to_string(in_use) + ", participant " + join.participant().sid() + ")";
    g_message("%s", what.c_str());
    RoomEvent event{RoomEvent::Kind::Reconnected, what};
    event.outage_ms = outage_ms;
    notify(event);
    for (auto& track : std::exchange(to_republish, {})) republish(track);
  }

  // Published tracks lose their channel (pushes see it backed up) and wait
  // to be published again.
  void detach_tracks() {
    for (auto& [handle, track] : published) {
      std::lock_guard lock(track->mutex);
      track->channel.reset();
      to_republish.push_back(track);
    }
    published.clear();
  }

  // Drops the signalling and the peer connections, keeping what the user
  // holds: local tracks wait to be republished (their channel gone, so
  // pushes count it as backed up) and subscriptions to be requested again.
  void drop_transport(const lk::Error& why) {
    ++generation;
    reconnect_answered = false;
    connect_deadline.reset();
    closed_grace.reset();
    resume_deadline.reset();
    detach_tracks();
    for (auto& [handle, pending] : std::map(std::move(pending_publishes))) {
      pending.timeout.reset();
      if (pending.republish) {
        to_republish.push_back(pending.track);
      } else {
        pending.done.set_value(make_error(ErrorKind::Network, "the connection was lost while publishing: " + why.message));
      }
    }
    pending_publishes.clear();
    for (auto& track : std::exchange(waiting_republish, {})) {
      track->republish_timer.reset();
      to_republish.push_back(track);
    }
    by_sub_handle.clear();
    for (auto& s : subscriptions) {
      s->timer.reset();
      s->requested = false;
      s->depacketizer.reset();
      std::lock_guard lock(s->mutex);
      s->active = false;
      s->gap = true;
    }
    remote.reset();
    channels.clear();
    data_track_channel.reset();
    publisher_answered = subscriber_described = false;
    early_publisher_candidates.clear();
    early_subscriber_candidates.clear();
    next_pub_handle = 1;  // a new participant: its handles start again
    if (signalling) signalling->close();
    retire(publisher);
    retire(subscriber);
    retire(signalling);
  }

  // Room thread. leave: say goodbye to the server first.
  void teardown(bool leave) {
    if (torn_down) return;
    if (leave && signalling && signalling->is_open()) {
      livekit::SignalRequest request;
      request.mutable_leave()->set_reason(livekit::CLIENT_INITIATED);
      request.mutable_leave()->set_action(livekit::LeaveRequest::DISCONNECT);
      send(request);
    }
    const lk::Error gone = failure ? *failure : make_error(ErrorKind::Closed, "the room connection closed");
    retry_timer.reset();
    closed_grace.reset();
    resume_deadline.reset();
    for (auto& [handle, pending] : std::map(std::move(pending_publishes))) {
      pending.timeout.reset();
      pending.done.set_value(gone);
      if (pending.republish) to_republish.push_back(pending.track);
    }
    pending_publishes.clear();
    for (auto& [handle, track] : published) to_republish.push_back(track);
    for (auto& track : waiting_republish) to_republish.push_back(track);
    for (auto& track : to_republish) {
      track->republish_timer.reset();
      std::lock_guard lock(track->mutex);
      track->published = false;
      track->room_available.notify_all();
    }
    published.clear();
    to_republish.clear();
    waiting_republish.clear();
    auto subs = subscriptions;
    for (auto& s : subs) end_subscription(s, SubscriptionEnd::Disconnected);
    torn_down = true;
    channels.clear();
    data_track_channel.reset();
    if (signalling) signalling->close();
    retire(publisher);
    retire(subscriber);
    retire(signalling);
  }
};

// ---------------------------------------------------------------------------
// RoomConnection

RoomConnection::RoomConnection(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

lk::Result<std::shared_ptr<RoomConnection>> RoomConnection::connect(const ConnectOptions& options) {
  auto server = signal::parse_server_url(options.url);
  if (!server) return server.error();
  std::string token = options.token;
  if (token.empty()) {
    signal::TokenGrant grant;
    grant.api_key = options.api_key;
    grant.api_secret = options.api_secret;
    grant.identity = options.identity;
    grant.room = options.room;
    grant.name = options.participant_name;
    grant.validity = options.token_validity;
    auto minted = signal::mint_token(grant);
    if (!minted) return minted.error();
    token = *minted;
  }

  auto impl = std::make_shared<Impl>();
  impl->options = options;
  impl->token = std::move(token);
  impl->server = *server;
  impl->protocol = options.signalling == Signalling::V0 ? signal::SignalProtocol::V0 : signal::SignalProtocol::V1;
  impl->policy = ReconnectPolicy(options.reconnect_timeout_ms);
  impl->context = g_main_context_new();
  impl->loop = g_main_loop_new(impl->context, FALSE);
  impl->thread = std::thread([ctx = impl->context, loop = impl->loop] {
    g_main_context_push_thread_default(ctx);
    g_main_loop_run(loop);
    g_main_context_pop_thread_default(ctx);
  });
  auto joined = impl->connected.get_future();
  lk::post(impl->context, [raw = impl.get()] { raw->start_connect(); });
  // The room thread enforces the connect timeout itself; this wait only adds
  // a margin for a thread that could not run at all.
  lk::Result<void> result = make_error(ErrorKind::Timeout, "the room thread did not answer");
  if (joined.wait_for(std::chrono::milliseconds(options.connect_timeout_ms + 5000)) == std::future_status::ready) {
    result = joined.get();
  }
  auto room = std::shared_ptr<RoomConnection>(new RoomConnection(impl));
  if (!result) return result.error();  // ~RoomConnection stops the thread
  return room;
}

uint64_t RoomConnection::add_listener(RoomListener listener) {
  return impl_->call([&] {
    const uint64_t id = impl_->next_listener++;
    impl_->listeners[id] = std::move(listener);
    return id;
  });
}

void RoomConnection::remove_listener(uint64_t id) {
  impl_->call([&] { return impl_->listeners.erase(id); });
}

RoomConnection::~RoomConnection() {
  close();
  impl_->call([] { return 0; });  // after the retired objects are gone (posts run in order)
  g_main_loop_quit(impl_->loop);
  if (impl_->thread.joinable()) impl_->thread.join();
  // Sources attached to the context die with it; nothing of ours runs now.
  g_main_loop_unref(impl_->loop);
  g_main_context_unref(impl_->context);
}

void RoomConnection::close() {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->closed) return;
    impl_->closed = true;
  }
  impl_->call([this] {
    impl_->teardown(true);
    return 0;
  });
}

RoomConnection::Stats RoomConnection::stats() const {
  return impl_->call([this] {
    Stats out;
    out.malformed_packets = impl_->malformed_packets;
    out.unknown_handle_packets = impl_->unknown_handle_packets;
    if (impl_->signalling) {
      out.malformed_signal_messages = impl_->signalling->malformed_messages();
      out.signal_rtt_ms = impl_->signalling->rtt_ms();
    }
    return out;
  });
}

lk::Result<void> RoomConnection::status() const {
  std::lock_guard lock(impl_->mutex);
  if (impl_->failure) return *impl_->failure;
  return lk::ok();
}

std::string RoomConnection::room() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->room_name;
}
std::string RoomConnection::identity() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->identity;
}
std::string RoomConnection::participant_sid() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->participant_sid;
}
std::string RoomConnection::server_version() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->server_version;
}
Signalling RoomConnection::signalling() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->in_use;
}

lk::Result<std::shared_ptr<LocalDataTrack>> RoomConnection::publish_data_track(const PublishOptions& options) {
  std::shared_ptr<LocalDataTrack::State> state;
  auto future = impl_->call([&] { return impl_->request_publish(options, state); });
  // The room thread answers by the publish timeout at the latest.
  if (future.wait_for(std::chrono::milliseconds(options.publish_timeout_ms + 5000)) != std::future_status::ready) {
    return make_error(ErrorKind::Timeout, "the room thread did not answer the publish");
  }
  auto info = future.get();
  if (!info) return info.error();
  return std::shared_ptr<LocalDataTrack>(new LocalDataTrack(state));
}

std::shared_ptr<DataTrackSubscription> RoomConnection::subscribe(const std::string& identity, const std::string& name,
                                                                 const SubscribeOptions& options) {
  auto state = DataTrackSubscription::State::make(impl_, identity, name, options);
  lk::post(impl_->context, [impl = std::weak_ptr(impl_), state] {
    if (auto room = impl.lock()) room->add_subscription(state);
  });
  return std::shared_ptr<DataTrackSubscription>(new DataTrackSubscription(state));
}

// ---------------------------------------------------------------------------
// LocalDataTrack

LocalDataTrack::LocalDataTrack(std::shared_ptr<State> state) : state_(std::move(state)) {}
LocalDataTrack::~LocalDataTrack() = default;

livekit::DataTrackInfo LocalDataTrack::info() const {
  std::lock_guard lock(state_->mutex);
  return state_->info;
}

size_t LocalDataTrack::max_frame_size(bool encrypted) {
  datatrack::Extensions with_timestamp;
  with_timestamp.user_timestamp = 0;
  if (encrypted) with_timestamp.e2ee.emplace();
  return datatrack::Packetizer::max_frame_size(with_timestamp) - (encrypted ? e2ee::kTagSize : 0);
}

// push() with the mutex held. `batch`, when given, is the open SendBatch of
// the caller: it is ended before a wait for room (the packets it holds back
// are what would make that room) and opened again after.
static lk::Result<void> push_locked(LocalDataTrack::State& s, std::unique_lock<std::mutex>& lock,
                                    std::span<const uint8_t> payload, std::optional<uint64_t> user_timestamp,
                                    int timeout_ms, std::optional<rtc::SendBatch>* batch) {
  datatrack::Extensions extensions;
  extensions.user_timestamp = user_timestamp;
  datatrack::Extensions on_wire = extensions;  // with the E2EE extension and tag the frame will carry
  if (s.e2ee) on_wire.e2ee.emplace();
  const size_t limit = datatrack::Packetizer::max_frame_size(on_wire) - (s.e2ee ? e2ee::kTagSize : 0);
  if (payload.size() > limit) {
    ++s.stats.dropped_too_large;
    return make_error(ErrorKind::InvalidArgument,
                      "a frame of " + std::to_string(payload.size()) + " bytes is over the data-track limit of " +
                          std::to_string(limit) + " bytes (128 packets): split it, or send smaller buffers");
  }
  if (s.cancelled) return make_error(ErrorKind::Cancelled, "push cancelled");
  if (!s.published) return make_error(ErrorKind::Closed, "the data track '" + s.info.name() + "' is not published");

  if (s.back_pressure == BackPressure::DropOld) {
    // Whole frames wait in the backlog; past its bound the oldest make room.
    s.backlog.push_back({std::vector<uint8_t>(payload.begin(), payload.end()), extensions});
    s.backlog_bytes += payload.size();
    while (s.backlog.size() > 1 && s.backlog_bytes > s.high_watermark) {
      s.backlog_bytes -= s.backlog.front().payload.size();
      s.backlog.pop_front();
      ++s.stats.dropped_back_pressure;
    }
    s.drain_backlog_locked();
    return lk::ok();
  }
  if (s.backed_up()) {
    if (s.back_pressure == BackPressure::DropNew) {
      ++s.stats.dropped_back_pressure;
      return make_error(ErrorKind::Timeout, "the data channel is backed up: frame dropped (drop-new)");
    }
    if (batch) batch->reset();
    auto room_or_stop = [&] { return !s.published || s.cancelled || s.below_low_watermark(); };
    bool room = true;
    if (timeout_ms < 0) {
      s.room_available.wait(lock, room_or_stop);
    } else {
      room = s.room_available.wait_for(lock, std::chrono::milliseconds(timeout_ms), room_or_stop);
    }
    if (batch) batch->emplace();
    if (!room) {
      ++s.stats.dropped_back_pressure;
      return make_error(ErrorKind::Timeout, "the data channel stayed backed up for " + std::to_string(timeout_ms) +
                                                " ms: frame dropped");
    }
    if (s.cancelled) return make_error(ErrorKind::Cancelled, "push cancelled");
    if (!s.published) return make_error(ErrorKind::Closed, "the data track '" + s.info.name() + "' is not published");
  }
  auto sent = s.send_locked(payload, extensions);
  if (!sent && s.published && !s.channel->is_open()) {
    // The transport went down under us; the room reconnects.
    ++s.stats.dropped_back_pressure;
    return make_error(ErrorKind::Timeout, "the connection was lost: frame dropped while the room reconnects");
  }
  return sent;
}

lk::Result<void> LocalDataTrack::push(std::span<const uint8_t> payload, std::optional<uint64_t> user_timestamp,
                                      int timeout_ms) {
  std::unique_lock lock(state_->mutex);
  return push_locked(*state_, lock, payload, user_timestamp, timeout_ms, nullptr);
}

lk::Result<void> LocalDataTrack::push_batch(std::span<const OutgoingFrame> frames, int timeout_ms) {
  std::unique_lock lock(state_->mutex);
  std::optional<rtc::SendBatch> batch(std::in_place);  // the frames' packets leave together
  for (const OutgoingFrame& frame : frames) {
    auto pushed = push_locked(*state_, lock, frame.payload, frame.user_timestamp, timeout_ms, &batch);
    if (!pushed && pushed.error().kind != ErrorKind::Timeout) return pushed;
  }
  return lk::ok();
}

lk::Result<void> LocalDataTrack::send_raw_packet(std::span<const uint8_t> bytes) {
  std::lock_guard lock(state_->mutex);
  if (!state_->published) return make_error(ErrorKind::Closed, "the data track is not published");
  return state_->channel->send(bytes);
}

void LocalDataTrack::cancel_push() {
  std::lock_guard lock(state_->mutex);
  state_->cancelled = true;
  state_->room_available.notify_all();
}

void LocalDataTrack::resume_push() {
  std::lock_guard lock(state_->mutex);
  state_->cancelled = false;
}

bool LocalDataTrack::flush(int timeout_ms) {
  std::unique_lock lock(state_->mutex);
  auto drained = [&] { return state_->backlog.empty() || !state_->published || state_->cancelled; };
  if (timeout_ms < 0) {
    state_->room_available.wait(lock, drained);
  } else {
    state_->room_available.wait_for(lock, std::chrono::milliseconds(timeout_ms), drained);
  }
  return state_->backlog.empty() && state_->published;
}

bool LocalDataTrack::drain(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms < 0 ? 1 << 30 : timeout_ms);
  auto left = [&] { return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count(); };
  if (!flush(int(std::max<int64_t>(0, left())))) return false;
  auto room = state_->room.lock();
  if (!room) return false;
  // SCTP says nothing when its queue empties: ask every 10 ms.
  while (left() > 0) {
    const auto channel = [&] {
      std::lock_guard lock(state_->mutex);
      return state_->channel;
    }();
    if (!channel) return false;  // the room reconnects: what was in flight is gone
    if (channel->buffered_amount() == 0 && room->call([&] { return room->outstanding_chunks(); }) == 0) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

void LocalDataTrack::unpublish() {
  {
    std::lock_guard lock(state_->mutex);
    if (!state_->published) return;
    state_->published = false;
    state_->room_available.notify_all();
  }
  auto room = state_->room.lock();
  if (!room) return;
  lk::post_weak<RoomConnection::Impl>(room->context, room, [state = state_](auto& impl) { impl.unpublish(state); });
}

bool LocalDataTrack::is_published() const {
  std::lock_guard lock(state_->mutex);
  return state_->published;
}

LocalTrackStats LocalDataTrack::stats() const {
  std::lock_guard lock(state_->mutex);
  LocalTrackStats out = state_->stats;
  out.queued_bytes = (state_->channel ? state_->channel->buffered_amount() : 0) + state_->backlog_bytes;
  return out;
}

// ---------------------------------------------------------------------------
// DataTrackSubscription

DataTrackSubscription::DataTrackSubscription(std::shared_ptr<State> state) : state_(std::move(state)) {}

DataTrackSubscription::~DataTrackSubscription() { close(); }

std::optional<livekit::DataTrackInfo> DataTrackSubscription::info() const {
  std::lock_guard lock(state_->mutex);
  return state_->info;
}

bool DataTrackSubscription::wait_active(int timeout_ms) {
  std::unique_lock lock(state_->mutex);
  auto done = [&] { return state_->active || state_->end != SubscriptionEnd::None || state_->cancelled; };
  if (timeout_ms < 0) {
    state_->changed.wait(lock, done);
  } else {
    state_->changed.wait_for(lock, std::chrono::milliseconds(timeout_ms), done);
  }
  return state_->active;
}

// Waits until a frame is queued, the subscription ended or reads are
// cancelled; an error unless a frame is there to take. s.mutex held.
static lk::Result<void> wait_readable(DataTrackSubscription::State& s, std::unique_lock<std::mutex>& lock,
                                      int timeout_ms) {
  auto ready = [&] { return !s.queue.empty() || s.end != SubscriptionEnd::None || s.cancelled; };
  if (timeout_ms < 0) {
    s.changed.wait(lock, ready);
  } else if (!s.changed.wait_for(lock, std::chrono::milliseconds(timeout_ms), ready)) {
    return make_error(ErrorKind::Timeout, "no frame within " + std::to_string(timeout_ms) + " ms");
  }
  if (s.cancelled) return make_error(ErrorKind::Cancelled, "read cancelled");
  if (!s.queue.empty()) return lk::ok();
  const std::string what = "data track '" + s.name + "' of '" + s.identity + "': " + to_string(s.end);
  return make_error(s.end == SubscriptionEnd::NeverPublished ? ErrorKind::NotFound : ErrorKind::Closed, what);
}

lk::Result<ReceivedFrame> DataTrackSubscription::read(int timeout_ms) {
  std::unique_lock lock(state_->mutex);
  auto readable = wait_readable(*state_, lock, timeout_ms);
  if (!readable) return readable.error();
  return state_->pop_front();
}

lk::Result<void> DataTrackSubscription::read_batch(int timeout_ms, size_t max_frames, size_t max_bytes,
                                                   std::vector<ReceivedFrame>& out) {
  State& s = *state_;
  out.clear();
  std::unique_lock lock(s.mutex);
  auto readable = wait_readable(s, lock, timeout_ms);
  if (!readable) return readable.error();
  size_t bytes = 0;
  do {
    bytes += s.queue.front().payload.size();
    out.push_back(s.pop_front());
  } while (!s.queue.empty() && out.size() < max_frames && bytes + s.queue.front().payload.size() <= max_bytes);
  return lk::ok();
}

void DataTrackSubscription::cancel_read() {
  std::lock_guard lock(state_->mutex);
  state_->cancelled = true;
  state_->changed.notify_all();
}

void DataTrackSubscription::resume_read() {
  std::lock_guard lock(state_->mutex);
  state_->cancelled = false;
}

SubscriptionEnd DataTrackSubscription::end() const {
  std::lock_guard lock(state_->mutex);
  return state_->end;
}

SubscriptionStats DataTrackSubscription::stats() const {
  std::lock_guard lock(state_->mutex);
  SubscriptionStats out = state_->stats;
  out.queued_frames = state_->queue.size();
  return out;
}

void DataTrackSubscription::close() {
  if (end() != SubscriptionEnd::None) return;
  state_->finish(SubscriptionEnd::Closed);
  auto room = state_->room.lock();
  if (!room) return;
  lk::post_weak<RoomConnection::Impl>(room->context, room, [state = state_](auto& impl) {
    impl.end_subscription(state, SubscriptionEnd::Closed);
  });
}

}  // namespace lk::room

// ---------------------------------------------------------------------------
// OfflineRoom: the Impl above with offline set, driven on the caller's thread.

namespace lk::room {

OfflineRoom::OfflineRoom(Signalling signalling) : impl_(std::make_shared<RoomConnection::Impl>()) {
  impl_->offline = true;
  impl_->context = g_main_context_new();
  impl_->in_use = signalling == Signalling::V0 ? Signalling::V0 : Signalling::V1;
}

OfflineRoom::~OfflineRoom() {
  impl_->teardown(false);
  run_pending();
  impl_->subscriptions.clear();
  g_main_context_unref(impl_->context);
}

void OfflineRoom::receive(const livekit::SignalResponse& response) { impl_->on_signal(response); }

bool OfflineRoom::receive_bytes(std::span<const uint8_t> bytes) {
  livekit::SignalResponse response;
  if (!response.ParseFromArray(bytes.data(), int(bytes.size()))) {
    ++malformed_messages_;
    return false;
  }
  receive(response);
  return true;
}

void OfflineRoom::receive_packet(std::span<const uint8_t> bytes) {
  if (!impl_->torn_down) impl_->on_packet(bytes);
}

std::shared_ptr<DataTrackSubscription> OfflineRoom::subscribe(const std::string& identity, const std::string& name,
                                                              const SubscribeOptions& options) {
  auto state = DataTrackSubscription::State::make(impl_, identity, name, options);
  impl_->add_subscription(state);
  return std::shared_ptr<DataTrackSubscription>(new DataTrackSubscription(state));
}

void OfflineRoom::run_pending() {
  while (g_main_context_iteration(impl_->context, FALSE)) {
  }
}

std::vector<livekit::SignalRequest> OfflineRoom::take_sent() { return std::exchange(impl_->offline_sent, {}); }

RoomConnection::Stats OfflineRoom::stats() const {
  RoomConnection::Stats out;
  out.malformed_packets = impl_->malformed_packets;
  out.unknown_handle_packets = impl_->unknown_handle_packets;
  out.malformed_signal_messages = malformed_messages_;
  return out;
}

bool OfflineRoom::joined() const { return impl_->remote.has_value(); }

lk::Result<void> OfflineRoom::status() const {
  if (auto e = impl_->ended()) return *e;
  return lk::ok();
}

std::string OfflineRoom::identity() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->identity;
}

}  // namespace lk::room
