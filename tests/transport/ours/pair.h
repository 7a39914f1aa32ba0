// Two of our PeerConnections in one process, on one GMainContext that the
// test thread iterates, with SDP and candidates relayed directly.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "rtc/peer_connection.h"

namespace lk::rtc::test {

class Loop {
 public:
  Loop() : context_(g_main_context_new()) { g_main_context_push_thread_default(context_); }
  ~Loop() {
    while (g_main_context_iteration(context_, FALSE)) {
    }
    g_main_context_pop_thread_default(context_);
    g_main_context_unref(context_);
  }
  GMainContext* context() const { return context_; }

  // Iterates the context until pred() or the timeout; returns pred().
  bool run_until(const std::function<bool()>& pred, int timeout_ms = 10000) {
    gint64 deadline = g_get_monotonic_time() + gint64{timeout_ms} * 1000;
    GSource* tick = g_timeout_source_new(5);
    g_source_set_callback(tick, [](gpointer) -> gboolean { return G_SOURCE_CONTINUE; }, nullptr, nullptr);
    g_source_attach(tick, context_);
    while (!pred() && g_get_monotonic_time() < deadline) g_main_context_iteration(context_, TRUE);
    g_source_destroy(tick);
    g_source_unref(tick);
    return pred();
  }
  void run_for(int ms) {
    gint64 end = g_get_monotonic_time() + gint64{ms} * 1000;
    run_until([&] { return g_get_monotonic_time() >= end; }, ms + 100);
  }

 private:
  GMainContext* context_;
};

struct Peer {
  explicit Peer(GMainContext* context, Configuration config = {}) {
    config.context = context;
    auto created = PeerConnection::create(config);
    // gtest reports an exception from a fixture as the test's failure.
    if (!created) throw std::runtime_error("PeerConnection::create: " + created.error().message);
    pc = std::move(created).value();
    pc->on_state_change = [this](PeerState s) { states.push_back(s); };
    pc->on_error = [this](const lk::Error& e) { errors.push_back(e.message); };
    pc->on_data_channel = [this](std::shared_ptr<DataChannel> c) { remote_channels.push_back(c); };
  }
  bool has_state(PeerState s) const { return std::find(states.begin(), states.end(), s) != states.end(); }
  PeerState state() const { return pc->state(); }

  std::unique_ptr<PeerConnection> pc;
  std::vector<PeerState> states;
  std::vector<std::string> errors;
  std::vector<std::shared_ptr<DataChannel>> remote_channels;
};

// Wires a (offerer) and b (answerer) together: trickled candidates are relayed
// unless a test filters them.
struct Pair {
  explicit Pair(Configuration config = {}) : Pair(config, config) {}
  Pair(Configuration config_a, Configuration config_b) : a(loop.context(), config_a), b(loop.context(), config_b) {
    a.pc->on_local_candidate = [this](const std::string& c, const std::string& mid) {
      if (!relay) return;
      if (c.empty()) b.pc->add_remote_end_of_candidates();
      else EXPECT_TRUE(b.pc->add_remote_candidate(c, mid).ok());
    };
    b.pc->on_local_candidate = [this](const std::string& c, const std::string& mid) {
      if (!relay) return;
      if (c.empty()) a.pc->add_remote_end_of_candidates();
      else EXPECT_TRUE(a.pc->add_remote_candidate(c, mid).ok());
    };
  }

  // Offer/answer; returns false (with a gtest failure) if anything refuses.
  bool negotiate() {
    auto offer = a.pc->create_offer();
    if (!offer.ok()) return ADD_FAILURE() << offer.error().message, false;
    if (auto r = b.pc->set_remote_description("offer", *offer); !r.ok())
      return ADD_FAILURE() << r.error().message, false;
    auto answer = b.pc->create_answer();
    if (!answer.ok()) return ADD_FAILURE() << answer.error().message, false;
    if (auto r = a.pc->set_remote_description("answer", *answer); !r.ok())
      return ADD_FAILURE() << r.error().message, false;
    return true;
  }

  bool connect(int timeout_ms = 10000) {
    return negotiate() && loop.run_until([&] {
      return a.state() == PeerState::Connected && b.state() == PeerState::Connected;
    }, timeout_ms);
  }

  Loop loop;
  Peer a, b;
  bool relay = true;
};

}  // namespace lk::rtc::test
