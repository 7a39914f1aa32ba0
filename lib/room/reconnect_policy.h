// When the room connection tries to come back after a fault, and when it gives
// up (docs/protocol.md, "Reconnecting"). Every fault but the server's
// leave{DISCONNECT} leads to a resume (the room connection's choice, counted
// as an attempt here) or a full reconnect (new join, new peer connection,
// every local track republished, every subscription requested again), retried
// with growing delays until `timeout_ms` have passed since the outage began.
// Pure: no threads, no clock of its own (times are passed in, in ms).
#pragma once

#include <cstdint>
#include <optional>

namespace lk::room {

enum class Fault {
  SignalLost,        // the WebSocket closed or went silent past the ping timeout
  TransportLost,     // the peer connection failed or was closed by the server
  LeaveResume,       // the server's leave{RESUME}
  LeaveReconnect,    // the server's leave{RECONNECT}
  LeaveDisconnect,   // the server's leave{DISCONNECT}: it wants us gone
  AttemptFailed,     // a reconnect attempt did not get through (refused, timed out)
};
const char* to_string(Fault fault);

class ReconnectPolicy {
 public:
  // timeout_ms 0: never reconnect (every fault ends the connection).
  explicit ReconnectPolicy(unsigned timeout_ms) : timeout_ms_(timeout_ms) {}

  struct Step {
    bool give_up = false;
    unsigned attempt = 0;   // 1 for the first attempt of an outage
    unsigned delay_ms = 0;  // wait before it
  };
  // A fault at now_ms; the first one of an outage starts its clock.
  Step on_fault(Fault fault, int64_t now_ms);
  // Connected again: the outage is over. Its length in ms (0 without one).
  int64_t on_connected(int64_t now_ms);
  bool in_outage() const { return outage_started_ms_.has_value(); }
  unsigned timeout_ms() const { return timeout_ms_; }

  // The wait before the n-th (1-based) attempt: 0 for the first, then
  // 300 ms x (n-1)^2 up to 5 s, as livekit-client spaces its attempts.
  static unsigned delay_before(unsigned attempt);
  // The wait before republishing a track again after the server still knew
  // its name (DuplicateName): 250 ms doubling up to 4 s; nullopt after
  // kMaxRepublishAttempts.
  static std::optional<unsigned> republish_delay(unsigned attempt);
  static constexpr unsigned kMaxRepublishAttempts = 10;

 private:
  unsigned timeout_ms_;
  std::optional<int64_t> outage_started_ms_;
  unsigned attempts_ = 0;
};

}  // namespace lk::room
