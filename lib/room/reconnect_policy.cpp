#include "room/reconnect_policy.h"

#include <algorithm>

namespace lk::room {

const char* to_string(Fault fault) {
  switch (fault) {
    case Fault::SignalLost: return "signalling lost";
    case Fault::TransportLost: return "peer connection lost";
    case Fault::LeaveResume: return "the server asked for a resume";
    case Fault::LeaveReconnect: return "the server asked for a reconnect";
    case Fault::LeaveDisconnect: return "the server ended the session";
    case Fault::AttemptFailed: return "reconnect attempt failed";
  }
  return "?";
}

ReconnectPolicy::Step ReconnectPolicy::on_fault(Fault fault, int64_t now_ms) {
  Step step;
  if (timeout_ms_ == 0 || fault == Fault::LeaveDisconnect) {
    step.give_up = true;
    return step;
  }
  if (!outage_started_ms_) {
    outage_started_ms_ = now_ms;
    attempts_ = 0;
  }
  step.attempt = ++attempts_;
  step.delay_ms = delay_before(step.attempt);
  // An attempt that could not even start before the deadline is not made.
  step.give_up = now_ms + step.delay_ms - *outage_started_ms_ >= int64_t(timeout_ms_);
  return step;
}

int64_t ReconnectPolicy::on_connected(int64_t now_ms) {
  const int64_t lasted = outage_started_ms_ ? now_ms - *outage_started_ms_ : 0;
  outage_started_ms_.reset();
  attempts_ = 0;
  return lasted;
}

unsigned ReconnectPolicy::delay_before(unsigned attempt) {
  if (attempt <= 1) return 0;
  const unsigned n = std::min(attempt - 1, 10u);
  return std::min(300u * n * n, 5000u);
}

std::optional<unsigned> ReconnectPolicy::republish_delay(unsigned attempt) {
  if (attempt == 0 || attempt > kMaxRepublishAttempts) return std::nullopt;
  return std::min(250u << std::min(attempt - 1, 4u), 4000u);
}

}  // namespace lk::room
