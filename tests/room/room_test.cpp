// The room connection against a real LiveKit server (LKT_SERVER=livekit: the
// real livekit-server 1.13.5; sfu: the bundled test server), inside
// scripts/netns-run.sh. One meson test per scenario; the whole binary exits 77
// (skipped) when the chosen server cannot run here.
#include <dirent.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <future>
#include <mutex>
#include <cstdlib>
#include <iostream>
#include <numeric>
#include <thread>

#include "e2ee/key_ring.h"
#include "room/room_connection.h"
#include "room/room_registry.h"
#include "signal/token.h"
#include "payload.h"
#include "server_fixture.h"

namespace lk::room {
namespace {

using lk::test::TestServer;
using namespace std::chrono_literals;

int thread_count() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
    closedir(d);
  }
  return n;
}

// Deterministic bytes (tests/support/payload.h), size first as these tests read.
std::vector<uint8_t> pattern(size_t size, uint32_t seed) { return lk::test::pattern(seed, size); }

// What publish_encrypted() sets up; the connections are kept for the test.
struct EncryptedTrack {
  std::shared_ptr<RoomConnection> alice, bob;
  std::shared_ptr<LocalDataTrack> track;
  std::shared_ptr<DataTrackSubscription> sub;
};

class RoomTest : public lk::test::ServerFixture {
 protected:
  ConnectOptions options(const std::string& identity, Signalling signalling = Signalling::Auto) const {
    ConnectOptions o = ServerFixture::options(identity);
    if (!url_override_.empty()) o.url = url_override_;
    o.signalling = signalling;
    return o;
  }

  std::shared_ptr<RoomConnection> join(const std::string& identity, Signalling signalling = Signalling::Auto) {
    return connect(options(identity, signalling));
  }

  // Pushes each frame until it arrives whole (a frame lost in transit is sent
  // again, up to 5 times: data-track packets ride an unretransmitted channel,
  // and livekit-server drops packets at the start of a burst). Checks bytes,
  // user timestamp and order.
  void deliver(LocalDataTrack& track, DataTrackSubscription& sub, const std::vector<size_t>& sizes) {
    uint32_t seed = 1;
    for (size_t size : sizes) {
      bool arrived = false;
      for (int attempt = 0; attempt < 5 && !arrived; ++attempt, ++seed) {
        const auto payload = pattern(size, seed);
        const uint64_t ts = 0xFFFFFFFFFFFF0000ull + seed;  // all 64 bits count
        auto pushed = track.push(payload, ts, 10000);
        ASSERT_TRUE(pushed) << pushed.error().message;
        auto frame = sub.read(size > 100000 ? 8000 : 3000);
        if (!frame && frame.error().kind == lk::ErrorKind::Timeout) {
          std::cerr << "note: frame of " << size << " B lost in transit; sent again\n";
          continue;
        }
        ASSERT_TRUE(frame) << frame.error().message;
        ASSERT_EQ(frame->payload.size(), size);
        ASSERT_TRUE(frame->payload == payload) << "frame of " << size << " B corrupted";
        ASSERT_EQ(frame->user_timestamp, std::optional<uint64_t>(ts));
        arrived = true;
      }
      ASSERT_TRUE(arrived) << "a frame of " << size << " B never arrived in 5 attempts";
    }
  }

  // A publishes, B subscribes, frames of the interesting sizes go across.
  void round_trip(Signalling signalling, Signalling expected) {
    auto a = join("alice", signalling);
    auto b = join("bob", signalling);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->signalling(), expected);
    EXPECT_EQ(b->signalling(), expected);
    EXPECT_FALSE(a->server_version().empty());
    PublishOptions po = lk::test::track_named("telemetry");
    auto track = a->publish_data_track(po);
    ASSERT_TRUE(track) << track.error().message;
    EXPECT_EQ((*track)->info().name(), "telemetry");
    EXPECT_EQ((*track)->info().sid().rfind("DTR_", 0), 0u) << (*track)->info().sid();

    auto sub = b->subscribe("alice", "telemetry");
    ASSERT_TRUE(sub->wait_active(15000)) << "subscription not granted: " << to_string(sub->end());
    ASSERT_TRUE(sub->info());
    EXPECT_EQ(sub->info()->sid(), (*track)->info().sid());
    const size_t max = LocalDataTrack::max_frame_size();
    deliver(**track, *sub, {1, 15987, 15988, 16000, 64 * 1024, 1024 * 1024, max});

    EXPECT_EQ(b->stats().malformed_packets, 0u);
    EXPECT_GE(b->stats().signal_rtt_ms, -1);
    (*track)->unpublish();
    EXPECT_FALSE((*track)->is_published());
    auto end = sub->read(10000);
    ASSERT_FALSE(end);
    EXPECT_EQ(sub->end(), SubscriptionEnd::Unpublished) << end.error().message;
  }

  // Alice publishes "secret" encrypted with "shared passphrase"; Bob
  // subscribes with `bob_passphrase`; returned once the subscription is live.
  EncryptedTrack publish_encrypted(const std::string& bob_passphrase);

  std::string url_override_;  // a proxy in front of the server, when set
};

TEST_F(RoomTest, TwoConnectionsExchangeFramesByteExactInV1) { round_trip(Signalling::V1, Signalling::V1); }
TEST_F(RoomTest, TwoConnectionsExchangeFramesByteExactInV0) { round_trip(Signalling::V0, Signalling::V0); }

TEST_F(RoomTest, AnIceLiteServerExchangesFrames) {
  // As livekit-server can run: we must be ICE-controlling, also on the v0
  // subscriber PC where the server offers and we answer.
  start_server({"--ice-lite"});
  round_trip(Signalling::V0, Signalling::V0);
}

TEST_F(RoomTest, AutoFallsBackToV0WhenTheServerHasNoV1) {
  // tests/sfu switches /rtc/v1 off itself; livekit-server gets a proxy in front that hides it.
  std::optional<TestServer> front;
  if (TestServer::kind() == "sfu") {
    start_server({"--no-v1"});
  } else {
    auto started = TestServer::start_v0_only_front(*server_);
    ASSERT_TRUE(started) << started.error().message;
    front.emplace(std::move(*started));
    url_override_ = front->url();
  }
  round_trip(Signalling::Auto, Signalling::V0);
}

TEST_F(RoomTest, ABadTokenIsRefusedAsNotAuthorized) {
  auto o = options("mallory");
  o.api_secret = "not-the-server-secret";
  auto room = RoomConnection::connect(o);
  ASSERT_FALSE(room);
  EXPECT_EQ(room.error().kind, lk::ErrorKind::NotAuthorized) << room.error().message;
  EXPECT_NE(room.error().message.find("401"), std::string::npos) << room.error().message;
  // The server quotes the token in its answer; our message must not.
  EXPECT_EQ(room.error().message.find("eyJ"), std::string::npos) << room.error().message;
}

TEST_F(RoomTest, AnUnreachableServerFailsWithinTheConnectTimeout) {
  auto o = options("alice");
  o.url = "ws://10.99.0.1:9";  // nothing listens there
  o.connect_timeout_ms = 3000;
  const auto started = std::chrono::steady_clock::now();
  auto room = RoomConnection::connect(o);
  ASSERT_FALSE(room);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 8s);
  EXPECT_TRUE(room.error().kind == lk::ErrorKind::Network || room.error().kind == lk::ErrorKind::Timeout)
      << room.error().message;
}

TEST_F(RoomTest, ADuplicateTrackNameIsRefused) {
  auto a = join("alice");
  ASSERT_TRUE(a);
  PublishOptions po = lk::test::track_named("telemetry");
  ASSERT_TRUE(a->publish_data_track(po));
  auto again = a->publish_data_track(po);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, lk::ErrorKind::InvalidArgument);
  EXPECT_NE(again.error().message.find("already publishes a data track named 'telemetry'"), std::string::npos)
      << again.error().message;
}

TEST_F(RoomTest, DisabledDataTracksAreRefusedNamingTheSetting) {
  start_server({"--data-tracks-disabled"});
  auto a = join("alice");
  ASSERT_TRUE(a);
  PublishOptions po = lk::test::track_named("telemetry");
  auto track = a->publish_data_track(po);
  ASSERT_FALSE(track);
  EXPECT_EQ(track.error().kind, lk::ErrorKind::NotAuthorized);
  EXPECT_NE(track.error().message.find("enable_data_tracks"), std::string::npos) << track.error().message;
}

TEST_F(RoomTest, AServerWithoutDataTracksTimesOutSayingSo) {
  start_server({"--no-data-tracks"});
  auto a = join("alice");
  ASSERT_TRUE(a);
  PublishOptions po = lk::test::track_named("telemetry");
  po.publish_timeout_ms = 2000;
  auto track = a->publish_data_track(po);
  ASSERT_FALSE(track);
  EXPECT_EQ(track.error().kind, lk::ErrorKind::Timeout);
  EXPECT_NE(track.error().message.find("lack data-track support"), std::string::npos) << track.error().message;
}

TEST_F(RoomTest, AnOversizedFrameIsRefusedAndTheTrackGoesOn) {
  auto a = join("alice");
  auto b = join("bob");
  ASSERT_TRUE(a && b);
  PublishOptions po = lk::test::track_named("telemetry");
  auto track = a->publish_data_track(po);
  ASSERT_TRUE(track) << track.error().message;
  auto sub = b->subscribe("alice", "telemetry");
  ASSERT_TRUE(sub->wait_active(15000));
  std::vector<uint8_t> big(LocalDataTrack::max_frame_size() + 1);
  auto refused = (*track)->push(big, 1, 1000);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, lk::ErrorKind::InvalidArgument);
  EXPECT_NE(refused.error().message.find("128 packets"), std::string::npos) << refused.error().message;
  EXPECT_EQ((*track)->stats().dropped_too_large, 1u);
  deliver(**track, *sub, {100});
}

TEST_F(RoomTest, ATrackNeverPublishedEndsTheSubscriptionAfterTheWait) {
  auto b = join("bob");
  ASSERT_TRUE(b);
  SubscribeOptions so;
  so.wait_for_track_ms = 1500;
  auto sub = b->subscribe("nobody", "telemetry", so);
  auto frame = sub->read(10000);
  ASSERT_FALSE(frame);
  EXPECT_EQ(frame.error().kind, lk::ErrorKind::NotFound) << frame.error().message;
  EXPECT_EQ(sub->end(), SubscriptionEnd::NeverPublished);
}

TEST_F(RoomTest, ASubscriptionBeforeThePublishGetsTheTrackWhenItComes) {
  auto a = join("alice");
  auto b = join("bob");
  ASSERT_TRUE(a && b);
  auto sub = b->subscribe("alice", "later");
  PublishOptions po = lk::test::track_named("later");
  po.frame_encoding.emplace().set_well_known(livekit::DataTrackFrameEncoding::WELL_KNOWN_FRAME_ENCODING_JSON);
  po.schema.emplace().set_name("telemetry.v1");
  auto track = a->publish_data_track(po);
  ASSERT_TRUE(track) << track.error().message;
  ASSERT_TRUE(sub->wait_active(15000)) << to_string(sub->end());
  // The encoding and schema reach the subscriber through the server.
  ASSERT_TRUE(sub->info());
  EXPECT_EQ(sub->info()->frame_encoding().well_known(),
            livekit::DataTrackFrameEncoding::WELL_KNOWN_FRAME_ENCODING_JSON);
  EXPECT_EQ(sub->info()->schema().name(), "telemetry.v1");
  deliver(**track, *sub, {42});
}

TEST_F(RoomTest, OneRegistryKeyGivesOneConnectionAndTwoKeysTwo) {
  auto first = acquire_room(options("alice"));
  auto second = acquire_room(options("alice"));
  auto other = acquire_room(options("bob"));
  ASSERT_TRUE(first && second && other);
  EXPECT_EQ(first->get(), second->get());
  EXPECT_NE(first->get(), other->get());
  EXPECT_NE((*first)->participant_sid(), (*other)->participant_sid());
  // Released by every holder: the next acquire joins anew.
  const std::string sid = (*first)->participant_sid();
  first->reset();
  second->reset();
  auto again = acquire_room(options("alice"));
  ASSERT_TRUE(again);
  EXPECT_NE((*again)->participant_sid(), sid);
}

TEST_F(RoomTest, ASilentServerIsDetectedWithinThePingTimeout) {
  auto o = options("alice");
  o.reconnect_timeout_ms = 0;  // detection only: no reconnect after it
  auto connected = RoomConnection::connect(o);
  ASSERT_TRUE(connected) << connected.error().message;
  auto a = *connected;
  server_->freeze(true);
  const auto started = std::chrono::steady_clock::now();
  while (a->status() && std::chrono::steady_clock::now() - started < 40s) std::this_thread::sleep_for(200ms);
  server_->freeze(false);
  ASSERT_FALSE(a->status()) << "still connected 40 s after the server went silent";
  // Whichever notices first: the signalling keepalive (ping timeout, 15 s on
  // both servers) or the transport's liveness watchdog (12 s of silence).
  EXPECT_LT(std::chrono::steady_clock::now() - started, 20s);
  const auto kind = a->status().error().kind;
  EXPECT_TRUE(kind == lk::ErrorKind::Timeout || kind == lk::ErrorKind::Network) << a->status().error().message;
}

TEST_F(RoomTest, APublisherLeavingEndsTheSubscriptionSayingSo) {
  auto a = join("alice");
  auto b = join("bob");
  ASSERT_TRUE(a && b);
  PublishOptions po = lk::test::track_named("telemetry");
  ASSERT_TRUE(a->publish_data_track(po));
  auto sub = b->subscribe("alice", "telemetry");
  ASSERT_TRUE(sub->wait_active(15000));
  a->close();  // leaves without unpublishing first
  auto end = sub->read(15000);  // livekit-server batches this update (about 3 s)
  ASSERT_FALSE(end);
  EXPECT_EQ(sub->end(), SubscriptionEnd::PublisherLeft) << end.error().message;
  EXPECT_EQ(end.error().kind, lk::ErrorKind::Closed);
}

// A leave from a server that stays up, so it is always delivered: a second
// session with the same identity makes both servers send the first one
// leave{DUPLICATE_IDENTITY}. (A stopping livekit-server may close the
// WebSocket before its leave{SERVER_SHUTDOWN} is out when the machine is busy,
// and the room then rightly reconnects: no test for a reason can rest on it.)
TEST_F(RoomTest, AServerLeaveEndsTheConnectionWithItsReason) {
  auto a = join("alice");
  ASSERT_TRUE(a);
  PublishOptions po = lk::test::track_named("telemetry");
  auto track = a->publish_data_track(po);
  ASSERT_TRUE(track);
  auto again = join("alice");
  ASSERT_TRUE(again);
  const auto started = std::chrono::steady_clock::now();
  while (a->status() && std::chrono::steady_clock::now() - started < 20s) std::this_thread::sleep_for(100ms);
  ASSERT_FALSE(a->status()) << "still connected after the server's leave";
  EXPECT_NE(a->status().error().message.find("DUPLICATE_IDENTITY"), std::string::npos) << a->status().error().message;
  EXPECT_FALSE((*track)->is_published());
  auto pushed = (*track)->push(pattern(10, 1), 1, 100);
  ASSERT_FALSE(pushed);
  EXPECT_EQ(pushed.error().kind, lk::ErrorKind::Closed);
  EXPECT_TRUE(again->status()) << "the newer session must stay";
}

// Every log line of every level, while a join is refused (livekit-server
// quotes the token in its refusal) and while one succeeds with a given token.
std::mutex log_mutex;
std::vector<std::string> log_lines;

GLogWriterOutput capture_log(GLogLevelFlags, const GLogField* fields, gsize n, gpointer) {
  std::lock_guard lock(log_mutex);
  for (gsize i = 0; i < n; ++i) {
    if (std::string(fields[i].key) == "MESSAGE") {
      log_lines.emplace_back(static_cast<const char*>(fields[i].value),
                             fields[i].length < 0 ? strlen(static_cast<const char*>(fields[i].value)) : fields[i].length);
    }
  }
  return G_LOG_WRITER_HANDLED;
}

TEST_F(RoomTest, NoLogLineCarriesTheTokenOrTheSecret) {
  g_setenv("G_MESSAGES_DEBUG", "all", TRUE);
  g_log_set_writer_func(capture_log, nullptr, nullptr);  // once per process: one scenario per process
  signal::TokenGrant grant;
  grant.api_key = TestServer::kApiKey;
  grant.api_secret = TestServer::kApiSecret;
  grant.identity = "alice";
  grant.room = room_;
  auto token = signal::mint_token(grant);
  ASSERT_TRUE(token);
  auto o = options("alice");
  o.token = *token;
  o.api_secret.clear();
  auto good = RoomConnection::connect(o);
  ASSERT_TRUE(good) << good.error().message;
  PublishOptions po = lk::test::track_named("telemetry");
  ASSERT_TRUE((*good)->publish_data_track(po));
  good->reset();
  grant.api_secret = "not-the-server-secret";
  auto forged = signal::mint_token(grant);
  ASSERT_TRUE(forged);
  o.token = *forged;
  auto refused = RoomConnection::connect(o);
  ASSERT_FALSE(refused);
  std::lock_guard lock(log_mutex);
  ASSERT_GT(log_lines.size(), 5u) << "nothing was logged: the check would prove nothing";
  const std::string signature = token->substr(token->rfind('.') + 1);
  for (const auto& line : log_lines) {
    EXPECT_EQ(line.find(signature), std::string::npos) << line;
    EXPECT_EQ(line.find(forged->substr(forged->rfind('.') + 1)), std::string::npos) << line;
    EXPECT_EQ(line.find(TestServer::kApiSecret), std::string::npos) << line;
  }
}

// wss:// through a TLS proxy whose certificate (for 10.99.0.1) no system
// store trusts: refused by default, accepted with it as the CA file.
class TlsTest : public RoomTest {
 protected:
  void SetUp() override {
    RoomTest::SetUp();
    gchar* dir = g_dir_make_tmp("lkt-tls-XXXXXX", nullptr);
    ASSERT_TRUE(dir);
    dir_ = dir;
    g_free(dir);
    cert_ = dir_ + "/cert.pem";
    const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=10.99.0.1"
                            " -addext subjectAltName=IP:10.99.0.1 -keyout " + dir_ + "/key.pem -out " + cert_ +
                            " 2>/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl could not make a certificate";
    auto front = TestServer::start_tls_front(*server_, cert_, dir_ + "/key.pem");
    ASSERT_TRUE(front) << front.error().message;
    front_.emplace(std::move(*front));
    ASSERT_EQ(front_->url().rfind("wss://", 0), 0u) << front_->url();
  }
  void TearDown() override {
    front_.reset();
    if (!dir_.empty()) (void)std::system(("rm -rf " + dir_).c_str());
    RoomTest::TearDown();
  }
  std::string dir_, cert_;
  std::optional<TestServer> front_;
};

TEST_F(TlsTest, AnUntrustedCertificateIsRefused) {
  auto o = options("alice");
  o.url = front_->url();
  auto room = RoomConnection::connect(o);
  ASSERT_FALSE(room) << "joined through a certificate nothing trusts";
  EXPECT_EQ(room.error().kind, lk::ErrorKind::Network) << room.error().message;
  EXPECT_NE(room.error().message.find("TLS"), std::string::npos) << room.error().message;
}

TEST_F(TlsTest, AnUnreadableCaFileIsAClearError) {
  auto o = options("alice");
  o.url = front_->url();
  o.ca_file = dir_ + "/missing.pem";
  auto room = RoomConnection::connect(o);
  ASSERT_FALSE(room);
  EXPECT_EQ(room.error().kind, lk::ErrorKind::InvalidArgument) << room.error().message;
  EXPECT_NE(room.error().message.find("missing.pem"), std::string::npos) << room.error().message;
}

TEST_F(TlsTest, TheCaFileMakesAPrivateCertificateVerify) {
  auto o = options("alice");
  o.url = front_->url();
  o.ca_file = cert_;
  auto a = RoomConnection::connect(o);
  ASSERT_TRUE(a) << a.error().message;
  o.identity = "bob";
  auto b = RoomConnection::connect(o);
  ASSERT_TRUE(b) << b.error().message;
  PublishOptions po = lk::test::track_named("telemetry");
  auto track = (*a)->publish_data_track(po);
  ASSERT_TRUE(track) << track.error().message;
  auto sub = (*b)->subscribe("alice", "telemetry");
  ASSERT_TRUE(sub->wait_active(15000));
  deliver(**track, *sub, {1000});
}

// Back-pressure: a frozen server stops taking SCTP data, so what we push
// piles up on our side of the channel.
class BackPressureTest : public RoomTest {
 protected:
  // Publishes with `mode` and freezes the server; returns the track.
  std::shared_ptr<LocalDataTrack> stalled_track(BackPressure mode) {
    a_ = join("alice");
    if (!a_) return nullptr;
    PublishOptions po = lk::test::track_named("bulk");
    po.back_pressure = mode;
    auto track = a_->publish_data_track(po);
    EXPECT_TRUE(track) << track.error().message;
    if (!track) return nullptr;
    server_->freeze(true);
    return *track;
  }
  void TearDown() override {
    server_->freeze(false);
    RoomTest::TearDown();
  }
  const std::vector<uint8_t> frame_ = pattern(1000 * 1000, 7);
  std::shared_ptr<RoomConnection> a_;
};

TEST_F(BackPressureTest, DropNewRefusesFramesOnceTheChannelIsBackedUp) {
  auto track = stalled_track(BackPressure::DropNew);
  ASSERT_TRUE(track);
  lk::Result<void> pushed;
  int sent = 0;
  for (; sent < 200 && (pushed = track->push(frame_, 1)); ++sent) {}
  ASSERT_FALSE(pushed) << "200 frames of 1 MB taken by a stalled server";
  EXPECT_EQ(pushed.error().kind, lk::ErrorKind::Timeout) << pushed.error().message;
  EXPECT_EQ(track->stats().dropped_back_pressure, 1u);
  EXPECT_GT(track->stats().queued_bytes, 1000u * 1000u);
  EXPECT_EQ(track->stats().frames_sent, uint64_t(sent));
}

TEST_F(BackPressureTest, BlockWaitsUntilCancelPushWakesIt) {
  auto track = stalled_track(BackPressure::Block);
  ASSERT_TRUE(track);
  // Fill the channel past its high watermark with short waits...
  lk::Result<void> pushed;
  for (int i = 0; i < 200 && (pushed = track->push(frame_, 1, 50)); ++i) {}
  ASSERT_FALSE(pushed);
  EXPECT_EQ(pushed.error().kind, lk::ErrorKind::Timeout) << pushed.error().message;
  // ...then a push without a time limit blocks until cancel_push().
  auto blocked = std::async(std::launch::async, [&] { return track->push(frame_, 2); });
  EXPECT_EQ(blocked.wait_for(300ms), std::future_status::timeout) << "a push into a full channel returned";
  track->cancel_push();
  ASSERT_EQ(blocked.wait_for(5s), std::future_status::ready) << "cancel_push did not wake the push";
  auto result = blocked.get();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, lk::ErrorKind::Cancelled);
  track->resume_push();
}

TEST_F(BackPressureTest, DropOldKeepsTheNewestFramesWholeAndInOrder) {
  auto b = join("bob");
  ASSERT_TRUE(b);
  auto track = stalled_track(BackPressure::DropOld);
  ASSERT_TRUE(track);
  server_->freeze(false);
  auto sub = b->subscribe("alice", "bulk");
  ASSERT_TRUE(sub->wait_active(15000));
  server_->freeze(true);
  // Push until the backlog overflows, then a few more.
  int frames = 0, extra = 10, first_eviction = -1;
  for (; frames < 2000 && extra > 0; ++frames) {
    ASSERT_TRUE(track->push(pattern(100 * 1000, 100 + frames), uint64_t(frames)));
    if (track->stats().dropped_back_pressure > 0) {
      if (first_eviction < 0) first_eviction = frames;
      --extra;
    }
  }
  ASSERT_EQ(extra, 0) << "nothing evicted after " << frames << " frames of 100 kB to a stalled server";
  server_->freeze(false);
  ASSERT_TRUE(track->flush(10000)) << "the backlog did not drain after the server came back";
  const auto stats = track->stats();
  EXPECT_EQ(stats.frames_sent + stats.dropped_back_pressure, uint64_t(frames)) << "a frame neither sent nor counted";
  // Whatever arrives is whole and in push order, and frames pushed after the
  // evictions began arrive (drop-new would have refused them all). Through
  // livekit-server the burst after the stall can lose frames on its way to
  // the subscriber (its 100 ms rule), so not necessarily the very last one.
  std::optional<uint64_t> last;
  for (auto frame = sub->read(5000); frame; frame = sub->read(3000)) {
    const uint64_t i = *frame->user_timestamp;
    ASSERT_TRUE(frame->payload == pattern(100 * 1000, uint32_t(100 + i))) << "frame " << i << " altered";
    if (last) {
      ASSERT_GT(i, *last) << "frames out of order";
    }
    last = i;
  }
  ASSERT_TRUE(last) << "nothing arrived";
  EXPECT_GE(*last, uint64_t(first_eviction)) << "only frames older than the evictions arrived";
}

TEST_F(RoomTest, NoThreadOfOursIsLeftAfterTheLastRelease) {
  // usrsctp's threads are process-wide and live on once started: a first
  // connection starts them, then the count must come back exactly.
  join("warm-up").reset();
  const int before = thread_count();
  {
    auto a = acquire_room(options("alice"));
    ASSERT_TRUE(a) << a.error().message;
    PublishOptions po = lk::test::track_named("telemetry");
    ASSERT_TRUE((*a)->publish_data_track(po));
    EXPECT_GT(thread_count(), before);
  }
  EXPECT_EQ(thread_count(), before);
}


// ---- end-to-end encryption (docs/protocol.md §13) ----------------------------

std::shared_ptr<e2ee::KeyRing> key_ring(std::string_view passphrase) {
  auto ring = std::make_shared<e2ee::KeyRing>();
  EXPECT_TRUE(ring->set_key(std::vector<uint8_t>(passphrase.begin(), passphrase.end())).ok());
  return ring;
}

// An HTTP GET on the test server (its /debug hooks); the body, or "".
std::string http_get(const std::string& ws_url, const std::string& path) {
  const std::string host_port = ws_url.substr(ws_url.find("://") + 3);  // ws://HOST:PORT
  GSocketClient* client = g_socket_client_new();
  GError* error = nullptr;
  GSocketConnection* conn = g_socket_client_connect_to_host(client, host_port.c_str(), 0, nullptr, &error);
  if (!conn) {
    ADD_FAILURE() << "GET " << path << " on " << ws_url << ": " << error->message;
    g_error_free(error);
  }
  std::string response;
  if (conn) {
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: " + host_port + "\r\n\r\n";
    GOutputStream* out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
    GInputStream* in = g_io_stream_get_input_stream(G_IO_STREAM(conn));
    if (g_output_stream_write_all(out, request.data(), request.size(), nullptr, nullptr, nullptr)) {
      char buf[4096];
      gssize n;
      while ((n = g_input_stream_read(in, buf, sizeof buf, nullptr, nullptr)) > 0) response.append(buf, size_t(n));
    }
    g_object_unref(conn);
  }
  g_object_unref(client);
  const auto body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

std::string hex(std::span<const uint8_t> bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) out += {digits[b >> 4], digits[b & 15]};
  return out;
}

EncryptedTrack RoomTest::publish_encrypted(const std::string& bob_passphrase) {
  EncryptedTrack t{join("alice"), join("bob"), nullptr, nullptr};
  if (!t.alice || !t.bob) {
    ADD_FAILURE() << "could not join";
    return t;
  }
  PublishOptions po = lk::test::track_named("secret");
  po.e2ee = key_ring("shared passphrase");
  auto track = t.alice->publish_data_track(po);
  if (!track) {
    ADD_FAILURE() << track.error().message;
    return t;
  }
  t.track = *track;
  SubscribeOptions so;
  so.e2ee = key_ring(bob_passphrase);
  t.sub = t.bob->subscribe("alice", "secret", so);
  if (!t.sub->wait_active(15000)) ADD_FAILURE() << "subscription not granted: " << to_string(t.sub->end());
  return t;
}

TEST_F(RoomTest, AnEncryptedTrackArrivesByteExact) {
  auto t = publish_encrypted("shared passphrase");
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(t.track->info().encryption(), livekit::Encryption::GCM);
  EXPECT_EQ(t.sub->info()->encryption(), livekit::Encryption::GCM);
  const size_t max = LocalDataTrack::max_frame_size(true);
  EXPECT_LT(max, LocalDataTrack::max_frame_size());  // the E2EE extension in every packet, the tag
  deliver(*t.track, *t.sub, {0, 1, 15000, 64 * 1024, max});
  EXPECT_EQ(t.sub->stats().dropped_decryption, 0u);
  std::vector<uint8_t> over(max + 1);
  auto refused = t.track->push(over, 1, 1000);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, lk::ErrorKind::InvalidArgument);
}

TEST_F(RoomTest, AWrongKeyCountsAuthenticationFailuresAndDeliversNothing) {
  auto t = publish_encrypted("a wrong passphrase");
  ASSERT_FALSE(HasFailure());
  // Frames until some have arrived (the first of a burst may be lost in transit).
  for (int i = 0; i < 50 && t.sub->stats().dropped_decryption < 3; ++i) {
    ASSERT_TRUE(t.track->push(pattern(2000, uint32_t(i)), uint64_t(i + 1), 1000));
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_GE(t.sub->stats().dropped_decryption, 3u);
  auto frame = t.sub->read(500);
  ASSERT_FALSE(frame) << "a frame of " << frame->payload.size() << " B was delivered under a wrong key";
  EXPECT_EQ(frame.error().kind, lk::ErrorKind::Timeout);
  EXPECT_EQ(t.sub->stats().frames_received, 0u);
}

TEST_F(RoomTest, AKeyMismatchEndsTheSubscriptionSayingWhich) {
  auto a = join("alice");
  auto b = join("bob");
  ASSERT_TRUE(a && b);
  PublishOptions encrypted;
  encrypted.name = "secret";
  encrypted.e2ee = key_ring("shared passphrase");
  ASSERT_TRUE(a->publish_data_track(encrypted));
  PublishOptions clear;
  clear.name = "clear";
  ASSERT_TRUE(a->publish_data_track(clear));

  auto no_key = b->subscribe("alice", "secret");
  EXPECT_FALSE(no_key->wait_active(10000));
  EXPECT_EQ(no_key->end(), SubscriptionEnd::KeyMissing);
  EXPECT_NE(std::string(to_string(no_key->end())).find("encrypted and no E2EE key"), std::string::npos);

  SubscribeOptions so;
  so.e2ee = key_ring("shared passphrase");
  auto key_for_clear = b->subscribe("alice", "clear", so);
  EXPECT_FALSE(key_for_clear->wait_active(10000));
  EXPECT_EQ(key_for_clear->end(), SubscriptionEnd::NotEncrypted);
  EXPECT_NE(std::string(to_string(key_for_clear->end())).find("not end-to-end encrypted"), std::string::npos);
}

// What the server forwards of an encrypted track is not the plaintext; the
// clear track beside it shows the server's tap does see payloads.
TEST_F(RoomTest, TheServerForwardsCiphertextOnly) {
  auto a = join("alice");
  auto b = join("bob");
  ASSERT_TRUE(a && b);
  std::vector<std::shared_ptr<LocalDataTrack>> tracks;
  for (bool encrypted : {true, false}) {
    PublishOptions po = lk::test::track_named(encrypted ? "secret" : "clear");
    if (encrypted) po.e2ee = key_ring("shared passphrase");
    auto track = a->publish_data_track(po);
    ASSERT_TRUE(track) << track.error().message;
    SubscribeOptions so;
    so.e2ee = po.e2ee ? key_ring("shared passphrase") : nullptr;
    auto sub = b->subscribe("alice", po.name, so);
    ASSERT_TRUE(sub->wait_active(15000)) << to_string(sub->end());
    deliver(**track, *sub, {200});
    tracks.push_back(*track);
  }
  const std::string stats = http_get(server_->url(), "/debug/stats");
  const auto head_of = [&](const std::string& sid) {
    const auto at = stats.find("\"sid\":\"" + sid + "\"");
    const auto key = stats.find("\"lastPayloadHead\":\"", at);
    if (at == std::string::npos || key == std::string::npos) return std::string();
    const auto start = key + std::strlen("\"lastPayloadHead\":\"");
    return stats.substr(start, stats.find('"', start) - start);
  };
  // deliver() sends pattern(200, seed) frames; their first 32 bytes, as hex.
  const std::string secret_head = head_of(tracks[0]->info().sid());
  const std::string clear_head = head_of(tracks[1]->info().sid());
  ASSERT_EQ(secret_head.size(), 128u) << stats;
  ASSERT_EQ(clear_head.size(), 128u) << stats;
  bool clear_seen = false, secret_seen = false;
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    const auto frame = pattern(200, seed);
    const std::string plain = hex(std::span(frame).first(32));
    clear_seen |= clear_head.find(plain) != std::string::npos;
    secret_seen |= secret_head.find(plain) != std::string::npos;
  }
  EXPECT_TRUE(clear_seen) << "the server's tap shows a clear track's plaintext";
  EXPECT_FALSE(secret_seen) << "the server saw an encrypted track's plaintext";
}

}  // namespace
}  // namespace lk::room
