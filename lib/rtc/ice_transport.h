// ICE over libnice (RFC 8445 via libnice's RFC 5245 mode, trickle, one
// component, datagrams). Lives on the owner's GMainContext: every method but
// send() is called there and every callback fires there. send() is
// thread-safe (libnice locks its agent).
#pragma once

#include <glib.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

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
    std::vector<IceServerAddress> servers;  // hosts may be names; resolved here
    bool ice_tcp = true;
    bool relay_only = false;
    unsigned disconnected_timeout_ms = 4000;
    unsigned failed_timeout_ms = 12000;
  };

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
  lk::Result<void> gather();
  bool gathering_done() const { return gathering_done_; }
  std::vector<std::string> local_candidates() const;
  // New local credentials, keeps the gathered candidates (ICE restart).
  void restart();
  State state() const { return state_; }

  // Thread-safe. False when the datagram could not be sent.
  bool send(std::span<const uint8_t> datagram);

  std::function<void(const std::string& candidate)> on_candidate;  // "" = gathering done
  std::function<void(State)> on_state;
  std::function<void(std::span<const uint8_t>)> on_receive;

 private:
  explicit IceTransport(const Config& config);
  lk::Result<void> init(const Config& config);
  void set_state(State state);
  void tune_selected_socket();
  void log_selected_pair();
  void on_watchdog();

  static void on_new_candidate(NiceAgent*, void* candidate, gpointer self);
  static void on_gathering_done(NiceAgent*, guint stream, gpointer self);
  static void on_component_state(NiceAgent*, guint stream, guint component, guint state, gpointer self);
  static void on_selected_pair(NiceAgent*, guint stream, guint component, void* local, void* remote, gpointer self);
  static void on_recv(NiceAgent*, guint stream, guint component, guint len, gchar* buf, gpointer self);

  GMainContext* context_ = nullptr;
  NiceAgent* agent_ = nullptr;
  guint stream_ = 0;
  State state_ = State::New;
  bool gathering_done_ = false;
  bool ice_connected_ = false;  // libnice says CONNECTED/READY
  unsigned disconnected_timeout_ms_, failed_timeout_ms_;
  std::atomic<int64_t> last_receive_us_{0};
  std::atomic<unsigned> send_failures_{0};
  std::atomic<uint64_t> sent_{0}, received_{0};  // datagrams, for debug logs
  lk::ScopedSource watchdog_;
};

const char* to_string(IceTransport::State state);

}  // namespace lk::rtc
