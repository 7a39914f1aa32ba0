// What to say when data stops between two peer processes: each answers
// "diag" with every layer's state and counters (ours_peer and the pion peer
// under the same keys: pc, ice, dtls, sctp, datagramsIn/Out, sctpBytesIn/Out,
// peerRwnd, unackedChunks, pendingChunks, cwnd, rtoMs, channel, messagesIn,
// bufferedAmount; a peer may leave some out). Two answers a moment apart show
// which counters still move; the first layer, bottom up, where the sender's
// data stops moving is the one that stalled. bench/rtc prints this for a row
// that times out.
#pragma once

#include <optional>
#include <string>

#include "peer_process.h"

namespace lk::test {

// One peer's two diag answers (none: it did not answer).
struct DiagPair {
  std::string name;  // "sender (ours)"
  std::optional<PeerEvent> before, after;
};

// One line per peer: states, then each counter with how much it moved.
std::string describe(const DiagPair& peer);

// One sentence naming where the sender's data stops.
std::string stall_verdict(const DiagPair& sender, const DiagPair& receiver);

}  // namespace lk::test
