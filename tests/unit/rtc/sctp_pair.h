// Two SctpTransports back to back in memory (no DTLS, no ICE), on a private
// GMainContext the test iterates. Packets go through `filter`, which may look
// at them and drop chosen ones (a lossy path on demand).
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "rtc/sctp_transport.h"

namespace lk::rtc::test {

class BackToBack {
 public:
  // from_a: the packet goes a -> b. Return false to drop it.
  using Filter = std::function<bool(bool from_a, std::span<const uint8_t> packet)>;

  explicit BackToBack(uint32_t mtu, size_t a_max_message = SctpTransport::kDefaultMaxMessageSize,
                      size_t b_max_message = SctpTransport::kDefaultMaxMessageSize) {
    context_ = g_main_context_new();
    a_ = make(mtu, a_max_message, &b_, true);
    b_ = make(mtu, b_max_message, &a_, false);
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

  bool connect() {
    if (!a_ || !b_ || !a_->start().ok() || !b_->start().ok()) return false;
    return run_until([&] {
      return a_->state() == SctpTransport::State::Connected && b_->state() == SctpTransport::State::Connected;
    });
  }

  SctpTransport& a() { return *a_; }
  SctpTransport& b() { return *b_; }
  size_t largest_packet() const { return largest_.load(); }
  Filter filter;  // runs on usrsctp's threads or the test thread

 private:
  struct Packet {
    std::unique_ptr<SctpTransport>* to;  // checked on delivery: the peer may be gone
    std::vector<uint8_t> bytes;
  };

  std::unique_ptr<SctpTransport> make(uint32_t mtu, size_t max_message, std::unique_ptr<SctpTransport>* peer,
                                      bool is_a) {
    auto made = SctpTransport::create(
        context_, 5000, 5000, mtu,
        [this, peer, is_a](std::span<const uint8_t> bytes) {
          size_t seen = largest_.load();
          while (bytes.size() > seen && !largest_.compare_exchange_weak(seen, bytes.size())) {
          }
          if (filter && !filter(is_a, bytes)) return true;  // "sent", then lost
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
        },
        max_message);
    EXPECT_TRUE(made.ok()) << (made.ok() ? "" : made.error().message);
    return made.ok() ? std::move(made.value()) : nullptr;
  }

  GMainContext* context_;
  std::unique_ptr<SctpTransport> a_, b_;
  std::atomic<size_t> largest_{0};
};

}  // namespace lk::rtc::test
