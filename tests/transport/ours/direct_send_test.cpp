// Sending below libnice (rtc/udp_batch.h) keeps what libnice does for ICE:
// its consent checks go on while we send in bulk on the selected pair's
// socket, and once the peer revokes consent (RFC 7675) we stop sending.
// Two IceTransports in one process, inside a netns.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "pair.h"
#include "rtc/ice_transport.h"
#include "rtc/udp_batch.h"

namespace lk::rtc::test {
namespace {

struct Ends {
  Ends() {
    IceTransport::Config config;
    config.context = loop.context();
    config.ice_tcp = false;
    a = std::move(IceTransport::create(config)).value();
    b = std::move(IceTransport::create(config)).value();
    a->set_controlling(true);
    b->set_controlling(false);
    wire(*a, *b);
    wire(*b, *a);
    b->on_receive = [this](std::span<const uint8_t>) { ++received; };
    EXPECT_TRUE(a->gather().ok());
    EXPECT_TRUE(b->gather().ok());
  }
  static void wire(IceTransport& from, IceTransport& to) {
    auto credentials = from.local_credentials();
    EXPECT_TRUE(to.set_remote_credentials(credentials.ufrag, credentials.pwd).ok());
    from.on_candidate = [&to](const std::string& candidate) {
      if (candidate.empty()) to.remote_gathering_done();
      else EXPECT_TRUE(to.add_remote_candidate(candidate).ok());
    };
  }
  // A's bulk: 32 datagrams a batch, the loop turning between batches. B
  // answers each batch with one datagram (as SCTP would with a SACK), which
  // keeps A's liveness watchdog quiet.
  void send_for(int ms, const std::function<void(bool sent)>& each = {}) {
    std::vector<uint8_t> datagram(1200, 0x17);
    gint64 end = g_get_monotonic_time() + gint64{ms} * 1000;
    while (g_get_monotonic_time() < end) {
      {
        SendBatch batch;
        for (int i = 0; i < 32; ++i) {
          bool sent = a->send(datagram);
          if (each) each(sent);
        }
      }
      b->send(datagram);
      while (g_main_context_iteration(loop.context(), FALSE)) {
      }
      g_usleep(500);
    }
  }

  Loop loop;
  std::unique_ptr<IceTransport> a, b;
  uint64_t received = 0;
};

TEST(IceDirectSend, BulkGoesBelowLibniceBatchedWhileConsentHoldsAndStopsWhenThePeerRevokesIt) {
  Ends ends;
  ASSERT_TRUE(ends.loop.run_until([&] {
    return ends.a->state() == IceTransport::State::Connected && ends.b->state() == IceTransport::State::Connected;
  }));

  // Longer than one consent interval (RFC 7675: about 5 s): checks and
  // answers keep both sides connected while A sends below libnice.
  ends.send_for(6000);
  auto direct = ends.a->direct_sends();
  EXPECT_GT(direct.batched, 10000u) << "A did not send batches below libnice";
  EXPECT_GT(ends.received, direct.sent / 2) << "B did not get A's datagrams";
  EXPECT_EQ(ends.a->state(), IceTransport::State::Connected);
  EXPECT_EQ(ends.b->state(), IceTransport::State::Connected);

  // B withdraws consent: A's next check (sent by libnice while we keep
  // sending in bulk) gets 403, A fails, and nothing more leaves A.
  ends.b->revoke_consent();
  gint64 revoked = g_get_monotonic_time();
  while (ends.a->state() != IceTransport::State::Failed && g_get_monotonic_time() - revoked < 20 * G_USEC_PER_SEC)
    ends.send_for(100);
  ASSERT_EQ(ends.a->state(), IceTransport::State::Failed) << "A never learnt that consent was revoked";
  uint64_t sent_at_failure = ends.a->direct_sends().sent;
  int accepted = 0;
  ends.send_for(1000, [&](bool sent) { accepted += sent; });
  EXPECT_EQ(accepted, 0) << "A went on sending without consent";
  EXPECT_EQ(ends.a->direct_sends().sent, sent_at_failure);
}

}  // namespace
}  // namespace lk::rtc::test
