// Data-track throughput and loss through a real LiveKit server, one process
// publishing and subscribing over two room connections (LKT_SERVER: livekit,
// the default here, or sfu). Two tables, to choose defaults by measurement:
//   1. back-pressure watermarks (PublishOptions::high/low_watermark): MB/s and
//      frames lost for a publisher pushing as fast as Block lets it;
//   2. frames reassembled at once (SubscribeOptions::max_partial_frames) with
//      random packet loss in the namespace (iptables): frames delivered, and
//      why the others were not;
//   3. end-to-end encryption off and on, alternating: MB/s and the process's
//      CPU seconds per GB delivered (publisher and subscriber both in it), with
//      AES-128-GCM alone in-process as the yardstick.
// Run inside scripts/netns-run.sh (root, for iptables). Options:
// --frames=N (per row, default 1500), --frame-size=B (default 64000),
// --loss=P (percent for table 2, default 1), --only=e2ee (table 3 alone).
#include <glib.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "e2ee/key_ring.h"
#include "room/room_connection.h"
#include "test_server.h"

namespace {

using namespace lk::room;
using lk::test::TestServer;
using Clock = std::chrono::steady_clock;

struct Options {
  int frames = 1500;
  size_t frame_size = 64000;
  double loss_percent = 1;
  bool only_e2ee = false;
};

struct Row {
  std::string label;
  int pushed = 0, received = 0;
  double mb_per_s = 0;
  double cpu_s_per_gb = 0;  // user + system CPU of this process per GB received
  SubscriptionStats sub;
  LocalTrackStats pub;
  std::string error;
};

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

std::string room_name() { return "bench-" + std::to_string(g_get_real_time()); }

ConnectOptions connect_options(const TestServer& server, const std::string& room, const std::string& identity) {
  ConnectOptions o;
  o.url = server.url();
  o.api_key = TestServer::kApiKey;
  o.api_secret = TestServer::kApiSecret;
  o.room = room;
  o.identity = identity;
  return o;
}

// One row: fresh connections, a track, a subscription, a burst; counts what arrives.
Row run(const TestServer& server, const std::string& label, const PublishOptions& po, const SubscribeOptions& so,
        const Options& opt) {
  Row row;
  row.label = label;
  const std::string room = room_name();
  auto a = RoomConnection::connect(connect_options(server, room, "pub"));
  auto b = RoomConnection::connect(connect_options(server, room, "sub"));
  if (!a || !b) {
    row.error = !a ? a.error().message : b.error().message;
    return row;
  }
  auto track = (*a)->publish_data_track(po);
  if (!track) {
    row.error = track.error().message;
    return row;
  }
  auto sub = (*b)->subscribe("pub", po.name, so);
  if (!sub->wait_active(15000)) {
    row.error = "subscription not granted";
    return row;
  }
  // Let the subscription settle, then burst.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::vector<uint8_t> payload(opt.frame_size, 0x5a);
  size_t bytes = 0;
  Clock::time_point last_arrival;
  std::thread reader([&] {
    while (auto frame = sub->read(2000)) {
      ++row.received;
      bytes += frame->payload.size();
      last_arrival = Clock::now();
    }
  });
  const auto start = Clock::now();
  const double cpu_start = cpu_seconds();
  for (int i = 0; i < opt.frames; ++i) {
    if ((*track)->push(payload, uint64_t(i), 10000)) ++row.pushed;
  }
  reader.join();
  const double cpu = cpu_seconds() - cpu_start;  // the reader's last 2 s wait costs no CPU
  const double seconds = std::chrono::duration<double>(last_arrival - start).count();
  row.mb_per_s = row.received > 0 ? double(bytes) / 1e6 / seconds : 0;
  row.cpu_s_per_gb = bytes > 0 ? cpu / (double(bytes) / 1e9) : 0;
  row.sub = sub->stats();
  row.pub = (*track)->stats();
  return row;
}

void print(const std::vector<Row>& rows, const char* title) {
  std::printf("\n%s\n", title);
  std::printf("| %-26s | pushed | received | lost | MB/s | reassembly drops | queue drops |\n", "setting");
  std::printf("|---|---:|---:|---:|---:|---:|---:|\n");
  for (const Row& r : rows) {
    if (!r.error.empty()) {
      std::printf("| %-26s | error: %s |\n", r.label.c_str(), r.error.c_str());
      continue;
    }
    const int lost = r.pushed - r.received;
    std::printf("| %-26s | %6d | %8d | %4d (%.1f%%) | %5.1f | %16llu | %11llu |\n", r.label.c_str(), r.pushed,
                r.received, lost, r.pushed ? 100.0 * lost / r.pushed : 0.0, r.mb_per_s,
                (unsigned long long)r.sub.dropped_reassembly, (unsigned long long)r.sub.dropped_queue_overflow);
  }
}

// AES-128-GCM alone, sealing and opening frames of `frame_size` in this
// process: the most E2EE can add per GB.
Row crypto_only(size_t frame_size) {
  Row row;
  row.label = "AES-128-GCM seal + open only";
  lk::e2ee::KeyRing ring;
  const std::string passphrase = "bench";
  (void)ring.set_key(std::vector<uint8_t>(passphrase.begin(), passphrase.end()));
  std::vector<uint8_t> frame(frame_size, 0x5a), sealed;
  const size_t frames = size_t(1e9) / frame_size;  // 1 GB
  const double cpu_start = cpu_seconds();
  const auto start = Clock::now();
  for (size_t i = 0; i < frames; ++i) {
    auto ext = ring.encrypt(frame, sealed);
    if (ext && ring.decrypt(sealed, *ext)) ++row.received;
  }
  const double bytes = double(row.received) * double(frame_size);
  row.pushed = int(frames);
  row.mb_per_s = bytes / 1e6 / std::chrono::duration<double>(Clock::now() - start).count();
  row.cpu_s_per_gb = (cpu_seconds() - cpu_start) / (bytes / 1e9);
  return row;
}

void print_e2ee(const std::vector<Row>& rows) {
  std::printf("\n3. End-to-end encryption off and on (Block, default watermarks), alternating\n");
  std::printf("| %-28s | pushed | received | MB/s | CPU s per GB |\n", "setting");
  std::printf("|---|---:|---:|---:|---:|\n");
  double sum[2][2] = {{0, 0}, {0, 0}};  // [off/on][MB/s, CPU]
  for (const Row& r : rows) {
    if (!r.error.empty()) {
      std::printf("| %-28s | error: %s |\n", r.label.c_str(), r.error.c_str());
      continue;
    }
    std::printf("| %-28s | %6d | %8d | %6.1f | %12.2f |\n", r.label.c_str(), r.pushed, r.received, r.mb_per_s,
                r.cpu_s_per_gb);
    if (r.label.rfind("E2EE", 0) == 0) {
      const int on = r.label.find(" on") != std::string::npos;
      sum[on][0] += r.mb_per_s;
      sum[on][1] += r.cpu_s_per_gb;
    }
  }
  if (sum[0][0] > 0 && sum[0][1] > 0) {
    std::printf("ratio on/off (sums of the rows): MB/s %.2f, CPU per GB %.2f\n", sum[1][0] / sum[0][0],
                sum[1][1] / sum[0][1]);
  }
}

bool set_loss(double percent, bool on) {
  char cmd[256];
  std::snprintf(cmd, sizeof cmd,
                "iptables -%c INPUT -p udp -m statistic --mode random --probability %.4f -j DROP 2>/dev/null",
                on ? 'A' : 'D', percent / 100);
  return std::system(cmd) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    if (!std::strncmp(argv[i], "--frames=", 9)) opt.frames = std::atoi(argv[i] + 9);
    else if (!std::strncmp(argv[i], "--frame-size=", 13)) opt.frame_size = std::strtoul(argv[i] + 13, nullptr, 10);
    else if (!std::strncmp(argv[i], "--loss=", 7)) opt.loss_percent = std::atof(argv[i] + 7);
    else if (!std::strcmp(argv[i], "--only=e2ee")) opt.only_e2ee = true;
  }
  if (!g_getenv("LKT_SERVER")) g_setenv("LKT_SERVER", "livekit", TRUE);
  if (auto why = TestServer::unavailable()) {
    std::printf("SKIP: %s\n", why->c_str());
    return 77;
  }
  auto server = TestServer::start();
  if (!server) {
    std::fprintf(stderr, "%s\n", server.error().message.c_str());
    return 1;
  }
  std::printf("server: %s; %d frames of %zu B per row; load average %s\n", TestServer::kind().c_str(), opt.frames,
              opt.frame_size, [] {
                double l[3] = {0, 0, 0};
                static char text[64];
                if (getloadavg(l, 3) == 3) std::snprintf(text, sizeof text, "%.1f %.1f %.1f", l[0], l[1], l[2]);
                return text;
              }());

  std::vector<Row> rows;
  for (int round = 1; round <= 2; ++round) {
    for (bool on : {false, true}) {
      PublishOptions po;
      po.name = "bulk";
      SubscribeOptions so;
      so.queue_frames = size_t(opt.frames);
      if (on) {
        const std::string passphrase = "bench";
        po.e2ee = std::make_shared<lk::e2ee::KeyRing>();
        so.e2ee = std::make_shared<lk::e2ee::KeyRing>();
        (void)po.e2ee->set_key(std::vector<uint8_t>(passphrase.begin(), passphrase.end()));
        (void)so.e2ee->set_key(std::vector<uint8_t>(passphrase.begin(), passphrase.end()));
      }
      rows.push_back(run(*server, std::string("E2EE ") + (on ? "on" : "off") + ", round " + std::to_string(round),
                         po, so, opt));
    }
  }
  rows.push_back(crypto_only(opt.frame_size));
  print_e2ee(rows);
  if (opt.only_e2ee) return 0;

  rows.clear();
  for (auto [high, low] : {std::pair<size_t, size_t>{64 << 10, 16 << 10}, {256 << 10, 64 << 10}, {1 << 20, 256 << 10},
                           {4 << 20, 1 << 20}, {16 << 20, 4 << 20}}) {
    PublishOptions po;
    po.name = "bulk";
    po.high_watermark = high;
    po.low_watermark = low;
    SubscribeOptions so;
    so.queue_frames = size_t(opt.frames);
    rows.push_back(run(*server, "high " + std::to_string(high >> 10) + " KiB, low " + std::to_string(low >> 10) + " KiB",
                       po, so, opt));
  }
  print(rows, "1. Back-pressure watermarks (Block), no added loss");

  rows.clear();
  if (!set_loss(opt.loss_percent, true)) {
    std::printf("\n2. skipped: iptables cannot add loss here (needs root in the namespace)\n");
    return 0;
  }
  for (size_t partials : {1, 2, 4, 8}) {
    PublishOptions po;
    po.name = "bulk";
    SubscribeOptions so;
    so.max_partial_frames = partials;
    so.queue_frames = size_t(opt.frames);
    rows.push_back(run(*server, "max_partial_frames " + std::to_string(partials), po, so, opt));
  }
  set_loss(opt.loss_percent, false);
  char title[128];
  std::snprintf(title, sizeof title, "2. Frames reassembled at once, %.1f%% random UDP loss", opt.loss_percent);
  print(rows, title);
  return 0;
}
