#define SCTP_DEBUG 1  // declares usrsctp_sysctl_set_sctp_debug_on
#include "rtc/sctp_transport.h"

#include "rtc/sctp_crc32c.h"
#include "rtc/udp_batch.h"

#include <usrsctp.h>

#include <arpa/inet.h>
#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <shared_mutex>
#include <thread>
#include <unordered_set>

#undef G_LOG_DOMAIN
#define G_LOG_DOMAIN "livekit-rtc-sctp"

namespace lk::rtc {
namespace {

// Buffers: big enough that a saturating sender keeps the pipe full at
// hundreds of MB/s on a sub-millisecond RTT, and that the receive window
// never closes while the owner thread drains messages.
constexpr int kSendBufferBytes = SctpTransport::kSendBufferBytes;
constexpr int kRecvBufferBytes = 8 * 1024 * 1024;
constexpr uint32_t kWritableThreshold = kSendBufferBytes / 2;
constexpr uint16_t kStreams = 1024;
// An idle association still exchanges a HEARTBEAT/ACK every interval + RTO,
// which keeps the ICE liveness watchdog (seconds) quiet while the peer lives.
constexpr uint32_t kHeartbeatMs = 500;
constexpr size_t kPartialDeliveryPoint = 64 * 1024;

// The transport whose receive() runs usrsctp on this thread: what usrsctp
// hands it meanwhile is delivered when receive() returns, not from the loop.
thread_local const SctpTransport* receiving_on_this_thread = nullptr;

void usrsctp_log(const char* format, ...) {
  char line[1024];
  va_list args;
  va_start(args, format);
  vsnprintf(line, sizeof line, format, args);
  va_end(args);
  size_t n = strlen(line);
  while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
  g_debug("[usrsctp] %s", line);
}

}  // namespace

// usrsctp is initialised once per process and finished when the last
// transport goes away. Live instances are registered so a callback that
// usrsctp fires after a transport is gone finds nothing.
struct UsrsctpLibrary {
  static std::mutex mutex;
  static int users;
  static std::shared_mutex instances_mutex;
  static std::unordered_set<const SctpTransport*> instances;

  static void acquire() {
    std::lock_guard lock(mutex);
    if (users++ > 0) return;
    const char* env = g_getenv("G_MESSAGES_DEBUG");
    bool debug = env && (strstr(env, G_LOG_DOMAIN) || strstr(env, "all"));
    usrsctp_init(0, SctpTransport::on_output, debug ? usrsctp_log : nullptr);
    if (debug) usrsctp_sysctl_set_sctp_debug_on(SCTP_DEBUG_ALL);
    // on_output computes the checksum (SSE4.2) instead of usrsctp's table code;
    // on input usrsctp then skips verifying it: the DTLS record that carried
    // the packet is already authenticated.
    usrsctp_enable_crc32c_offload();
    usrsctp_sysctl_set_sctp_ecn_enable(0);
    usrsctp_sysctl_set_sctp_pr_enable(1);        // RFC 3758, for maxRetransmits/maxPacketLifeTime
    usrsctp_sysctl_set_sctp_reconfig_enable(1);  // RFC 6525 stream reset closes channels
    usrsctp_sysctl_set_sctp_asconf_enable(0);
    usrsctp_sysctl_set_sctp_auto_asconf(0);
    usrsctp_sysctl_set_sctp_sendspace(kSendBufferBytes);
    usrsctp_sysctl_set_sctp_recvspace(kRecvBufferBytes);
    usrsctp_sysctl_set_sctp_max_chunks_on_queue(64 * 1024);  // default 512 starves big windows
    usrsctp_sysctl_set_sctp_initial_cwnd(10);                // RFC 6928
    usrsctp_sysctl_set_sctp_max_burst_default(16);
    usrsctp_sysctl_set_sctp_delayed_sack_time_default(20);
    // One SACK per 4 full packets instead of 2: half the SACK datagrams
    // (each a syscall and wakeup on both sides) at saturation; a gap in the
    // TSNs is still reported at once. 8 starves libwebrtc's sender (M106:
    // 0.4 MB/s instead of ~30 in bench/rtc wrtc->ours).
    usrsctp_sysctl_set_sctp_sack_freq_default(4);
    usrsctp_sysctl_set_sctp_rto_min_default(200);
    usrsctp_sysctl_set_sctp_rto_max_default(10000);
    usrsctp_sysctl_set_sctp_rto_initial_default(1000);
    usrsctp_sysctl_set_sctp_init_rto_max_default(10000);
    usrsctp_sysctl_set_sctp_init_rtx_max_default(8);
    usrsctp_sysctl_set_sctp_heartbeat_interval_default(kHeartbeatMs);  // feeds the liveness watchdog
  }

  static void release() {
    std::lock_guard lock(mutex);
    if (--users > 0) return;
    // Aborted associations linger briefly inside usrsctp; finish fails until then.
    for (int i = 0; i < 100 && usrsctp_finish() != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
};
std::mutex UsrsctpLibrary::mutex;
int UsrsctpLibrary::users = 0;
std::shared_mutex UsrsctpLibrary::instances_mutex;
std::unordered_set<const SctpTransport*> UsrsctpLibrary::instances;

SctpTransport::SctpTransport(GMainContext* context, uint16_t local_port, uint16_t remote_port, uint32_t mtu,
                             SendPacket send_packet, size_t max_message_size)
    : context_(g_main_context_ref(context)),
      local_port_(local_port),
      remote_port_(remote_port),
      mtu_(mtu),
      max_message_size_(max_message_size),
      send_packet_(std::move(send_packet)) {}

lk::Result<std::unique_ptr<SctpTransport>> SctpTransport::create(GMainContext* context, uint16_t local_port,
                                                                 uint16_t remote_port, uint32_t mtu,
                                                                 SendPacket send_packet, size_t max_message_size) {
  if (max_message_size == 0)
    return make_error(ErrorKind::InvalidArgument, "SCTP max message size must be at least 1 byte");
  if (mtu < kMinMtu || mtu > kMaxMtu)
    return make_error(ErrorKind::InvalidArgument, "SCTP MTU " + std::to_string(mtu) + " is outside " +
                                                      std::to_string(kMinMtu) + ".." + std::to_string(kMaxMtu));
  UsrsctpLibrary::acquire();
  std::unique_ptr<SctpTransport> t(new SctpTransport(context, local_port, remote_port, mtu, std::move(send_packet), max_message_size));
  usrsctp_register_address(t.get());
  {
    std::unique_lock lock(UsrsctpLibrary::instances_mutex);
    UsrsctpLibrary::instances.insert(t.get());
  }
  if (auto r = t->open_socket(); !r) return r.error();
  return t;
}

lk::Result<void> SctpTransport::open_socket() {
  sock_ = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, on_usrsctp_receive, on_usrsctp_send_space,
                         kWritableThreshold, this);
  if (!sock_) return make_error(ErrorKind::Internal, std::string("usrsctp_socket: ") + strerror(errno));
  auto set = [this](int level, int name, const void* value, socklen_t len, const char* what) -> lk::Result<void> {
    if (usrsctp_setsockopt(sock_, level, name, value, len) != 0)
      return make_error(ErrorKind::Internal, std::string("usrsctp option ") + what + ": " + strerror(errno));
    return lk::ok();
  };
  usrsctp_set_non_blocking(sock_, 1);
  // Closing aborts: by then DTLS is going away, so SCTP must not linger.
  linger lg{1, 0};
  int on = 1, level0 = 0, sndbuf = kSendBufferBytes, rcvbuf = kRecvBufferBytes;
  sctp_assoc_value reset{SCTP_ALL_ASSOC, SCTP_ENABLE_RESET_STREAM_REQ};
  sctp_initmsg init{kStreams, kStreams, 0, 0};
  sctp_paddrparams spp{};
  spp.spp_flags = SPP_HB_ENABLE | SPP_PMTUD_DISABLE;
  spp.spp_hbinterval = kHeartbeatMs;
  // usrsctp's AF_CONN path MTU leaves out the 12-byte SCTP common header:
  // subtract it so whole SCTP packets fit mtu_ (DTLS/UDP/IP come on top).
  spp.spp_pathmtu = mtu_ - kCommonHeaderBytes;
  // usrsctp hands a message up in pieces once this much of it is queued
  // (default: half the receive buffer, 4 MiB). Lower, a big message is held
  // by us (bounded by max_message_size_, see handle_data) rather than by
  // usrsctp, and an oversized one is refused early. Messages up to this size
  // (LiveKit's are at most 65,535 bytes) still arrive in one piece, uncopied.
  uint32_t pd_point = static_cast<uint32_t>(std::min<size_t>(max_message_size_, kPartialDeliveryPoint));
  for (auto r : {set(SOL_SOCKET, SO_LINGER, &lg, sizeof lg, "SO_LINGER"),
                 set(SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf, "SO_SNDBUF"),
                 set(SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf, "SO_RCVBUF"),
                 set(IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &reset, sizeof reset, "SCTP_ENABLE_STREAM_RESET"),
                 set(IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof on, "SCTP_RECVRCVINFO"),
                 set(IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof on, "SCTP_NODELAY"),
                 set(IPPROTO_SCTP, SCTP_FRAGMENT_INTERLEAVE, &level0, sizeof level0, "SCTP_FRAGMENT_INTERLEAVE"),
                 set(IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof init, "SCTP_INITMSG"),
                 set(IPPROTO_SCTP, SCTP_PARTIAL_DELIVERY_POINT, &pd_point, sizeof pd_point,
                     "SCTP_PARTIAL_DELIVERY_POINT"),
                 set(IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &spp, sizeof spp, "SCTP_PEER_ADDR_PARAMS")})
    if (!r) return r;
  int actual_snd = 0, actual_rcv = 0;
  socklen_t optlen = sizeof actual_snd;
  usrsctp_getsockopt(sock_, SOL_SOCKET, SO_SNDBUF, &actual_snd, &optlen);
  optlen = sizeof actual_rcv;
  usrsctp_getsockopt(sock_, SOL_SOCKET, SO_RCVBUF, &actual_rcv, &optlen);
  g_debug("socket buffers: send %d, receive %d", actual_snd, actual_rcv);
  // usrsctp may report a message it abandons after handing up part of it
  // (PR-SCTP, FORWARD-TSN) with the partial-delivery event; it did not in
  // tests/unit/rtc/sctp_limits_test.cpp, where the TSN check in handle_data
  // catches it.
  for (uint16_t type : {SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT, SCTP_SENDER_DRY_EVENT, SCTP_PARTIAL_DELIVERY_EVENT}) {
    sctp_event ev{SCTP_ALL_ASSOC, type, 1};
    if (auto r = set(IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof ev, "SCTP_EVENT"); !r) return r;
  }
  sockaddr_conn local{};
  local.sconn_family = AF_CONN;
  local.sconn_port = htons(local_port_);
  local.sconn_addr = this;
  if (usrsctp_bind(sock_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0)
    return make_error(ErrorKind::Internal, std::string("usrsctp_bind: ") + strerror(errno));
  return lk::ok();
}

size_t SctpTransport::outstanding_chunks() {
  Status st = status();
  return size_t(st.unacked_chunks) + st.pending_chunks;
}

SctpTransport::Status SctpTransport::status() {
  Status out;
  out.writable_events = send_space_calls_.load();
  out.dry_events = dry_events_.load();
  sctp_status st{};
  socklen_t len = sizeof st;
  std::lock_guard lock(usrsctp_mutex_);
  if (usrsctp_getsockopt(sock_, IPPROTO_SCTP, SCTP_STATUS, &st, &len) != 0) return out;
  out.peer_rwnd = st.sstat_rwnd;
  out.unacked_chunks = st.sstat_unackdata;
  out.pending_chunks = st.sstat_penddata;
  out.cwnd = st.sstat_primary.spinfo_cwnd;
  out.srtt_ms = st.sstat_primary.spinfo_srtt;
  out.rto_ms = st.sstat_primary.spinfo_rto;
  return out;
}

void SctpTransport::log_status() {
  Status st = status();
  g_debug("%p writable callbacks %u, dry events %u", (void*)this, st.writable_events, st.dry_events);
  g_debug("%p status: peer rwnd %u, unacked %u, pending %u, cwnd %u, srtt %u ms, rto %u ms", (void*)this,
          st.peer_rwnd, st.unacked_chunks, st.pending_chunks, st.cwnd, st.srtt_ms, st.rto_ms);
}

lk::Result<void> SctpTransport::start() {
  sockaddr_conn remote{};
  remote.sconn_family = AF_CONN;
  remote.sconn_port = htons(remote_port_);
  remote.sconn_addr = this;
  std::lock_guard lock(usrsctp_mutex_);
  // Both ends connect (RFC 8841 §9.3): the INITs cross and SCTP merges them.
  if (usrsctp_connect(sock_, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0 && errno != EINPROGRESS)
    return make_error(ErrorKind::Network, std::string("SCTP connect: ") + strerror(errno));
  if (g_log_writer_default_would_drop(G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN)) return lk::ok();
  status_timer_ = lk::ScopedSource::timeout(context_, 1000, [this] {
    log_status();
    return true;
  });
  return lk::ok();
}

SctpTransport::~SctpTransport() {
  *alive_ = false;
  status_timer_.reset();
  {
    std::unique_lock lock(UsrsctpLibrary::instances_mutex);
    UsrsctpLibrary::instances.erase(this);
  }
  if (sock_) {
    std::lock_guard lock(usrsctp_mutex_);
    usrsctp_close(sock_);  // SO_LINGER 0: ABORT, dropped since we are unregistered
  }
  usrsctp_deregister_address(this);
  {
    std::lock_guard lock(events_mutex_);
    dispatch_source_.reset();
  }
  g_main_context_unref(context_);
  UsrsctpLibrary::release();
}

void SctpTransport::receive(std::span<const uint8_t> packet) {
  {
    SendBatch batch;  // what a SACK lets out goes in as few system calls as possible
    std::lock_guard lock(usrsctp_mutex_);
    receiving_on_this_thread = this;
    usrsctp_conninput(this, packet.data(), packet.size(), 0);
    receiving_on_this_thread = nullptr;
  }
  // Deliver what this packet completed now: libnice reads a whole burst of
  // datagrams in one main-loop dispatch, and messages held until the loop is
  // idle pile up (each in its own usrsctp buffer; freeing a pile at once makes
  // malloc give the pages back and fault them in again for the next one).
  bool any;
  {
    std::lock_guard lock(events_mutex_);
    any = !events_.empty();
  }
  if (any) dispatch_events();
}

SctpTransport::SendStatus SctpTransport::send(const SendParams& p, std::span<const uint8_t> data) {
  if (state_ != State::Connected) return SendStatus::Failed;
  sctp_sendv_spa spa{};
  spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
  spa.sendv_sndinfo.snd_sid = p.stream;
  spa.sendv_sndinfo.snd_ppid = htonl(p.ppid);
  spa.sendv_sndinfo.snd_flags = SCTP_EOR | (p.unordered ? SCTP_UNORDERED : 0);
  if (p.max_retransmits) {
    spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
    spa.sendv_prinfo.pr_policy = SCTP_PR_SCTP_RTX;
    spa.sendv_prinfo.pr_value = *p.max_retransmits;
  } else if (p.max_packet_life_time_ms) {
    spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
    spa.sendv_prinfo.pr_policy = SCTP_PR_SCTP_TTL;
    spa.sendv_prinfo.pr_value = *p.max_packet_life_time_ms;
  }
  ssize_t n;
  {
    SendBatch batch;  // the packets of this message leave together
    std::lock_guard lock(usrsctp_mutex_);
    n = usrsctp_sendv(sock_, data.data(), data.size(), nullptr, 0, &spa, sizeof spa, SCTP_SENDV_SPA, 0);
  }
  if (n >= 0) return SendStatus::Sent;
  if (errno == EWOULDBLOCK || errno == EAGAIN) return SendStatus::WouldBlock;
  if (errno == EMSGSIZE) return SendStatus::TooBig;
  g_debug("usrsctp_sendv on stream %u: %s", p.stream, strerror(errno));
  return SendStatus::Failed;
}

bool SctpTransport::reset_stream(uint16_t stream) {
  if (state_ != State::Connected) return false;
  std::vector<uint8_t> buf(sizeof(sctp_reset_streams) + sizeof(uint16_t));
  auto* srs = reinterpret_cast<sctp_reset_streams*>(buf.data());
  srs->srs_flags = SCTP_STREAM_RESET_OUTGOING;
  srs->srs_number_streams = 1;
  srs->srs_stream_list[0] = stream;
  std::lock_guard lock(usrsctp_mutex_);
  if (usrsctp_setsockopt(sock_, IPPROTO_SCTP, SCTP_RESET_STREAMS, srs, static_cast<socklen_t>(buf.size())) != 0) {
    g_debug("reset of stream %u failed: %s", stream, strerror(errno));
    return false;
  }
  return true;
}

void SctpTransport::post(Event&& event) {
  std::lock_guard lock(events_mutex_);
  events_.push_back(std::move(event));
  if (dispatch_source_ || receiving_on_this_thread == this) return;  // receive() delivers it
  dispatch_source_ = lk::ScopedSource::idle(
      context_,
      [this] {
        dispatch_events();
        return false;
      },
      G_PRIORITY_DEFAULT);
}

void SctpTransport::dispatch_events() {
  std::deque<Event> batch;
  auto alive = alive_;
  {
    std::lock_guard lock(events_mutex_);
    batch.swap(events_);
    dispatch_source_.reset();  // ours, or (called from receive()) one that has not run yet
  }
  for (auto& e : batch) {
    switch (e.kind) {
      case Event::Kind::State:
        if (on_state) on_state(e.state);
        break;
      case Event::Kind::Message:
        if (on_message)
          on_message(e.stream, e.ppid,
                     e.whole ? std::span<const uint8_t>(e.whole.get(), e.whole_size) : std::span<const uint8_t>(e.data));
        break;
      case Event::Kind::StreamReset:
        if (on_stream_reset) on_stream_reset(e.stream);
        break;
      case Event::Kind::Writable:
        writable_pending_ = false;
        if (on_writable) on_writable();
        break;
      case Event::Kind::Error:
        if (on_error) on_error(make_error(ErrorKind::Network, e.error));
        break;
    }
    if (!*alive) return;  // a callback destroyed us (e.g. the owner closed)
  }
}

const char* to_string(SctpTransport::State state) {
  switch (state) {
    case SctpTransport::State::Connecting: return "connecting";
    case SctpTransport::State::Connected: return "connected";
    case SctpTransport::State::Closed: return "closed";
  }
  return "?";
}

std::vector<uint16_t> incoming_reset_streams(std::span<const uint8_t> notification) {
  sctp_stream_reset_event sr;
  if (notification.size() < sizeof sr) return {};
  std::memcpy(&sr, notification.data(), sizeof sr);
  // The stream list runs to strreset_length, which must lie within what came.
  if (sr.strreset_type != SCTP_STREAM_RESET_EVENT || sr.strreset_length < sizeof sr ||
      sr.strreset_length > notification.size())
    return {};
  if (sr.strreset_flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED)) {
    g_debug("stream reset denied/failed");
    return {};
  }
  if (!(sr.strreset_flags & SCTP_STREAM_RESET_INCOMING_SSN)) return {};  // our own outgoing reset done
  std::vector<uint16_t> streams((sr.strreset_length - sizeof sr) / sizeof(uint16_t));
  std::memcpy(streams.data(), notification.data() + sizeof sr, streams.size() * sizeof(uint16_t));
  return streams;
}

void SctpTransport::refuse_locked(std::string reason) {
  refused_ = true;
  partial_.clear();
  partial_bytes_ = 0;
  Event e{Event::Kind::Error};
  e.error = std::move(reason);
  post(std::move(e));
}

void SctpTransport::drop_partial_locked(uint16_t stream) {
  auto it = partial_.find(stream);
  if (it == partial_.end()) return;
  partial_bytes_ -= it->second.data.size();
  partial_.erase(it);
}

void SctpTransport::handle_data(uint16_t stream, uint32_t ppid, uint32_t tsn, int flags, uint8_t* data, size_t len) {
  std::unique_ptr<uint8_t, decltype(&free)> owned(data, &free);
  std::unique_lock lock(partial_mutex_);
  if (refused_) return;  // the association is going away: hold nothing more
  auto too_big = [&](bool across_streams) {
    refuse_locked("the peer sent " + std::string(across_streams ? "unfinished messages totalling" : "a message of") +
                  " more than " + std::to_string(max_message_size_) + " bytes (our a=max-message-size) on stream " +
                  std::to_string(stream) + "; dropping the association");
  };
  auto it = partial_.find(stream);
  // Every piece of a message carries the TSN of its first chunk. Another TSN
  // means usrsctp abandoned the message we were collecting (an unordered one
  // skipped by FORWARD-TSN comes with no event): drop its pieces.
  if (it != partial_.end() && it->second.tsn != tsn) {
    g_debug("unfinished message on stream %u abandoned by the peer", stream);
    drop_partial_locked(stream);
    it = partial_.end();
  }
  if ((flags & MSG_EOR) && it == partial_.end()) {  // a whole message in one piece
    if (len > max_message_size_) return too_big(false);
    lock.unlock();
    Event e{Event::Kind::Message};
    e.stream = stream;
    e.ppid = ppid;
    e.whole = std::move(owned);
    e.whole_size = len;
    post(std::move(e));
    return;
  }
  // Partial delivery of a big message: bounded per message and in total.
  size_t message = (it == partial_.end() ? 0 : it->second.data.size()) + len;
  if (message > max_message_size_) return too_big(false);
  if (partial_bytes_ + len > max_message_size_) return too_big(true);
  auto& partial = partial_[stream];
  partial.tsn = tsn;
  auto& buf = partial.data;
  buf.insert(buf.end(), data, data + len);
  partial_bytes_ += len;
  if (partial_bytes_ > reassembly_peak_) reassembly_peak_ = partial_bytes_;
  if (!(flags & MSG_EOR)) return;
  Event e{Event::Kind::Message};
  e.stream = stream;
  e.ppid = ppid;
  e.data = std::move(buf);
  partial_bytes_ -= e.data.size();
  partial_.erase(stream);
  lock.unlock();
  post(std::move(e));
}

void SctpTransport::handle_notification(const uint8_t* data, size_t len) {
  if (len < sizeof(sctp_notification::sctp_tlv)) return;
  const auto* n = reinterpret_cast<const sctp_notification*>(data);
  if (n->sn_header.sn_length > len) return;  // says it is longer than what came
  switch (n->sn_header.sn_type) {
    case SCTP_ASSOC_CHANGE: {
      if (len < sizeof(sctp_assoc_change)) return;
      const auto& ac = n->sn_assoc_change;
      g_debug("association change: state %u error %u streams out %u in %u", ac.sac_state, ac.sac_error,
              ac.sac_outbound_streams, ac.sac_inbound_streams);
      Event e{Event::Kind::State};
      if (ac.sac_state == SCTP_COMM_UP || ac.sac_state == SCTP_RESTART) {
        max_streams_ = std::min(ac.sac_outbound_streams, ac.sac_inbound_streams);
        state_ = State::Connected;
        e.state = State::Connected;
      } else if (ac.sac_state == SCTP_COMM_LOST || ac.sac_state == SCTP_SHUTDOWN_COMP ||
                 ac.sac_state == SCTP_CANT_STR_ASSOC) {
        state_ = State::Closed;
        e.state = State::Closed;
      } else {
        return;
      }
      post(std::move(e));
      break;
    }
    case SCTP_STREAM_RESET_EVENT:
      for (uint16_t stream : incoming_reset_streams({data, len})) {
        // What the peer had begun sending on the stream never finishes.
        drop_partial_locked(stream);
        Event e{Event::Kind::StreamReset};
        e.stream = stream;
        post(std::move(e));
      }
      // usrsctp refuses sends on a stream while our reset of it is in flight
      // (EAGAIN), and nothing else says when it ends: a message refused then
      // (a new channel's DCEP OPEN on a reused stream) waits for on_writable.
      if (!writable_pending_.exchange(true)) post(Event{Event::Kind::Writable});
      break;
    case SCTP_PARTIAL_DELIVERY_EVENT: {
      if (len < sizeof(sctp_pdapi_event)) break;
      const auto& pd = n->sn_pdapi_event;
      if (pd.pdapi_indication != SCTP_PARTIAL_DELIVERY_ABORTED) break;
      g_debug("partial delivery on stream %u abandoned by the peer", pd.pdapi_stream);
      drop_partial_locked(static_cast<uint16_t>(pd.pdapi_stream));
      break;
    }
    case SCTP_SENDER_DRY_EVENT:
      dry_events_++;
      if (!writable_pending_.exchange(true)) post(Event{Event::Kind::Writable});
      break;
    default:
      break;
  }
}

int SctpTransport::on_output(void* addr, void* buffer, size_t length, uint8_t, uint8_t) {
  std::shared_lock lock(UsrsctpLibrary::instances_mutex);
  auto* self = static_cast<SctpTransport*>(addr);
  if (!UsrsctpLibrary::instances.count(self)) return -1;
  std::span<uint8_t> packet(static_cast<uint8_t*>(buffer), length);  // usrsctp's own copy, ours to write
  sctp_fill_checksum(packet);
  return self->send_packet_(packet) ? 0 : -1;
}

int SctpTransport::on_usrsctp_receive(struct socket*, union sctp_sockstore, void* data, size_t len,
                                      struct sctp_rcvinfo info, int flags, void* ulp) {
  std::shared_lock lock(UsrsctpLibrary::instances_mutex);
  auto* self = static_cast<SctpTransport*>(ulp);
  if (!data) {  // association gone (socket EOF)
    if (UsrsctpLibrary::instances.count(self) && self->state_ != State::Closed) {
      self->state_ = State::Closed;
      Event e{Event::Kind::State};
      e.state = State::Closed;
      self->post(std::move(e));
    }
    return 1;
  }
  if (!UsrsctpLibrary::instances.count(self)) {
    free(data);
    return 1;
  }
  auto* bytes = static_cast<uint8_t*>(data);
  if (flags & MSG_NOTIFICATION) {
    std::lock_guard lock(self->partial_mutex_);
    auto& buf = self->partial_notification_;
    buf.insert(buf.end(), bytes, bytes + len);
    if (flags & MSG_EOR) {
      self->handle_notification(buf.data(), buf.size());
      buf.clear();
    }
    free(data);
  } else {
    self->handle_data(info.rcv_sid, ntohl(info.rcv_ppid), info.rcv_tsn, flags, bytes, len);  // takes the buffer
  }
  return 1;
}

int SctpTransport::on_usrsctp_send_space(struct socket*, uint32_t, void* ulp) {
  std::shared_lock lock(UsrsctpLibrary::instances_mutex);
  auto* self = static_cast<SctpTransport*>(ulp);
  if (UsrsctpLibrary::instances.count(self)) self->send_space_calls_++;
  if (UsrsctpLibrary::instances.count(self) && !self->writable_pending_.exchange(true))
    self->post(Event{Event::Kind::Writable});
  return 0;
}

}  // namespace lk::rtc
