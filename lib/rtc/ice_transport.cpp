#include "rtc/ice_transport.h"

#include <agent.h>
#include <gio/gio.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <mutex>
#include <set>
#include <utility>

#undef G_LOG_DOMAIN
#define G_LOG_DOMAIN "livekit-rtc-ice"

namespace lk::rtc {
namespace {

constexpr guint kComponent = 1;
constexpr int kSocketBufferBytes = 8 * 1024 * 1024;

// Secrets of live IceTransports (TURN credentials, ICE passwords): the log
// bridge below blanks them out of any libnice line, as text or as hex,
// whatever the line's wording.
std::mutex secrets_mutex;
std::multiset<std::string> secrets;

void add_secret(const std::string& secret) {
  if (secret.empty()) return;
  std::lock_guard lock(secrets_mutex);
  secrets.insert(secret);
}

void remove_secret(const std::string& secret) {
  std::lock_guard lock(secrets_mutex);
  if (auto it = secrets.find(secret); it != secrets.end()) secrets.erase(it);
}

std::string hex(std::string_view bytes, bool upper) {
  static const char* digits[] = {"0123456789abcdef", "0123456789ABCDEF"};
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[upper][c >> 4];
    out += digits[upper][c & 15];
  }
  return out;
}

std::string blank_secrets(std::string line) {
  std::lock_guard lock(secrets_mutex);
  for (const auto& secret : secrets)
    for (const std::string& form : {secret, hex(secret, false), hex(secret, true)})
      for (size_t at; (at = line.find(form)) != std::string::npos;) line.replace(at, form.size(), "***");
  return line;
}

// libnice logs under its own domains; re-emit them under ours so one
// G_MESSAGES_DEBUG=livekit-rtc-ice shows both. By domain, an allow-list:
// libnice's own lines pass, with lines that name credentials dropped and
// known secrets blanked; its STUN domain (message dumps and keys, "key :
// 0x...") and pseudo-TCP ones never pass.
void forward_libnice_log(const gchar* domain, GLogLevelFlags level, const gchar* message, gpointer) {
  if (g_strcmp0(domain, "libnice") != 0 && g_strcmp0(domain, "libnice-verbose") != 0) return;
  bool secret = strstr(message, "pwd") || strstr(message, "password") || strstr(message, "credential") ||
                strstr(message, "PASSWORD") || strstr(message, "USERNAME") || strstr(message, "user/pass") ||
                strstr(message, "key :");
  std::string line = "[" + std::string(domain) + "] " +
                     (secret ? std::string("(line with credentials withheld)") : blank_secrets(message));
  g_log_default_handler(G_LOG_DOMAIN, static_cast<GLogLevelFlags>(level & G_LOG_LEVEL_MASK), line.c_str(), nullptr);
}

// Always installed, whatever G_MESSAGES_DEBUG says: libnice enables its own
// logging from that variable and NICE_DEBUG, and without our handler its
// lines would reach GLib's default one unfiltered.
void bridge_libnice_logging_once() {
  static gsize done = 0;
  if (g_once_init_enter(&done)) {
    const char* env = g_getenv("G_MESSAGES_DEBUG");
    if (env && (strstr(env, G_LOG_DOMAIN) || strstr(env, "all"))) nice_debug_enable(FALSE);
    for (const char* d : {"libnice", "libnice-verbose", "libnice-stun", "libnice-pseudotcp", "libnice-pseudotcp-verbose"})
      g_log_set_handler(d, static_cast<GLogLevelFlags>(G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION),
                        forward_libnice_log, nullptr);
    g_once_init_leave(&done, 1);
  }
}

// libnice 0.1.21 has no switch for active-only ICE-TCP: with ice-tcp on it
// always listens for a passive candidate and keeps every connection made to
// it, authenticated or not. So we find our listening socket on that port and
// attach a socket filter that drops every packet, SYNs included: nobody can
// connect, and the candidate is not announced. Returns the sockets sealed.
int seal_listeners(uint16_t port) {
  int sealed = 0;
  GDir* dir = g_dir_open("/proc/self/fd", 0, nullptr);
  if (!dir) return 0;
  while (const char* name = g_dir_read_name(dir)) {
    int fd = atoi(name);
    struct stat st;
    int listening = 0;
    socklen_t len = sizeof listening;
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode) ||
        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening)
      continue;
    sockaddr_storage local{};
    len = sizeof local;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) continue;
    uint16_t bound = local.ss_family == AF_INET    ? ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port)
                     : local.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&local)->sin6_port)
                                                   : 0;
    if (bound != port) continue;
    sock_filter drop_all[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
    sock_fprog program{1, drop_all};
    int on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) == 0) {
      setsockopt(fd, SOL_SOCKET, SO_LOCK_FILTER, &on, sizeof on);
      ++sealed;
    }
  }
  g_dir_close(dir);
  return sealed;
}

bool is_passive_tcp(const NiceCandidate* c) { return c->transport == NICE_CANDIDATE_TRANSPORT_TCP_PASSIVE; }

// The first IPv4 address of a lookup's answer, else its first address; "" if none.
std::string pick_address(GList* addresses) {
  GInetAddress* chosen = nullptr;
  for (GList* l = addresses; l && !chosen; l = l->next)
    if (g_inet_address_get_family(G_INET_ADDRESS(l->data)) == G_SOCKET_FAMILY_IPV4) chosen = G_INET_ADDRESS(l->data);
  if (!chosen && addresses) chosen = G_INET_ADDRESS(addresses->data);
  if (!chosen) return {};
  gchar* text = g_inet_address_to_string(chosen);
  std::string out = text;
  g_free(text);
  return out;
}

std::string describe(const IceServerAddress& server) {
  return (server.kind == IceServerAddress::Kind::Stun ? "STUN server " : "TURN server ") + server.host + ":" +
         std::to_string(server.port);
}

}  // namespace

const char* to_string(IceTransport::State state) {
  switch (state) {
    case IceTransport::State::New: return "new";
    case IceTransport::State::Checking: return "checking";
    case IceTransport::State::Connected: return "connected";
    case IceTransport::State::Disconnected: return "disconnected";
    case IceTransport::State::Failed: return "failed";
    case IceTransport::State::Closed: return "closed";
  }
  return "?";
}

lk::Result<IceServerAddress> parse_ice_server_url(std::string_view url, std::string username, std::string credential) {
  IceServerAddress a;
  a.username = std::move(username);
  a.credential = std::move(credential);
  std::string_view rest;
  if (url.starts_with("stun:")) {
    a.kind = IceServerAddress::Kind::Stun;
    rest = url.substr(5);
  } else if (url.starts_with("turns:")) {
    a.kind = IceServerAddress::Kind::TurnTls;
    a.port = 5349;
    rest = url.substr(6);
  } else if (url.starts_with("turn:")) {
    a.kind = IceServerAddress::Kind::TurnUdp;
    rest = url.substr(5);
  } else {
    return make_error(ErrorKind::InvalidArgument, "ICE server URL must start with stun:, turn: or turns: (" + std::string(url) + ")");
  }
  std::string_view query;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (query == "transport=tcp" && a.kind == IceServerAddress::Kind::TurnUdp) a.kind = IceServerAddress::Kind::TurnTcp;
  else if (!query.empty() && query != "transport=udp" && query != "transport=tcp")
    return make_error(ErrorKind::InvalidArgument, "ICE server URL has an unknown query: " + std::string(url));
  std::string_view host = rest;
  if (!rest.empty() && rest.front() == '[') {  // [v6]:port
    auto close = rest.find(']');
    if (close == std::string_view::npos) return make_error(ErrorKind::InvalidArgument, "bad IPv6 host in " + std::string(url));
    host = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
    if (!rest.empty() && rest.front() == ':') rest.remove_prefix(1);
    else rest = {};
  } else if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    rest = rest.substr(colon + 1);
  } else {
    rest = {};
  }
  if (!rest.empty()) {
    auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), a.port);
    if (ec != std::errc() || p != rest.data() + rest.size() || a.port == 0)
      return make_error(ErrorKind::InvalidArgument, "bad port in ICE server URL " + std::string(url));
  }
  if (host.empty()) return make_error(ErrorKind::InvalidArgument, "no host in ICE server URL " + std::string(url));
  a.host = std::string(host);
  return a;
}

// One server's host name being looked up. When the transport goes first the
// resolver still calls back: owner is then nullptr and the callback only
// frees the lookup.
struct IceTransport::Lookup {
  IceTransport* owner;
  IceServerAddress server;
  GCancellable* cancellable = g_cancellable_new();
  ~Lookup() { g_object_unref(cancellable); }
};

IceTransport::IceTransport(const Config& config)
    : context_(g_main_context_ref(config.context)),
      resolve_timeout_ms_(config.resolve_timeout_ms),
      ice_tcp_passive_(config.ice_tcp_passive),
      disconnected_timeout_ms_(config.disconnected_timeout_ms),
      failed_timeout_ms_(config.failed_timeout_ms) {}

lk::Result<std::unique_ptr<IceTransport>> IceTransport::create(const Config& config) {
  if (!config.context) return make_error(ErrorKind::InvalidArgument, "IceTransport needs a GMainContext");
  bridge_libnice_logging_once();
  std::unique_ptr<IceTransport> t(new IceTransport(config));
  if (auto r = t->init(config); !r) return r.error();
  return t;
}

lk::Result<void> IceTransport::init(const Config& config) {
  agent_ = nice_agent_new_full(context_, NICE_COMPATIBILITY_RFC5245,
                               static_cast<NiceAgentOption>(NICE_AGENT_OPTION_ICE_TRICKLE | NICE_AGENT_OPTION_CONSENT_FRESHNESS));
  if (!agent_) return make_error(ErrorKind::Internal, "libnice could not create an agent");
  g_object_set(agent_, "ice-tcp", config.ice_tcp ? TRUE : FALSE, "ice-udp", TRUE, "upnp", FALSE,
               "keepalive-conncheck", TRUE, "force-relay", config.relay_only ? TRUE : FALSE, nullptr);
  stream_ = nice_agent_add_stream(agent_, 1);
  if (!stream_) return make_error(ErrorKind::Internal, "libnice could not add a stream");

  nice_agent_set_stream_name(agent_, stream_, "application");
  keep_secret(local_credentials().pwd);

  std::vector<lk::Error> refused;
  for (const auto& server : config.servers) {
    if (server.kind == IceServerAddress::Kind::TurnTls) {
      // libnice in RFC 5245 mode speaks plain TCP to a turns: server (seen
      // against a plain listener on its port): the credentials would cross
      // the network unprotected, and a TLS-only server refuses it anyway.
      refused.push_back(make_error(ErrorKind::Unsupported,
                                   describe(server) + " (turns:) skipped: TURN over TLS is not supported yet, and"
                                                      " libnice would speak plain TCP to it; give the server's"
                                                      " turn: URL (transport=udp or tcp) instead"));
      continue;
    }
    keep_secret(server.username);
    keep_secret(server.credential);
    if (!g_hostname_is_ip_address(server.host.c_str())) start_lookup(server);
    else if (auto r = use_server(server, server.host); !r) return r;
  }
  if (!lookups_.empty())
    lookup_deadline_ = lk::ScopedSource::timeout(context_, resolve_timeout_ms_, [this] {
      give_up_lookups();
      return false;
    });

  if (!refused.empty())  // once the owner has set on_server_error
    refused_report_ = lk::ScopedSource::idle(context_, [this, refused = std::move(refused)] {
      for (const auto& error : refused)
        if (on_server_error) on_server_error(error);
      return false;
    });

  g_signal_connect(agent_, "new-candidate-full", G_CALLBACK(on_new_candidate), this);
  g_signal_connect(agent_, "candidate-gathering-done", G_CALLBACK(on_gathering_done), this);
  g_signal_connect(agent_, "component-state-changed", G_CALLBACK(on_component_state), this);
  g_signal_connect(agent_, "new-selected-pair-full", G_CALLBACK(on_selected_pair), this);
  nice_agent_attach_recv(agent_, stream_, kComponent, context_, on_recv, this);

  watchdog_ = lk::ScopedSource::timeout(context_, 250, [this] {
    on_watchdog();
    return true;
  });
  return lk::ok();
}

lk::Result<void> IceTransport::use_server(const IceServerAddress& server, const std::string& ip) {
  if (server.kind == IceServerAddress::Kind::Stun) {
    g_object_set(agent_, "stun-server", ip.c_str(), "stun-server-port", static_cast<guint>(server.port), nullptr);
    return lk::ok();
  }
  NiceRelayType type = server.kind == IceServerAddress::Kind::TurnUdp   ? NICE_RELAY_TYPE_TURN_UDP
                       : server.kind == IceServerAddress::Kind::TurnTcp ? NICE_RELAY_TYPE_TURN_TCP
                                                                        : NICE_RELAY_TYPE_TURN_TLS;
  if (!nice_agent_set_relay_info(agent_, stream_, kComponent, ip.c_str(), server.port, server.username.c_str(),
                                 server.credential.c_str(), type))
    return make_error(ErrorKind::InvalidArgument, "libnice refused " + describe(server) + " (" + ip + ")");
  return lk::ok();
}

void IceTransport::start_lookup(const IceServerAddress& server) {
  auto* lookup = new Lookup{this, server};
  lookups_.push_back(lookup);
  GResolver* resolver = g_resolver_get_default();
  // GIO answers on the context that is thread-default here: make it ours.
  g_main_context_push_thread_default(context_);
  g_resolver_lookup_by_name_async(resolver, server.host.c_str(), lookup->cancellable, on_lookup_done, lookup);
  g_main_context_pop_thread_default(context_);
  g_object_unref(resolver);
}

void IceTransport::on_lookup_done(GObject* resolver, GAsyncResult* result, gpointer data) {
  std::unique_ptr<Lookup> lookup(static_cast<Lookup*>(data));
  GError* error = nullptr;
  GList* addresses = g_resolver_lookup_by_name_finish(G_RESOLVER(resolver), result, &error);
  if (lookup->owner) lookup->owner->finish_lookup(*lookup, addresses, error);
  g_resolver_free_addresses(addresses);
  g_clear_error(&error);
}

void IceTransport::finish_lookup(Lookup& lookup, GList* addresses, const GError* error) {
  std::erase(lookups_, &lookup);
  std::string ip = pick_address(addresses);
  lk::Result<void> used = ip.empty() ? make_error(ErrorKind::Network, describe(lookup.server) + " did not resolve: " +
                                                                         (error ? error->message : "no address"))
                                     : use_server(lookup.server, ip);
  if (used) g_debug("%s is %s", describe(lookup.server).c_str(), ip.c_str());
  else if (on_server_error) on_server_error(used.error());
  if (lookups_.empty()) lookups_done();
}

void IceTransport::give_up_lookups() {
  std::vector<IceServerAddress> late;
  for (Lookup* lookup : lookups_) late.push_back(lookup->server);
  detach_lookups();
  for (const auto& server : late)
    if (on_server_error)
      on_server_error(make_error(ErrorKind::Timeout, describe(server) + " did not resolve within " +
                                                         std::to_string(resolve_timeout_ms_) + " ms"));
  lookups_done();
}

void IceTransport::lookups_done() {
  lookup_deadline_.reset();
  if (!gather_wanted_) return;
  gather_wanted_ = false;
  if (auto r = start_gathering(); !r) {
    g_message("%s", r.error().message.c_str());
    set_state(State::Failed);
  }
}

void IceTransport::detach_lookups() {
  for (Lookup* lookup : std::exchange(lookups_, {})) {
    lookup->owner = nullptr;
    GCancellable* cancellable = G_CANCELLABLE(g_object_ref(lookup->cancellable));
    g_cancellable_cancel(cancellable);  // may free the lookup at once
    g_object_unref(cancellable);
  }
}

void IceTransport::keep_secret(const std::string& secret) {
  if (secret.empty()) return;
  add_secret(secret);
  secrets_.push_back(secret);
}

IceTransport::~IceTransport() {
  receive_batch_end_.reset();
  receive_batch_.reset();
  set_udp_path(nullptr);
  g_debug("%p datagrams sent through libnice %llu, below it %llu (%llu batched), received %llu, libnice send failures %u",
          (void*)this, (unsigned long long)sent_.load(), (unsigned long long)retired_.sent,
          (unsigned long long)retired_.batched, (unsigned long long)received_.load(), send_failures_.load());
  watchdog_.reset();
  lookup_deadline_.reset();
  refused_report_.reset();
  detach_lookups();
  if (agent_) {
    g_signal_handlers_disconnect_by_data(agent_, this);
    nice_agent_attach_recv(agent_, stream_, kComponent, context_, nullptr, nullptr);
    nice_agent_remove_stream(agent_, stream_);
    nice_agent_close_async(agent_, nullptr, nullptr);
    g_object_unref(agent_);
  }
  for (const auto& secret : secrets_) remove_secret(secret);
  g_main_context_unref(context_);
}

IceTransport::Credentials IceTransport::local_credentials() const {
  gchar *ufrag = nullptr, *pwd = nullptr;
  nice_agent_get_local_credentials(agent_, stream_, &ufrag, &pwd);
  Credentials out{ufrag ? ufrag : "", pwd ? pwd : ""};
  g_free(ufrag);
  g_free(pwd);
  return out;
}

void IceTransport::set_controlling(bool controlling) {
  g_object_set(agent_, "controlling-mode", controlling ? TRUE : FALSE, nullptr);
}

lk::Result<void> IceTransport::set_remote_credentials(const std::string& ufrag, const std::string& pwd) {
  keep_secret(pwd);
  if (!nice_agent_set_remote_credentials(agent_, stream_, ufrag.c_str(), pwd.c_str()))
    return make_error(ErrorKind::InvalidArgument, "libnice refused the remote ICE credentials");
  if (state_ == State::New) set_state(State::Checking);
  return lk::ok();
}

lk::Result<void> IceTransport::add_remote_candidate(std::string_view candidate) {
  if (candidate.starts_with("a=")) candidate.remove_prefix(2);
  if (!candidate.starts_with("candidate:"))
    return make_error(ErrorKind::InvalidArgument, "ICE candidate must start with 'candidate:'");
  std::string line = "a=" + std::string(candidate);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  NiceCandidate* c = nice_agent_parse_remote_candidate_sdp(agent_, stream_, line.c_str());
  if (!c) return make_error(ErrorKind::InvalidArgument, "unparseable ICE candidate: " + std::string(candidate));
  if (c->component_id != kComponent) {  // RTCP candidates of a media section
    nice_candidate_free(c);
    return lk::ok();
  }
  GSList* list = g_slist_append(nullptr, c);
  int added = nice_agent_set_remote_candidates(agent_, stream_, kComponent, list);
  g_slist_free_full(list, reinterpret_cast<GDestroyNotify>(nice_candidate_free));
  if (added < 0) return make_error(ErrorKind::InvalidArgument, "libnice refused ICE candidate: " + std::string(candidate));
  g_debug("remote candidate %s", line.c_str() + 2);
  return lk::ok();
}

void IceTransport::remote_gathering_done() { nice_agent_peer_candidate_gathering_done(agent_, stream_); }

lk::Result<void> IceTransport::gather() {
  if (lookups_.empty()) return start_gathering();
  gather_wanted_ = true;  // the servers found by then take part
  return lk::ok();
}

lk::Result<void> IceTransport::start_gathering() {
  if (!nice_agent_gather_candidates(agent_, stream_))
    return make_error(ErrorKind::Network, "libnice could not gather ICE candidates (no usable interface?)");
  if (!ice_tcp_passive_) {  // host candidates exist now: seal their listeners
    GSList* list = nice_agent_get_local_candidates(agent_, stream_, kComponent);
    for (GSList* l = list; l; l = l->next) {
      auto* c = static_cast<NiceCandidate*>(l->data);
      if (!is_passive_tcp(c)) continue;
      uint16_t port = static_cast<uint16_t>(nice_address_get_port(&c->addr));
      if (seal_listeners(port) == 0) g_message("could not seal the passive ICE-TCP listener on port %u", port);
    }
    g_slist_free_full(list, reinterpret_cast<GDestroyNotify>(nice_candidate_free));
  }
  return lk::ok();
}

std::vector<std::string> IceTransport::local_candidates() const {
  std::vector<std::string> out;
  GSList* list = nice_agent_get_local_candidates(agent_, stream_, kComponent);
  for (GSList* l = list; l; l = l->next) {
    if (!ice_tcp_passive_ && is_passive_tcp(static_cast<NiceCandidate*>(l->data))) continue;
    gchar* sdp = nice_agent_generate_local_candidate_sdp(agent_, static_cast<NiceCandidate*>(l->data));
    if (sdp) out.emplace_back(g_str_has_prefix(sdp, "a=") ? sdp + 2 : sdp);
    g_free(sdp);
  }
  g_slist_free_full(list, reinterpret_cast<GDestroyNotify>(nice_candidate_free));
  return out;
}

void IceTransport::restart() {
  nice_agent_restart_stream(agent_, stream_);
  keep_secret(local_credentials().pwd);
  g_debug("ICE restart: new local credentials");
  if (ice_connected_ && (state_ == State::Disconnected || state_ == State::Failed)) {
    // The path was lost: connected again once the peer is heard after this.
    restarted_us_ = g_get_monotonic_time();
    set_state(State::Checking);
  }
}

bool IceTransport::send(std::span<const uint8_t> datagram) {
  if (!agent_) return false;
  if (auto path = udp_path()) return path->send(datagram);  // the path counts its failures
  gint n = nice_agent_send(agent_, stream_, kComponent, datagram.size(), reinterpret_cast<const gchar*>(datagram.data()));
  if (n == static_cast<gint>(datagram.size())) {
    sent_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  if (send_failures_.fetch_add(1, std::memory_order_relaxed) % 1000 == 0)
    g_debug("datagram of %zu bytes not sent (%d); %u so far", datagram.size(), n, send_failures_.load());
  return false;
}

void IceTransport::revoke_consent() { nice_agent_consent_lost(agent_, stream_, kComponent); }

static void add_counts(IceTransport::DirectSends& to, const UdpPath& path) {
  to.sent += path.sent();
  to.batched += path.batched();
  to.failed += path.failed();
}

IceTransport::DirectSends IceTransport::direct_sends() const {
  std::lock_guard lock(path_mutex_);
  DirectSends total = retired_;
  if (path_) add_counts(total, *path_);
  return total;
}

IceTransport::Counters IceTransport::counters() const {
  DirectSends direct = direct_sends();
  return {received_.load(std::memory_order_relaxed), sent_.load(std::memory_order_relaxed) + direct.sent,
          send_failures_.load(std::memory_order_relaxed) + direct.failed,
          last_receive_us_.load(std::memory_order_relaxed)};
}

std::shared_ptr<UdpPath> IceTransport::udp_path() const {
  std::lock_guard lock(path_mutex_);
  return path_;
}

void IceTransport::set_udp_path(std::shared_ptr<UdpPath> path) {
  std::lock_guard lock(path_mutex_);
  if (path_) add_counts(retired_, *path_);
  if (path_ && !path) g_debug("sending through libnice from now on");
  path_ = std::move(path);
}

void IceTransport::update_udp_path() {
  NiceCandidate *local = nullptr, *remote = nullptr;  // the agent's own
  if (!ice_connected_ || state_ == State::Failed || state_ == State::Closed ||
      !nice_agent_get_selected_pair(agent_, stream_, kComponent, &local, &remote) ||
      local->transport != NICE_CANDIDATE_TRANSPORT_UDP || local->type == NICE_CANDIDATE_TYPE_RELAYED)
    return set_udp_path(nullptr);
  GSocket* socket = nice_agent_get_selected_socket(agent_, stream_, kComponent);
  if (!socket) return set_udp_path(nullptr);
  sockaddr_storage address{};
  nice_address_copy_to_sockaddr(&remote->addr, reinterpret_cast<sockaddr*>(&address));
  socklen_t length = address.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  set_udp_path(std::make_shared<UdpPath>(socket, address, length));
  g_object_unref(socket);
  g_debug("sending below libnice on the selected pair's socket");
}

void IceTransport::set_state(State state) {
  if (state_ == state || state_ == State::Closed) return;
  g_debug("state %s -> %s", to_string(state_), to_string(state));
  state_ = state;
  if (on_state) on_state(state);
}

// Bigger kernel buffers: bursts at hundreds of MB/s overflow the default
// 208 KiB receive buffer and SCTP then sees loss.
void IceTransport::tune_selected_socket() {
  GSocket* socket = nice_agent_get_selected_socket(agent_, stream_, kComponent);
  if (!socket) return;
  for (int opt : {SO_RCVBUFFORCE, SO_SNDBUFFORCE}) {
    if (!g_socket_set_option(socket, SOL_SOCKET, opt, kSocketBufferBytes, nullptr))
      g_socket_set_option(socket, SOL_SOCKET, opt == SO_RCVBUFFORCE ? SO_RCVBUF : SO_SNDBUF, kSocketBufferBytes, nullptr);
  }
  g_object_unref(socket);
}

void IceTransport::log_selected_pair() {
  NiceCandidate *local = nullptr, *remote = nullptr;
  if (!nice_agent_get_selected_pair(agent_, stream_, kComponent, &local, &remote)) return;
  gchar *l = nice_agent_generate_local_candidate_sdp(agent_, local), *r = nice_agent_generate_local_candidate_sdp(agent_, remote);
  g_debug("selected pair: %s <-> %s", l ? l + 2 : "?", r ? r + 2 : "?");
  g_free(l);
  g_free(r);
}

void IceTransport::on_watchdog() {
  if (!ice_connected_ || state_ == State::Failed || state_ == State::Closed) return;
  const int64_t now = g_get_monotonic_time();
  if (state_ == State::Checking) {  // restarted after the path was lost
    if (last_receive_us_.load() > restarted_us_) set_state(State::Connected);
    else if ((now - restarted_us_) / 1000 >= failed_timeout_ms_) set_state(State::Failed);
    return;
  }
  int64_t silent_ms = (now - last_receive_us_.load()) / 1000;
  if (silent_ms >= failed_timeout_ms_) {
    g_debug("peer silent for %" G_GINT64_FORMAT " ms: failed", silent_ms);
    set_state(State::Failed);
  } else if (silent_ms >= disconnected_timeout_ms_) {
    set_state(State::Disconnected);
  } else if (state_ == State::Disconnected) {
    set_state(State::Connected);
  }
}

void IceTransport::on_new_candidate(NiceAgent* agent, void* candidate, gpointer data) {
  auto* self = static_cast<IceTransport*>(data);
  if (!self->ice_tcp_passive_ && is_passive_tcp(static_cast<NiceCandidate*>(candidate))) return;  // sealed
  gchar* sdp = nice_agent_generate_local_candidate_sdp(agent, static_cast<NiceCandidate*>(candidate));
  if (!sdp) return;
  std::string line = g_str_has_prefix(sdp, "a=") ? sdp + 2 : sdp;
  g_free(sdp);
  g_debug("local candidate %s", line.c_str());
  if (self->on_candidate) self->on_candidate(line);
}

void IceTransport::on_gathering_done(NiceAgent*, guint, gpointer data) {
  auto* self = static_cast<IceTransport*>(data);
  self->gathering_done_ = true;
  g_debug("gathering done");
  if (self->on_candidate) self->on_candidate("");
}

void IceTransport::on_component_state(NiceAgent*, guint, guint, guint state, gpointer data) {
  auto* self = static_cast<IceTransport*>(data);
  g_debug("libnice component state %s", nice_component_state_to_string(static_cast<NiceComponentState>(state)));
  switch (state) {
    case NICE_COMPONENT_STATE_CONNECTED:
    case NICE_COMPONENT_STATE_READY:
      // Failed is left only through restart(), as in a browser: the peer may
      // have given up the old credentials, and our owner is already acting on it.
      if (self->state_ == State::Failed) break;
      self->ice_connected_ = true;
      self->last_receive_us_ = g_get_monotonic_time();  // a check the peer answered
      if (self->state_ != State::Disconnected) self->set_state(State::Connected);
      self->update_udp_path();
      break;
    case NICE_COMPONENT_STATE_FAILED:  // also when the peer revoked consent (RFC 7675)
      self->set_state(State::Failed);
      self->set_udp_path(nullptr);
      break;
    case NICE_COMPONENT_STATE_DISCONNECTED:
      if (self->ice_connected_) self->set_state(State::Disconnected);
      break;
    default:
      break;
  }
}

void IceTransport::on_selected_pair(NiceAgent*, guint, guint, void*, void*, gpointer data) {
  auto* self = static_cast<IceTransport*>(data);
  // Nominated on a check the peer answered: it is reachable (after a restart
  // libnice may report no new component state, only the new pair).
  if (self->ice_connected_) self->last_receive_us_ = g_get_monotonic_time();
  self->tune_selected_socket();  // the pair (and socket) may change after the first one
  self->log_selected_pair();
  self->update_udp_path();
}

void IceTransport::on_recv(NiceAgent*, guint, guint, guint len, gchar* buf, gpointer data) {
  auto* self = static_cast<IceTransport*>(data);
  self->last_receive_us_.store(g_get_monotonic_time(), std::memory_order_relaxed);
  self->received_.fetch_add(1, std::memory_order_relaxed);
  if (!self->receive_batch_) {
    self->receive_batch_.emplace();
    self->receive_batch_end_ = lk::ScopedSource::idle(
        self->context_,
        [self] {
          self->receive_batch_.reset();
          return false;
        },
        G_PRIORITY_HIGH);
  }
  if (self->on_receive) self->on_receive({reinterpret_cast<const uint8_t*>(buf), len});
}

}  // namespace lk::rtc
