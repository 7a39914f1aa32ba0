// stall_report.h names the layer where a stalled row's data stops, from two
// diag answers of each peer. The first case is what bench/rtc printed for the
// ours -> pion stall it was written to explain; the others move the stop one
// layer at a time.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "stall_report.h"

namespace lk::test {
namespace {

PeerEvent event(const std::string& json) {
  JsonParser* parser = json_parser_new();
  EXPECT_TRUE(json_parser_load_from_data(parser, json.c_str(), -1, nullptr)) << json;
  std::shared_ptr<JsonNode> node(json_node_copy(json_parser_get_root(parser)), json_node_unref);
  g_object_unref(parser);
  return PeerEvent(node, json);
}

constexpr const char* kConnected = R"("pc":"connected","ice":"connected","dtls":"connected","sctp":"connected",)"
                                   R"("channel":"open",)";

// One peer's diag answer: every layer connected, then the counters given.
PeerEvent diag(const std::string& counters) { return event(std::string(R"({"ev":"diag",)") + kConnected + counters + "}"); }

struct Peers {
  DiagPair tx{"sender (ours)", std::nullopt, std::nullopt};
  DiagPair rx{"receiver (pion)", std::nullopt, std::nullopt};
  void set(DiagPair& p, const std::string& before, const std::string& after) {
    p.before = diag(before);
    p.after = diag(after);
  }
  std::string verdict() const { return stall_verdict(tx, rx); }
};

const char* kFrozenSender =
    R"("datagramsOut":1548,"datagramsIn":384,"sctpBytesOut":1779260,"sctpBytesIn":11192,"messagesOut":525,)"
    R"("bufferedAmount":4208000,"peerRwnd":0,"unackedChunks":1,"pendingChunks":0,"cwnd":19200,"rtoMs":1600)";
const char* kFrozenReceiver =
    R"("datagramsOut":384,"datagramsIn":1492,"sctpBytesOut":11192,"sctpBytesIn":1713284,"messagesIn":38)";

TEST(StallReport, PeerWindowClosedWithNothingDeliveredIsTheSendersSctpWaiting) {
  Peers p;  // what the ours -> pion stall looked like: nothing moved in the second
  p.set(p.tx, kFrozenSender, kFrozenSender);
  p.set(p.rx, kFrozenReceiver, kFrozenReceiver);
  EXPECT_EQ(p.verdict(), "the sender's SCTP holds 1 chunks but sends nothing (peer rwnd 0, cwnd 19200, rto 1600 ms)");
  std::string line = describe(p.tx);
  EXPECT_NE(line.find("datagramsOut 1548 (+0)"), std::string::npos) << line;
  EXPECT_NE(line.find("peerRwnd 0"), std::string::npos) << line;
}

TEST(StallReport, AProcessThatDoesNotAnswerIsNamed) {
  Peers p;
  p.set(p.rx, kFrozenReceiver, kFrozenReceiver);
  EXPECT_EQ(p.verdict(), "sender (ours) does not answer: its process is stuck");
  EXPECT_EQ(describe(p.tx), "sender (ours): no answer to diag");
  p.set(p.tx, kFrozenSender, kFrozenSender);
  p.rx.after.reset();
  EXPECT_EQ(p.verdict(), "receiver (pion) does not answer: its process is stuck");
}

TEST(StallReport, TheLowestLayerNotConnectedIsNamed) {
  Peers p;
  p.set(p.tx, kFrozenSender, kFrozenSender);
  p.rx.before = diag(kFrozenReceiver);
  p.rx.after = event(R"({"ev":"diag","pc":"failed","ice":"failed","dtls":"connected","sctp":"connected"})");
  EXPECT_EQ(p.verdict(), "not connected: receiver (pion)'s ice is failed");
  p.rx.after = event(R"({"ev":"diag","pc":"connected","ice":"completed","dtls":"connected","sctp":"connected",)"
                     R"("channel":"closed"})");
  EXPECT_EQ(p.verdict(), "not connected: receiver (pion)'s channel is closed");
}

TEST(StallReport, EachLayerWhereTheDataStopsIsNamed) {
  Peers p;
  // Datagrams leave the sender; the receiver's ICE sees none.
  p.set(p.tx, R"("datagramsOut":100,"sctpBytesOut":1000)", R"("datagramsOut":5100,"sctpBytesOut":6001000)");
  p.set(p.rx, R"("datagramsIn":7,"sctpBytesIn":100,"messagesIn":3)", R"("datagramsIn":9,"sctpBytesIn":100,"messagesIn":3)");
  EXPECT_EQ(p.verdict(), "datagrams leave the sender but do not reach the receiver's ICE");
  // They reach it; its DTLS hands SCTP nothing.
  p.set(p.rx, R"("datagramsIn":7,"sctpBytesIn":100,"messagesIn":3)", R"("datagramsIn":5007,"sctpBytesIn":100,"messagesIn":3)");
  EXPECT_EQ(p.verdict(), "datagrams reach the receiver but its DTLS passes none of them to SCTP");
  // SCTP gets them; no message comes out.
  p.set(p.rx, R"("datagramsIn":7,"sctpBytesIn":100,"messagesIn":3)", R"("datagramsIn":5007,"sctpBytesIn":6000100,"messagesIn":3)");
  p.tx.after = diag(R"("datagramsOut":5100,"sctpBytesOut":6001000,"peerRwnd":0)");
  EXPECT_EQ(p.verdict(), "the receiver's SCTP gets packets but delivers no message (its window as the sender sees it: 0)");
  // Messages still arrive: slow, not stalled.
  p.set(p.rx, R"("datagramsIn":7,"sctpBytesIn":100,"messagesIn":3)", R"("datagramsIn":5007,"sctpBytesIn":6000100,"messagesIn":303)");
  EXPECT_EQ(p.verdict(), "not stalled: messages still arrive, slowly");
}

TEST(StallReport, ACounterAPeerDoesNotKeepIsNotTakenForAStop) {
  Peers p;  // a receiver that counts datagrams only (libwebrtc M106 has no SCTP counters)
  p.set(p.tx, R"("datagramsOut":100)", R"("datagramsOut":5100)");
  p.set(p.rx, R"("datagramsIn":7)", R"("datagramsIn":5007)");
  EXPECT_EQ(p.verdict(), "the peers do not count enough to say (see the counters above)");
  p.rx.after = diag(R"("note":"no diag: unknown command")");
  EXPECT_EQ(p.verdict(), "the peers do not count enough to say (see the counters above)");
  EXPECT_NE(describe(p.rx).find("note no diag: unknown command;"), std::string::npos) << describe(p.rx);
}

TEST(StallReport, AQueueWaitingOnAnEmptyAssociationIsAMissedWakeUp) {
  Peers p;
  const char* idle = R"("datagramsOut":900,"bufferedAmount":4208000,"unackedChunks":0,"pendingChunks":0)";
  p.set(p.tx, idle, idle);
  p.set(p.rx, kFrozenReceiver, kFrozenReceiver);
  EXPECT_EQ(p.verdict(),
            "the sender's channel queue waits while its SCTP holds nothing: the queue was not told SCTP has room");
}

}  // namespace
}  // namespace lk::test
