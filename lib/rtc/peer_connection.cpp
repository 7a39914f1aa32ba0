#include "rtc/peer_connection.h"

#include <algorithm>
#include <optional>
#include <tuple>

#include "rtc/channel_registry.h"
#include "rtc/dtls_transport.h"
#include "rtc/ice_transport.h"
#include "rtc/sctp_transport.h"
#include "rtc/sdp.h"
#include "util/post.h"
#include "util/scoped_source.h"

#undef G_LOG_DOMAIN
#define G_LOG_DOMAIN "livekit-rtc-pc"

namespace lk::rtc {

const char* to_string(PeerState state) {
  switch (state) {
    case PeerState::New: return "new";
    case PeerState::Connecting: return "connecting";
    case PeerState::Connected: return "connected";
    case PeerState::Disconnected: return "disconnected";
    case PeerState::Failed: return "failed";
    case PeerState::Closed: return "closed";
  }
  return "?";
}

namespace {
constexpr uint16_t kSctpPort = 5000;

// Transports are destroyed top-down, after the callback that closed them
// has returned (closing may start inside one of their own callbacks).
struct Stack {
  std::unique_ptr<SctpTransport> sctp;
  std::unique_ptr<DtlsTransport> dtls;
  std::unique_ptr<IceTransport> ice;
  ~Stack() {
    sctp.reset();
    dtls.reset();
    ice.reset();
  }
};
}  // namespace

struct PeerConnection::Impl : std::enable_shared_from_this<Impl> {
  PeerConnection* owner = nullptr;  // set as soon as create() has one
  Configuration config;
  GMainContext* context;
  std::shared_ptr<Certificate> cert;
  Stack stack;
  std::vector<Stack*> graveyard;
  std::shared_ptr<DataChannelRegistry> channels = std::make_shared<DataChannelRegistry>();

  std::optional<sdp::Description> remote;
  std::string local_mid = "0";
  bool have_local_offer = false;
  sdp::Setup local_setup = sdp::Setup::ActPass;
  bool gathering = false;
  bool restart_pending = false;
  bool remote_end_pending = false;
  std::vector<std::string> early_candidates;
  PeerState state = PeerState::New;
  lk::ScopedSource connect_deadline;  // armed on the first Connecting, gone once Connected
  bool connected_once = false;
  // Failed only because ICE lost the path: DTLS, SCTP and the channels are
  // kept for an ICE restart to bring back.
  bool path_lost = false;
  uint64_t session_id = 0, session_version = 0;

  explicit Impl(Configuration c) : config(std::move(c)) {
    context = config.context ? g_main_context_ref(config.context) : g_main_context_ref_thread_default();
    session_id = g_random_int() | (uint64_t{g_random_int() & 0x7fffffff} << 32);
  }
  ~Impl() {
    for (Stack* s : graveyard) delete s;
    g_main_context_unref(context);
  }

  lk::Result<void> init();
  // Later on our context, unless we are gone by then.
  void post(std::function<void(Impl&)> fn) { lk::post_weak(context, weak_from_this(), std::move(fn)); }
  void set_state(PeerState s);
  void fail(const lk::Error& error);
  void lose_path(const lk::Error& error);
  void teardown();
  lk::Result<void> apply_remote(sdp::Description d, bool is_offer);
  lk::Result<void> ensure_dtls(bool client);
  lk::Result<void> start_gathering();
  sdp::LocalParams local_params();
  void on_ice_state(IceTransport::State s);
  void on_dtls_state(DtlsTransport::State s);
  void on_sctp_state(SctpTransport::State s);
  void on_connect_deadline();
};

lk::Result<void> PeerConnection::Impl::init() {
  auto c = Certificate::generate();
  if (!c) return c.error();
  cert = *c;
  IceTransport::Config ic;
  ic.context = context;
  ic.ice_tcp = config.ice_tcp;
  ic.ice_tcp_passive = config.ice_tcp_passive;
  ic.relay_only = config.relay_only;
  ic.disconnected_timeout_ms = config.disconnected_timeout_ms;
  ic.failed_timeout_ms = config.failed_timeout_ms;
  for (const auto& server : config.ice_servers)
    for (const auto& url : server.urls) {
      auto address = parse_ice_server_url(url, server.username, server.credential);
      if (!address) return address.error();
      ic.servers.push_back(*address);
    }
  auto ice = IceTransport::create(ic);
  if (!ice) return ice.error();
  stack.ice = std::move(*ice);
  std::weak_ptr<Impl> weak = weak_from_this();
  stack.ice->on_candidate = [weak](const std::string& candidate) {
    // Deferred: libnice reports host candidates inside gather(), before the
    // caller has the SDP to send first.
    if (auto self = weak.lock())
      self->post([candidate](Impl& impl) {
        if (impl.state != PeerState::Closed && impl.owner->on_local_candidate)
          impl.owner->on_local_candidate(candidate, impl.local_mid);
      });
  };
  stack.ice->on_state = [weak](IceTransport::State s) {
    if (auto self = weak.lock()) self->on_ice_state(s);
  };
  stack.ice->on_receive = [this](std::span<const uint8_t> datagram) {
    if (stack.dtls) stack.dtls->receive(datagram);
  };
  stack.ice->on_server_error = [this](const lk::Error& error) {
    g_debug("%s", error.message.c_str());
    if (state != PeerState::Closed && owner->on_ice_server_error) owner->on_ice_server_error(error);
  };
  channels->set_max_buffered_amount(config.max_buffered_amount);
  channels->defer = [weak](std::function<void()> fn) {
    if (auto self = weak.lock()) self->post([fn = std::move(fn)](Impl&) { fn(); });
  };
  channels->on_remote_channel = [this](std::shared_ptr<DataChannel> channel) {
    if (owner->on_data_channel) owner->on_data_channel(std::move(channel));
  };
  return lk::ok();
}

void PeerConnection::Impl::set_state(PeerState s) {
  if (state == s || state == PeerState::Closed) return;
  if (state == PeerState::Failed && s != PeerState::Closed && !path_lost) return;
  g_debug("peer connection %s -> %s", to_string(state), to_string(s));
  state = s;
  if (s != PeerState::Failed) path_lost = false;
  // One deadline for the first connection, whatever happens meanwhile (a
  // Disconnected while connecting does not restart it).
  if (s == PeerState::Connecting && !connect_deadline && !connected_once && config.connect_timeout_ms)
    connect_deadline = lk::ScopedSource::timeout(context, config.connect_timeout_ms, [this] {
      on_connect_deadline();
      return false;
    });
  if (s == PeerState::Connected) connected_once = true;
  if (s == PeerState::Connected || s == PeerState::Failed || s == PeerState::Closed) connect_deadline.reset();
  if (owner->on_state_change) owner->on_state_change(s);
}

void PeerConnection::Impl::fail(const lk::Error& error) {
  if ((state == PeerState::Failed && !path_lost) || state == PeerState::Closed) return;
  g_debug("failed: %s", error.message.c_str());
  path_lost = false;
  if (owner->on_error) owner->on_error(error);
  channels->detach();
  set_state(PeerState::Failed);
}

void PeerConnection::Impl::lose_path(const lk::Error& error) {
  if (state == PeerState::Failed || state == PeerState::Closed) return;
  g_debug("failed, the association kept for an ICE restart: %s", error.message.c_str());
  if (owner->on_error) owner->on_error(error);
  path_lost = true;  // before the callback, which may restart ICE at once
  set_state(PeerState::Failed);
}

void PeerConnection::Impl::on_connect_deadline() {
  // Say which step never finished: that is where to look.
  const char* step = !stack.ice || stack.ice->state() != IceTransport::State::Connected
                         ? "ICE found no working candidate pair"
                     : !stack.dtls || stack.dtls->state() != DtlsTransport::State::Connected
                         ? "ICE connected but the DTLS handshake did not complete (does the peer speak DTLS, and"
                           " do a=setup roles make one side the client?)"
                         : "DTLS connected but the SCTP association did not come up";
  fail(make_error(ErrorKind::Timeout,
                  "not connected within " + std::to_string(config.connect_timeout_ms) + " ms: " + step));
}

void PeerConnection::Impl::teardown() {
  channels->detach();
  if (stack.sctp) stack.sctp->on_state = nullptr;
  if (stack.dtls) {
    stack.dtls->on_state = nullptr;
    stack.dtls->on_error = nullptr;
    stack.dtls->close();  // close_notify while ICE still runs
  }
  auto* dead = new Stack{std::move(stack.sctp), std::move(stack.dtls), std::move(stack.ice)};
  graveyard.push_back(dead);
  post([dead](Impl& impl) {
    std::erase(impl.graveyard, dead);
    delete dead;
  });
}

void PeerConnection::Impl::on_ice_state(IceTransport::State s) {
  switch (s) {
    case IceTransport::State::Checking:
      set_state(PeerState::Connecting);
      break;
    case IceTransport::State::Connected:
      if (stack.dtls && stack.dtls->state() == DtlsTransport::State::New) stack.dtls->start();
      set_state(stack.sctp && stack.sctp->state() == SctpTransport::State::Connected ? PeerState::Connected
                                                                                  : PeerState::Connecting);
      break;
    case IceTransport::State::Disconnected:
      set_state(PeerState::Disconnected);
      break;
    case IceTransport::State::Failed:
      if (stack.sctp && stack.sctp->state() == SctpTransport::State::Connected) {
        // Only the path is gone (or an ICE restart found none): the peer
        // still holds the association, so keep ours for a restart.
        lose_path(make_error(ErrorKind::Network, "peer unreachable: nothing received within the liveness timeout"
                                                 " (restart ICE to go on, or close)"));
      } else {
        fail(make_error(ErrorKind::Network, "ICE failed: no candidate pair could connect"));
      }
      break;
    default:
      break;
  }
}

void PeerConnection::Impl::on_dtls_state(DtlsTransport::State s) {
  if (s == DtlsTransport::State::Connected && !stack.sctp) {
    auto sctp = SctpTransport::create(context, kSctpPort, remote ? remote->sctp_port : kSctpPort, config.sctp_mtu,
                                      [dtls = stack.dtls.get()](std::span<const uint8_t> packet) {
                                        return dtls->send(packet);
                                      },
                                      config.max_message_size);
    if (!sctp) return fail(sctp.error());
    stack.sctp = std::move(*sctp);
    stack.sctp->on_state = [this](SctpTransport::State st) { on_sctp_state(st); };
    stack.sctp->on_message = [this](uint16_t stream, uint32_t ppid, std::span<const uint8_t> data) {
      channels->handle_message(stream, ppid, data);
    };
    stack.sctp->on_stream_reset = [this](uint16_t stream) { channels->handle_stream_reset(stream); };
    stack.sctp->on_writable = [this] { channels->handle_writable(); };
    stack.sctp->on_error = [this](const lk::Error& e) {
      // A peer that ignores our limits gets no more of our memory or time:
      // fail, and drop the association (close_notify, then SCTP goes).
      fail(e);
      teardown();
    };
    stack.dtls->on_receive = [sctp = stack.sctp.get()](std::span<const uint8_t> packet) { sctp->receive(packet); };
    if (auto r = stack.sctp->start(); !r) return fail(r.error());
  } else if (s == DtlsTransport::State::Closed) {
    g_debug("peer sent DTLS close_notify");
    channels->detach();
    set_state(PeerState::Closed);
    teardown();
  }
  // Failed is reported through on_error (see ensure_dtls).
}

void PeerConnection::Impl::on_sctp_state(SctpTransport::State s) {
  if (s == SctpTransport::State::Connected) {
    size_t advertised = remote ? remote->max_message_size : sdp::kUnadvertisedMaxMessageSize;
    channels->attach(stack.sctp.get(), stack.dtls->is_client(), std::min(advertised, config.max_send_message_size));
    if (state != PeerState::Disconnected) set_state(PeerState::Connected);
  } else if (s == SctpTransport::State::Closed) {
    g_debug("SCTP association closed by the peer");
    channels->detach();
    set_state(PeerState::Closed);
    teardown();
  }
}

lk::Result<void> PeerConnection::Impl::ensure_dtls(bool client) {
  if (stack.dtls) {
    if (stack.dtls->is_client() == client) return lk::ok();
    return make_error(ErrorKind::Unsupported, "renegotiation may not change the DTLS role");
  }
  auto dtls = DtlsTransport::create(context, cert, client, remote->fingerprint,
                                    [ice = stack.ice.get()](std::span<const uint8_t> d) { return ice->send(d); });
  if (!dtls) return dtls.error();
  stack.dtls = std::move(*dtls);
  std::weak_ptr<Impl> weak = weak_from_this();
  stack.dtls->on_state = [this](DtlsTransport::State s) { on_dtls_state(s); };
  stack.dtls->on_error = [weak](const lk::Error& e) {
    // Deferred: failing tears the stack down, and we are inside its receive().
    if (auto self = weak.lock()) self->post([e](Impl& impl) { impl.fail(e); });
  };
  if (stack.ice->state() == IceTransport::State::Connected) stack.dtls->start();
  return lk::ok();
}

lk::Result<void> PeerConnection::Impl::start_gathering() {
  if (gathering) return lk::ok();
  gathering = true;
  return stack.ice->gather();
}

sdp::LocalParams PeerConnection::Impl::local_params() {
  sdp::LocalParams p;
  auto credentials = stack.ice->local_credentials();
  p.ice_ufrag = std::move(credentials.ufrag);
  p.ice_pwd = std::move(credentials.pwd);
  p.fingerprint = cert->fingerprint();
  p.setup = local_setup;
  p.mid = local_mid;
  p.sctp_port = kSctpPort;
  p.max_message_size = config.max_message_size;
  p.candidates = stack.ice->local_candidates();
  p.end_of_candidates = stack.ice->gathering_done();
  p.session_id = session_id;
  p.session_version = ++session_version;
  return p;
}

lk::Result<void> PeerConnection::Impl::apply_remote(sdp::Description d, bool is_offer) {
  bool restart = remote && (remote->ice_ufrag != d.ice_ufrag || remote->ice_pwd != d.ice_pwd);
  if (remote && stack.dtls && (remote->fingerprint.value != d.fingerprint.value))
    return make_error(ErrorKind::Unsupported, "renegotiation may not change the DTLS fingerprint");
  if (restart && is_offer) stack.ice->restart();  // the peer restarts ICE: so do we
  remote = std::move(d);
  if (is_offer) {
    local_mid = remote->mid.empty() ? "0" : remote->mid;
    // The offerer controls, unless it is ICE-lite (then we must).
    stack.ice->set_controlling(remote->ice_lite);
  } else if (remote->ice_lite) {
    stack.ice->set_controlling(true);
  }
  if (auto r = stack.ice->set_remote_credentials(remote->ice_ufrag, remote->ice_pwd); !r) return r;
  for (const auto& c : remote->candidates)
    if (auto r = stack.ice->add_remote_candidate(c); !r) g_debug("%s", r.error().message.c_str());
  for (const auto& c : early_candidates)
    if (auto r = stack.ice->add_remote_candidate(c); !r) g_debug("%s", r.error().message.c_str());
  early_candidates.clear();
  if (remote->end_of_candidates || remote_end_pending) stack.ice->remote_gathering_done();
  return lk::ok();
}

// ---------------------------------------------------------------------------

lk::Result<std::unique_ptr<PeerConnection>> PeerConnection::create(Configuration config) {
  auto impl = std::make_shared<Impl>(std::move(config));
  if (auto r = impl->init(); !r) return r.error();
  return std::unique_ptr<PeerConnection>(new PeerConnection(std::move(impl)));
}

PeerConnection::PeerConnection(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) { impl_->owner = this; }

PeerConnection::~PeerConnection() {
  // No callbacks from a dying object: its owner is usually half destroyed.
  on_local_candidate = nullptr;
  on_state_change = nullptr;
  on_data_channel = nullptr;
  on_error = nullptr;
  on_ice_server_error = nullptr;
  close();
  // Not inside one of our callbacks (documented), so the stack can go now.
  for (Stack* s : impl_->graveyard) delete s;
  impl_->graveyard.clear();
}

PeerState PeerConnection::state() const { return impl_->state; }

bool PeerConnection::association_up() const {
  const auto& s = *impl_;
  const bool final_state = s.state == PeerState::Closed || (s.state == PeerState::Failed && !s.path_lost);
  return !final_state && s.stack.sctp && s.stack.sctp->state() == SctpTransport::State::Connected;
}

size_t PeerConnection::sctp_outstanding_chunks() const {
  return impl_->stack.sctp ? impl_->stack.sctp->outstanding_chunks() : 0;
}

PeerConnection::TransportStatus PeerConnection::transport_status() const {
  const Stack& stack = impl_->stack;
  TransportStatus out;
  if (stack.ice) {
    auto c = stack.ice->counters();
    out.ice = to_string(stack.ice->state());
    std::tie(out.datagrams_in, out.datagrams_out, out.datagrams_failed) = std::tuple(c.received, c.sent, c.failed);
    if (c.last_receive_us && c.received) out.ms_since_receive = (g_get_monotonic_time() - c.last_receive_us) / 1000;
  }
  if (stack.dtls) {
    auto c = stack.dtls->counters();
    out.dtls = to_string(stack.dtls->state());
    std::tie(out.sctp_packets_in, out.sctp_bytes_in, out.sctp_packets_out, out.sctp_bytes_out, out.dtls_write_failures) =
        std::tuple(c.records_in, c.bytes_in, c.records_out, c.bytes_out, c.write_failures);
  }
  if (stack.sctp) {
    out.sctp = to_string(stack.sctp->state());
    out.association = stack.sctp->status();
  }
  return out;
}

std::string PeerConnection::local_fingerprint() const {
  return impl_->cert->fingerprint().algorithm + " " + impl_->cert->fingerprint().value;
}

lk::Result<std::shared_ptr<DataChannel>> PeerConnection::create_data_channel(std::string label, DataChannelInit init) {
  if (impl_->state == PeerState::Closed || impl_->state == PeerState::Failed)
    return make_error(ErrorKind::Closed, "peer connection is closed");
  return impl_->channels->create(std::move(label), std::move(init));
}

lk::Result<std::string> PeerConnection::create_offer() {
  auto& s = *impl_;
  if (s.state == PeerState::Closed) return make_error(ErrorKind::Closed, "peer connection is closed");
  if (s.restart_pending) {
    s.stack.ice->restart();
    s.restart_pending = false;
  }
  if (auto r = s.start_gathering(); !r) return r.error();
  if (!s.remote) s.stack.ice->set_controlling(true);
  s.local_setup = s.stack.dtls ? (s.stack.dtls->is_client() ? sdp::Setup::Active : sdp::Setup::Passive)
                               : sdp::Setup::ActPass;
  s.have_local_offer = true;
  return sdp::build_offer(s.local_params());
}

lk::Result<std::string> PeerConnection::create_answer() {
  auto& s = *impl_;
  if (s.state == PeerState::Closed) return make_error(ErrorKind::Closed, "peer connection is closed");
  if (!s.remote || s.have_local_offer)
    return make_error(ErrorKind::InvalidArgument, "create_answer needs a remote offer (set_remote_description(\"offer\"))");
  if (auto r = s.start_gathering(); !r) return r.error();
  return sdp::build_answer(s.local_params(), *s.remote);
}

lk::Result<void> PeerConnection::set_remote_description(std::string_view type, std::string_view text) {
  auto& s = *impl_;
  if (s.state == PeerState::Closed) return make_error(ErrorKind::Closed, "peer connection is closed");
  bool is_offer = type == "offer";
  if (!is_offer && type != "answer")
    return make_error(ErrorKind::InvalidArgument, "description type must be \"offer\" or \"answer\", got \"" + std::string(type) + "\"");
  if (!is_offer && !s.have_local_offer)
    return make_error(ErrorKind::InvalidArgument, "got an answer but no local offer is pending");
  if (is_offer && s.have_local_offer)
    return make_error(ErrorKind::InvalidArgument, "got an offer while our own offer is pending (glare)");
  auto d = sdp::parse(text);
  if (!d) return d.error();
  bool client;
  if (is_offer) {
    // We answer active (DTLS client) unless the offerer insists on active.
    client = d->setup != sdp::Setup::Active;
    if (!s.stack.dtls) s.local_setup = client ? sdp::Setup::Active : sdp::Setup::Passive;
  } else {
    if (d->setup == sdp::Setup::ActPass)
      return make_error(ErrorKind::InvalidArgument, "an answer must say a=setup:active or passive, not actpass");
    client = d->setup == sdp::Setup::Passive;
    s.have_local_offer = false;
  }
  if (auto r = s.apply_remote(std::move(*d), is_offer); !r) return r;
  if (auto r = s.ensure_dtls(s.stack.dtls ? s.stack.dtls->is_client() : client); !r) return r;
  if (s.state == PeerState::New) s.set_state(PeerState::Connecting);
  return lk::ok();
}

lk::Result<void> PeerConnection::add_remote_candidate(std::string_view candidate, std::string_view mid) {
  auto& s = *impl_;
  if (s.state == PeerState::Closed) return make_error(ErrorKind::Closed, "peer connection is closed");
  if (candidate.starts_with("a=")) candidate.remove_prefix(2);
  if (candidate.empty()) {
    add_remote_end_of_candidates();
    return lk::ok();
  }
  if (!candidate.starts_with("candidate:"))
    return make_error(ErrorKind::InvalidArgument, "ICE candidate must start with 'candidate:'");
  if (!s.remote) {
    s.early_candidates.emplace_back(candidate);
    return lk::ok();
  }
  if (!mid.empty() && mid != s.remote->mid &&
      std::find(s.remote->bundle.begin(), s.remote->bundle.end(), mid) == s.remote->bundle.end())
    return lk::ok();  // for a section we rejected
  return s.stack.ice->add_remote_candidate(candidate);
}

void PeerConnection::add_remote_end_of_candidates() {
  auto& s = *impl_;
  if (!s.stack.ice) return;
  if (!s.remote) s.remote_end_pending = true;
  else s.stack.ice->remote_gathering_done();
}

void PeerConnection::restart_ice() { impl_->restart_pending = true; }

void PeerConnection::close() {
  auto& s = *impl_;
  if (s.state == PeerState::Closed) return;
  if (s.stack.sctp) s.stack.sctp->on_state = nullptr;
  s.teardown();
  s.set_state(PeerState::Closed);
}

}  // namespace lk::rtc
