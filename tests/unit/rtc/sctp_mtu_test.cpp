// Two SctpTransports back to back in memory (no DTLS, no ICE): every SCTP
// packet handed to the layer below must fit the configured MTU, since that is
// what keeps DTLS/UDP/IP datagrams within a safe path size.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <vector>

#include "rtc/sctp_transport.h"

using namespace lk::rtc;

namespace {

struct Packet {
  std::unique_ptr<SctpTransport>* to;  // checked on delivery: the peer may be gone
  std::vector<uint8_t> bytes;
};

class BackToBack {
 public:
  explicit BackToBack(uint32_t mtu) {
    context_ = g_main_context_new();
    a_ = make(mtu, &b_);
    b_ = make(mtu, &a_);
  }
  ~BackToBack() {
    a_.reset();
    b_.reset();
    while (g_main_context_pending(context_)) g_main_context_iteration(context_, FALSE);
    g_main_context_unref(context_);
  }

  // Iterates the context until `done` or the deadline.
  template <typename Pred>
  bool run_until(Pred done, int timeout_ms = 5000) {
    const gint64 deadline = g_get_monotonic_time() + gint64(timeout_ms) * 1000;
    while (!done() && g_get_monotonic_time() < deadline) g_main_context_iteration(context_, FALSE);
    return done();
  }

  SctpTransport& a() { return *a_; }
  SctpTransport& b() { return *b_; }
  size_t largest_packet() const { return largest_.load(); }

 private:
  std::unique_ptr<SctpTransport> make(uint32_t mtu, std::unique_ptr<SctpTransport>* peer) {
    auto made = SctpTransport::create(context_, 5000, 5000, mtu, [this, peer](std::span<const uint8_t> bytes) {
      size_t seen = largest_.load();
      while (bytes.size() > seen && !largest_.compare_exchange_weak(seen, bytes.size())) {
      }
      // Always deferred to the next iteration, like a datagram from a socket:
      // delivering inside the sender's call would re-enter usrsctp.
      auto* packet = new Packet{peer, {bytes.begin(), bytes.end()}};
      GSource* idle = g_idle_source_new();
      g_source_set_callback(
          idle,
          [](gpointer data) -> gboolean {
            auto* p = static_cast<Packet*>(data);
            if (*p->to) (*p->to)->receive(p->bytes);
            return G_SOURCE_REMOVE;
          },
          packet, [](gpointer data) { delete static_cast<Packet*>(data); });
      g_source_attach(idle, context_);
      g_source_unref(idle);
      return true;
    });
    EXPECT_TRUE(made.ok()) << (made.ok() ? "" : made.error().message);
    return made.ok() ? std::move(made.value()) : nullptr;
  }

  GMainContext* context_;
  std::unique_ptr<SctpTransport> a_, b_;
  std::atomic<size_t> largest_{0};
};

class SctpMtu : public ::testing::TestWithParam<uint32_t> {};

TEST_P(SctpMtu, NoPacketExceedsTheConfiguredMtu) {
  const uint32_t mtu = GetParam();
  BackToBack pair(mtu);
  size_t received = 0;
  pair.b().on_message = [&](uint16_t, uint32_t, std::span<const uint8_t> data) { received += data.size(); };
  ASSERT_TRUE(pair.a().start().ok());
  ASSERT_TRUE(pair.b().start().ok());
  ASSERT_TRUE(pair.run_until([&] {
    return pair.a().state() == SctpTransport::State::Connected && pair.b().state() == SctpTransport::State::Connected;
  }));

  const std::vector<uint8_t> message(100000, 0x5a);
  SctpTransport::SendParams reliable;
  reliable.stream = 1;
  reliable.ppid = 53;
  ASSERT_EQ(pair.a().send(reliable, message), SctpTransport::SendStatus::Sent);
  ASSERT_TRUE(pair.run_until([&] { return received == message.size(); })) << "received " << received;

  EXPECT_LE(pair.largest_packet(), mtu);
  EXPECT_GT(pair.largest_packet(), mtu - 64) << "packets should fill the MTU";
}

INSTANTIATE_TEST_SUITE_P(Sizes, SctpMtu, ::testing::Values(SctpTransport::kMinMtu, 1400u, SctpTransport::kMaxMtu));

}  // namespace
