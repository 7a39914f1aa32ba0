// The room connection across faults we make ourselves (docs/protocol.md,
// "Reconnecting"), inside scripts/netns-run.sh, on either server (LKT_SERVER):
// the real livekit-server killed and started again on its port, its UDP
// blocked for a few seconds, a participant's signalling cut (the test server's
// hook, or a proxy in front of the real one: both resume), and what only the
// test server can be told to do (close a peer connection, leave with RESUME or
// RECONNECT). Alice publishes
// numbered frames, bob reads them; every frame must arrive byte-exact and at
// most once, and frames sent after the fault must arrive. Each test prints the
// longest gap between two frames bob received (the outage as he saw it).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "payload.h"
#include "room/room_connection.h"
#include "server_fixture.h"

namespace lk::room {
namespace {

using lk::test::TestServer;
using namespace std::chrono_literals;

// Frame n: its number in the first 4 bytes, then deterministic bytes; every
// tenth spans three packets.
std::vector<uint8_t> numbered_frame(uint32_t n) {
  auto bytes = lk::test::pattern(n + 1, n % 10 == 0 ? 40000 : 300);
  lk::test::stamp_burst_index(bytes, n);
  return bytes;
}

struct FlowReport {
  uint32_t sent = 0;
  size_t received = 0, after_fault = 0, after_gap_flags = 0, resubscribed = 0;
  uint64_t push_refused = 0;
  int64_t longest_gap_ms = 0;
};

class FaultTest : public lk::test::ServerFixture {
 protected:
  std::shared_ptr<RoomConnection> join(const std::string& identity, unsigned reconnect_timeout_ms = 60000) {
    ConnectOptions o = options(identity);
    if (url_of_.count(identity)) o.url = url_of_[identity];
    o.connect_timeout_ms = 10000;
    o.reconnect_timeout_ms = reconnect_timeout_ms;
    o.signalling = signalling_;
    return connect(o);
  }

  // Alice sends a frame every 5 ms (each number once: a push refused during
  // the outage is a lost frame, never sent again); bob reads, opening his
  // subscription again when alice comes back as a new participant. After
  // 50 frames, fault(); then until 100 frames sent after it arrived.
  FlowReport flow_across(const std::string& what, const std::function<void()>& fault) {
    FlowReport report;
    auto a = join("alice");
    auto b = join("bob");
    if (!a || !b) return report;
    PublishOptions po = lk::test::track_named("telemetry");
    auto track = a->publish_data_track(po);
    EXPECT_TRUE(track) << track.error().message;
    if (!track) return report;
    const livekit::DataTrackInfo before = (*track)->info();
    const std::map<std::string, std::shared_ptr<RoomConnection>> rooms{{"alice", a}, {"bob", b}};
    std::map<std::string, std::string> participant_before;
    std::map<std::string, uint64_t> listeners;
    for (const auto& [identity, room] : rooms) {
      participant_before[identity] = room->participant_sid();
      listeners[identity] = room->add_listener([this, who = identity](const RoomEvent& e) {
        std::lock_guard lock(events_mutex_);
        events_[who].push_back(e.kind);
      });
    }

    std::atomic<bool> stop{false};
    std::atomic<uint32_t> next{0};
    std::atomic<uint64_t> refused{0};
    std::string sender_error;
    std::thread sender([&] {
      while (!stop) {
        const uint32_t n = next;
        auto pushed = (*track)->push(numbered_frame(n), n, 200);
        next = n + 1;
        if (!pushed) {
          ++refused;
          if (pushed.error().kind == lk::ErrorKind::Closed) {
            sender_error = pushed.error().message;
            return;
          }
        }
        std::this_thread::sleep_for(5ms);
      }
    });

    auto sub = b->subscribe("alice", "telemetry");
    std::set<uint32_t> seen;
    std::optional<uint32_t> first_after;  // frames numbered from here on were pushed after the fault
    int64_t last_arrival_us = 0;
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline && report.after_fault < 100 && !HasFailure()) {
      auto frame = sub->read(500);
      if (!frame && frame.error().kind == lk::ErrorKind::Timeout) continue;
      if (!frame) {  // alice's full reconnect: a new participant, her track a new publication
        EXPECT_TRUE(sub->end() == SubscriptionEnd::PublisherLeft || sub->end() == SubscriptionEnd::Unpublished)
            << frame.error().message;
        sub = b->subscribe("alice", "telemetry");
        ++report.resubscribed;
        continue;
      }
      const uint32_t n = lk::test::burst_index(frame->payload);
      EXPECT_TRUE(frame->payload == numbered_frame(n)) << what << ": frame " << n << " corrupted";
      EXPECT_TRUE(seen.insert(n).second) << what << ": frame " << n << " arrived twice";
      EXPECT_EQ(frame->user_timestamp, std::optional<uint64_t>(n));
      if (first_after) {
        report.longest_gap_ms = std::max(report.longest_gap_ms, (frame->arrival_monotonic_us - last_arrival_us) / 1000);
        report.after_fault += n >= *first_after;
        report.after_gap_flags += frame->after_gap;
      }
      last_arrival_us = frame->arrival_monotonic_us;
      if (!first_after && seen.size() >= 50) {
        fault();
        first_after = next.load();
      }
    }
    stop = true;
    sender.join();
    report.sent = next;
    report.received = seen.size();
    report.push_refused = refused;
    EXPECT_TRUE(first_after) << what << ": frames never flowed before the fault";
    EXPECT_GE(report.after_fault, 100u) << what << ": frames sent after the fault did not arrive";
    EXPECT_EQ(sender_error, "") << what << ": the track ended";
    EXPECT_TRUE(a->status()) << a->status().error().message;
    EXPECT_TRUE(b->status()) << b->status().error().message;
    EXPECT_TRUE((*track)->is_published());
    sid_changed_ = (*track)->info().sid() != before.sid();
    handle_kept_ = (*track)->info().pub_handle() == before.pub_handle();
    for (const auto& [identity, room] : rooms) {
      room->remove_listener(listeners[identity]);
      participant_kept_[identity] = room->participant_sid() == participant_before[identity];
    }
    std::cout << "[fault] " << TestServer::kind() << ", " << what << ": longest gap " << report.longest_gap_ms
              << " ms; frames sent " << report.sent << ", received " << report.received << " (" << report.after_fault
              << " sent after the fault), refused by push during the outage " << report.push_refused
              << "; bob subscribed again " << report.resubscribed << "x" << std::endl;
    RecordProperty("longest_gap_ms", std::to_string(report.longest_gap_ms));
    return report;
  }

  // The test server's fault on these participants.
  void fault(const std::string& kind, const std::vector<std::string>& who) {
    for (const auto& identity : who) EXPECT_EQ(server_->fault(room_, identity, kind), 200u) << kind << " " << identity;
  }

  // A resumed session: the participant, its track and bob's subscription
  // kept, no frame refused or lost to a gap, and no full reconnect.
  void expect_resumed(const std::string& identity, const FlowReport& report) {
    EXPECT_TRUE(participant_kept_[identity]) << identity << " came back as another participant";
    EXPECT_FALSE(sid_changed_) << "alice's track was published again instead of kept";
    EXPECT_TRUE(handle_kept_) << "alice's track changed its handle";
    EXPECT_EQ(report.resubscribed, 0u) << "bob's subscription ended";
    EXPECT_EQ(report.after_gap_flags, 0u) << "bob saw a gap: a transport was dropped";
    EXPECT_EQ(report.push_refused, 0u) << "alice's pushes were refused: her channel went away";
    std::lock_guard lock(events_mutex_);
    EXPECT_EQ(events_[identity], (std::vector<RoomEvent::Kind>{RoomEvent::Kind::Resuming, RoomEvent::Kind::Reconnected}))
        << identity << ": not one resume (a full reconnect is Reconnecting)";
  }

  // Long enough for ICE to fail (12 s of silence): a full reconnect, not a
  // resume (lib/room's can_resume says why), and frames flow again.
  void expect_full_reconnect_after_ice_failure() {
    flow_across("UDP blocked until ICE failed", [&] {
      ASSERT_EQ(std::system("iptables -I INPUT -p udp -j DROP && iptables -I OUTPUT -p udp -j DROP"), 0);
      const auto blocked = std::chrono::steady_clock::now();
      while (std::chrono::steady_clock::now() - blocked < 25s) {
        {
          std::lock_guard lock(events_mutex_);
          if (!events_["alice"].empty()) break;
        }
        std::this_thread::sleep_for(50ms);
      }
      ASSERT_EQ(std::system("iptables -D INPUT -p udp -j DROP && iptables -D OUTPUT -p udp -j DROP"), 0);
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - blocked);
      std::cout << "[fault] UDP blocked for " << ms.count() << " ms" << std::endl;
    });
    EXPECT_TRUE(sid_changed_) << "alice's track kept its sid: resumed instead of reconnected";
    std::lock_guard lock(events_mutex_);
    ASSERT_FALSE(events_["alice"].empty());
    EXPECT_EQ(events_["alice"].front(), RoomEvent::Kind::Reconnecting) << "alice resumed a session whose path was lost";
  }

  // alice's signalling cut as a network blip would (no leave), her peer
  // connection up: the test server's hook, or a proxy in front of the real
  // server that alice alone joins through. She resumes.
  void cut_signalling_under_alice() {
    std::optional<TestServer> front;
    if (TestServer::kind() == "livekit") {
      auto started = TestServer::start_cut_front(*server_);
      ASSERT_TRUE(started) << started.error().message;
      front.emplace(std::move(*started));
      url_of_["alice"] = front->url();
    }
    auto report = flow_across("signalling cut under alice", [&] {
      const unsigned status = front ? front->get("/debug/cut-signal")
                                    : server_->get("/debug/drop-signal?room=" + room_ + "&identity=alice");
      EXPECT_EQ(status, 200u);
    });
    expect_resumed("alice", report);
  }

  Signalling signalling_ = Signalling::Auto;
  std::map<std::string, std::string> url_of_;  // identity -> server URL, when not server_'s
  bool sid_changed_ = false, handle_kept_ = false;
  std::map<std::string, bool> participant_kept_;
  std::mutex events_mutex_;
  std::map<std::string, std::vector<RoomEvent::Kind>> events_;
};

TEST_F(FaultTest, AServerKilledAndStartedAgainOnItsPortIsSurvived) {
  auto report = flow_across("server killed and restarted", [&] {
    server_->kill();
    std::this_thread::sleep_for(1s);
    auto restarted = server_->restart();
    ASSERT_TRUE(restarted) << restarted.error().message;
  });
  EXPECT_TRUE(sid_changed_) << "a new server, yet the track kept its sid";
  EXPECT_GE(report.after_gap_flags, 1u) << "bob's first frame after his reconnect is not marked after_gap";
}

// Both sides' UDP dropped in the namespace (signalling is TCP and stays).
TEST_F(FaultTest, UdpBlockedForFourSecondsIsSurvived) {
  flow_across("UDP blocked for 4 s", [&] {
    ASSERT_EQ(std::system("iptables -I INPUT -p udp -j DROP && iptables -I OUTPUT -p udp -j DROP"), 0);
    std::this_thread::sleep_for(4s);
    ASSERT_EQ(std::system("iptables -D INPUT -p udp -j DROP && iptables -D OUTPUT -p udp -j DROP"), 0);
  });
}

TEST_F(FaultTest, UdpBlockedUntilIceFailsIsSurvivedByAFullReconnect) { expect_full_reconnect_after_ice_failure(); }

// Both at once: bob's subscription ends when alice leaves, so no after_gap
// is asserted (the one bob opens again may start after his own reconnect).
TEST_F(FaultTest, ClosedPeerConnectionsAreSurvived) {
  flow_across("peer connections closed by the server", [&] { fault("close-pc", {"alice", "bob"}); });
  EXPECT_TRUE(sid_changed_) << "alice reconnected, yet her track kept its sid";
}

// The subscriber's side: leave{RESUME} (and his WebSocket cut) is resumed,
// his subscription and its frames go on.
TEST_F(FaultTest, ALeaveWithResumeToTheSubscriberIsResumed) {
  auto report = flow_across("leave{RESUME} to bob", [&] { fault("leave-resume", {"bob"}); });
  expect_resumed("bob", report);
}

// The same in v0: the server restarts ICE on bob's subscriber PC as it
// resumes him (a new offer, new credentials), which he follows.
TEST_F(FaultTest, ALeaveWithResumeToTheSubscriberIsResumedInV0) {
  signalling_ = Signalling::V0;
  auto report = flow_across("leave{RESUME} to bob, v0", [&] { fault("leave-resume", {"bob"}); });
  expect_resumed("bob", report);
}

TEST_F(FaultTest, ASignallingCutUnderThePublisherIsResumed) { cut_signalling_under_alice(); }

// The same in v0 (on livekit-server through the proxy): the server restarts
// ICE on alice's subscriber PC as it resumes her, which she follows.
TEST_F(FaultTest, ASignallingCutUnderThePublisherIsResumedInV0) {
  signalling_ = Signalling::V0;
  cut_signalling_under_alice();
}

// The publisher's side: her track is published again under its name.
TEST_F(FaultTest, ALeaveWithReconnectToThePublisherIsSurvived) {
  flow_across("leave{RECONNECT} to alice", [&] { fault("leave-reconnect", {"alice"}); });
  EXPECT_TRUE(sid_changed_) << "alice reconnected, yet her track kept its sid";
}

TEST_F(FaultTest, NoReconnectWithinTheTimeoutEndsTheConnectionSayingWhy) {
  auto a = join("alice", 3000);
  ASSERT_TRUE(a);
  PublishOptions po = lk::test::track_named("telemetry");
  auto track = a->publish_data_track(po);
  ASSERT_TRUE(track);
  std::vector<RoomEvent::Kind> events;
  std::mutex mutex;
  const uint64_t listener = a->add_listener([&](const RoomEvent& e) {
    std::lock_guard lock(mutex);
    events.push_back(e.kind);
  });
  server_->kill();  // and not started again
  const auto started = std::chrono::steady_clock::now();
  while (a->status() && std::chrono::steady_clock::now() - started < 30s) std::this_thread::sleep_for(100ms);
  ASSERT_FALSE(a->status()) << "still connected after the reconnect timeout";
  EXPECT_NE(a->status().error().message.find("could not reconnect within 3000 ms"), std::string::npos)
      << a->status().error().message;
  EXPECT_FALSE((*track)->is_published());
  auto pushed = (*track)->push(numbered_frame(1), 1, 100);
  ASSERT_FALSE(pushed);
  EXPECT_EQ(pushed.error().kind, lk::ErrorKind::Closed);
  a->remove_listener(listener);
  // The WebSocket ends at once and the peer connection later: a resume
  // first, refused, then full reconnects until the timeout.
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.front(), RoomEvent::Kind::Resuming);
  EXPECT_EQ(events[1], RoomEvent::Kind::Reconnecting);
  EXPECT_EQ(events.back(), RoomEvent::Kind::GaveUp);
}

}  // namespace
}  // namespace lk::room
