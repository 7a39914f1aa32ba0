// ICE over libnice (RFC 8445 via libnice's RFC 5245 mode, trickle, one
// component, datagrams). Lives on the owner's GMainContext: every method but
// send() is called there and every callback fires there. send() is
// thread-safe (libnice locks its agent). ICE server host names are looked up
// without blocking the context.
#pragma once

#include <gio/gio.h>
#include <glib.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rtc/udp_batch.h"
#include "util/result.h"
#include "util/scoped_source.h"

typedef struct _NiceAgent NiceAgent;

namespace lk::rtc {

struct IceServerAddress {
  enum class Kind { Stun, TurnUdp, TurnTcp, TurnTls };
  Kind kind = Kind::Stun;
  std::string host;
  uint16_t port = 3478;
  std::string username, credential;
};

// "stun:host[:port]", "turn:host[:port][?transport=udp|tcp]", "turns:host[:port]"
lk::Result<IceServerAddress> parse_ice_server_url(std::string_view url, std::string username = {},
                                                  std::string credential = {});

class IceTransport {
 public:
  enum class State { New, Checking, Connected, Disconnected, Failed, Closed };

  struct Config {
    GMainContext* context = nullptr;
    // Hosts may be names: looked up asynchronously (GResolver), and gathering
    // waits for the answers, at most resolve_timeout_ms.
    std::vector<IceServerAddress> servers;
    unsigned resolve_timeout_ms = 3000;
    bool ice_tcp = true;
    // Also gather passive ICE-TCP candidates (a listening socket). libnice
    // keeps every connection made to it, authenticated or not; a client
    // needs active candidates only (the SFU is the passive side).
    bool ice_tcp_passive = false;
    bool relay_only = false;
    unsigned disconnected_timeout_ms = 4000;
    unsigned failed_timeout_ms = 12000;
  };

  // Fails when libnice refuses the agent or a server given as an address.
  static lk::Result<std::unique_ptr<IceTransport>> create(const Config& config);
  ~IceTransport();
  IceTransport(const IceTransport&) = delete;
  IceTransport& operator=(const IceTransport&) = delete;

  struct Credentials {
    std::string ufrag, pwd;
  };
  Credentials local_credentials() const;
  void set_controlling(bool controlling);
  lk::Result<void> set_remote_credentials(const std::string& ufrag, const std::string& pwd);
  lk::Result<void> add_remote_candidate(std::string_view candidate);  // "candidate:..."
  void remote_gathering_done();
  // Starts gathering, or, while server names are being looked up, once they are.
  lk::Result<void> gather();
  bool gathering_done() const { return gathering_done_; }
  std::vector<std::string> local_candidates() const;
  // New local credentials, keeps the gathered candidates (ICE restart).
  // After the path was lost (Disconnected, Failed) the state goes back to
  // Checking, then Connected once the peer is heard again, or Failed when it
  // stays silent for failed_timeout_ms.
  void restart();
  State state() const { return state_; }

  // Thread-safe. False when the datagram could not be sent. On a direct UDP
  // pair with consent it goes below libnice, batched inside a SendBatch
  // (rtc/udp_batch.h); else through nice_agent_send.
  bool send(std::span<const uint8_t> datagram);
  // RFC 7675 section 5.4: the peer's next consent check gets 403 and it must
  // stop sending to us.
  void revoke_consent();
  struct DirectSends {
    uint64_t sent = 0, batched = 0, failed = 0;  // datagrams
  };
  // Thread-safe: what went below libnice (all pairs so far).
  DirectSends direct_sends() const;
  struct Counters {
    uint64_t received = 0;        // datagrams from the peer (libnice keeps STUN)
    uint64_t sent = 0, failed = 0;  // datagrams, through libnice and below it
    int64_t last_receive_us = 0;  // g_get_monotonic_time(); 0 before connecting
  };
  // Thread-safe: everything so far.
  Counters counters() const;

  std::function<void(const std::string& candidate)> on_candidate;  // "" = gathering done
  std::function<void(State)> on_state;
  std::function<void(std::span<const uint8_t>)> on_receive;
  // A server that cannot be used (its host did not resolve, not in time,
  // libnice refused it, or it is turns:, not supported): ICE goes on without it.
  std::function<void(const lk::Error&)> on_server_error;

 private:
  struct Lookup;

  explicit IceTransport(const Config& config);
  lk::Result<void> init(const Config& config);
  lk::Result<void> use_server(const IceServerAddress& server, const std::string& ip);
  void start_lookup(const IceServerAddress& server);
  void finish_lookup(Lookup& lookup, GList* addresses, const GError* error);
  void give_up_lookups();
  void lookups_done();
  void detach_lookups();
  lk::Result<void> start_gathering();
  void set_state(State state);
  void tune_selected_socket();
  // A UdpPath for the selected pair if it is a direct UDP one and ICE is
  // connected (consent held); else none, and send() goes through libnice.
  void update_udp_path();
  void set_udp_path(std::shared_ptr<UdpPath> path);
  std::shared_ptr<UdpPath> udp_path() const;
  void log_selected_pair();
  void on_watchdog();
  // Keeps `secret` out of libnice's log lines while we live.
  void keep_secret(const std::string& secret);

  static void on_new_candidate(NiceAgent*, void* candidate, gpointer self);
  static void on_gathering_done(NiceAgent*, guint stream, gpointer self);
  static void on_component_state(NiceAgent*, guint stream, guint component, guint state, gpointer self);
  static void on_selected_pair(NiceAgent*, guint stream, guint component, void* local, void* remote, gpointer self);
  static void on_recv(NiceAgent*, guint stream, guint component, guint len, gchar* buf, gpointer self);
  static void on_lookup_done(GObject* resolver, GAsyncResult* result, gpointer lookup);

  GMainContext* context_ = nullptr;
  NiceAgent* agent_ = nullptr;
  guint stream_ = 0;
  State state_ = State::New;
  bool gathering_done_ = false;
  bool gather_wanted_ = false;    // gather() came while lookups were pending
  std::vector<Lookup*> lookups_;  // pending; each is freed by its resolver callback
  lk::ScopedSource lookup_deadline_;
  unsigned resolve_timeout_ms_;
  bool ice_tcp_passive_ = false;  // else passive listeners are sealed and not announced
  bool ice_connected_ = false;  // libnice says CONNECTED/READY
  unsigned disconnected_timeout_ms_, failed_timeout_ms_;
  std::atomic<int64_t> last_receive_us_{0};
  int64_t restarted_us_ = 0;  // the last restart() after the path was lost
  std::atomic<unsigned> send_failures_{0};  // through libnice
  std::atomic<uint64_t> sent_{0}, received_{0};  // datagrams, for debug logs
  mutable std::mutex path_mutex_;
  std::shared_ptr<UdpPath> path_;  // under path_mutex_
  DirectSends retired_;            // of paths replaced, under path_mutex_
  // Open from the first datagram libnice hands us until the context is next
  // idle: what we send meanwhile (SACKs, data that SACKs let out) leaves in
  // batches.
  std::optional<SendBatch> receive_batch_;
  lk::ScopedSource receive_batch_end_;
  lk::ScopedSource watchdog_;
  lk::ScopedSource refused_report_;   // turns: servers, reported through on_server_error
  std::vector<std::string> secrets_;  // registered with the log bridge
};

const char* to_string(IceTransport::State state);

}  // namespace lk::rtc
