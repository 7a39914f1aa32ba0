#include "stall_report.h"

#include <cstdint>
#include <initializer_list>

namespace lk::test {
namespace {

// A counter that moved less than this between the two answers only carries
// SCTP heartbeats, zero-window probes or retransmission timeouts (a few a
// second); flowing data moves it by thousands.
constexpr int64_t kFlowing = 10;

int64_t moved(const DiagPair& p, const char* key) { return p.after->num(key) - p.before->num(key); }

bool flowing(const DiagPair& p, const char* key) { return p.after->has(key) && moved(p, key) > kFlowing; }

// Known to have stopped: a peer that does not count `key` says nothing of it.
bool stopped(const DiagPair& p, const char* key) { return p.after->has(key) && !flowing(p, key); }

std::string value_of(const PeerEvent& e, const char* key) {
  return e.has(key) && !e.str(key).empty() ? e.str(key) : std::to_string(e.num(key));
}

// The first layer that is not connected (channel: open), or "".
std::string broken_layer(const DiagPair& p) {
  for (const char* layer : {"ice", "dtls", "sctp", "pc"}) {
    std::string state = p.after->str(layer);
    if (p.after->has(layer) && state != "connected" && state != "completed")
      return p.name + "'s " + layer + " is " + state;
  }
  if (p.after->has("channel") && p.after->str("channel") != "open")
    return p.name + "'s channel is " + p.after->str("channel");
  return "";
}

}  // namespace

std::string describe(const DiagPair& p) {
  if (!p.after) return p.name + ": no answer to diag";
  std::string line = p.name + ":";
  for (const char* key : {"pc", "ice", "dtls", "sctp", "channel", "note"})
    if (p.after->has(key)) line += std::string(" ") + key + " " + p.after->str(key) + ";";
  for (const char* key : {"datagramsOut", "datagramsIn", "datagramsFailed", "sctpBytesOut", "sctpBytesIn",
                          "messagesOut", "messagesIn"}) {
    if (!p.after->has(key)) continue;
    line += std::string(" ") + key + " " + value_of(*p.after, key);
    if (p.before && p.before->has(key)) line += " (+" + std::to_string(moved(p, key)) + ")";
  }
  for (const char* key : {"bufferedAmount", "peerRwnd", "unackedChunks", "pendingChunks", "cwnd", "rtoMs",
                          "writableEvents", "msSinceReceive"})
    if (p.after->has(key)) line += std::string(" ") + key + " " + value_of(*p.after, key);
  return line;
}

std::string stall_verdict(const DiagPair& tx, const DiagPair& rx) {
  for (const DiagPair* p : {&tx, &rx})
    if (!p->before || !p->after) return p->name + " does not answer: its process is stuck";
  for (const DiagPair* p : {&tx, &rx})
    if (std::string broken = broken_layer(*p); !broken.empty()) return "not connected: " + broken;
  if (flowing(rx, "messagesIn")) return "not stalled: messages still arrive, slowly";
  if (stopped(tx, "datagramsOut")) {
    int64_t in_sctp = tx.after->num("unackedChunks") + tx.after->num("pendingChunks");
    if (tx.after->has("unackedChunks") && in_sctp == 0 && tx.after->num("bufferedAmount") > 0)
      return "the sender's channel queue waits while its SCTP holds nothing: the queue was not told SCTP has room";
    if (in_sctp > 0)
      return "the sender's SCTP holds " + std::to_string(in_sctp) + " chunks but sends nothing (peer rwnd " +
             value_of(*tx.after, "peerRwnd") + ", cwnd " + value_of(*tx.after, "cwnd") + ", rto " +
             value_of(*tx.after, "rtoMs") + " ms)";
    return "the sender sends nothing and has nothing queued that it reports";
  }
  if (stopped(rx, "datagramsIn")) return "datagrams leave the sender but do not reach the receiver's ICE";
  if (stopped(rx, "sctpBytesIn")) return "datagrams reach the receiver but its DTLS passes none of them to SCTP";
  if (stopped(rx, "messagesIn") && rx.after->has("sctpBytesIn"))
    return "the receiver's SCTP gets packets but delivers no message (its window as the sender sees it: " +
           value_of(*tx.after, "peerRwnd") + ")";
  return "the peers do not count enough to say (see the counters above)";
}

}  // namespace lk::test
