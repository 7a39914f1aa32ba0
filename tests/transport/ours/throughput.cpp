// ours -> ours throughput: two PeerConnections, each on its own thread and
// GMainContext, a third thread sending with back-pressure. Prints MB/s,
// messages/s and loss per row. Run inside scripts/netns-run.sh.
//   rtc-ours-throughput [seconds-per-row]
#include <glib.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>

#include "rtc/peer_connection.h"

using namespace lk::rtc;

namespace {

void invoke(GMainContext* context, std::function<void()> fn) {
  auto* heap = new std::function<void()>(std::move(fn));
  g_main_context_invoke_full(
      context, G_PRIORITY_DEFAULT,
      [](gpointer data) -> gboolean {
        (*static_cast<std::function<void()>*>(data))();
        return G_SOURCE_REMOVE;
      },
      heap, [](gpointer data) { delete static_cast<std::function<void()>*>(data); });
}

// A PeerConnection living on its own thread.
struct Side {
  GMainContext* context = g_main_context_new();
  GMainLoop* loop = g_main_loop_new(context, FALSE);
  std::thread thread;
  std::unique_ptr<PeerConnection> pc;
  Side* other = nullptr;
  std::atomic<bool> connected{false};

  void start() {
    std::mutex m;
    std::condition_variable cv;
    bool ready = false;
    thread = std::thread([&] {
      g_main_context_push_thread_default(context);
      Configuration c;
      c.context = context;
      pc = std::make_unique<PeerConnection>(c);
      pc->on_state_change = [this](PeerState s) { connected = s == PeerState::Connected; };
      pc->on_local_candidate = [this](const std::string& cand, const std::string& mid) {
        Side* o = other;
        invoke(o->context, [o, cand, mid] {
          if (cand.empty()) o->pc->add_remote_end_of_candidates();
          else (void)o->pc->add_remote_candidate(cand, mid);
        });
      };
      {
        std::lock_guard l(m);
        ready = true;
      }
      cv.notify_one();
      g_main_loop_run(loop);
      pc.reset();
      while (g_main_context_iteration(context, FALSE)) {
      }
      g_main_context_pop_thread_default(context);
    });
    std::unique_lock l(m);
    cv.wait(l, [&] { return ready; });
  }
  // Runs fn on this side's thread and waits for it.
  void sync(std::function<void()> fn) {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    invoke(context, [&] {
      fn();
      std::lock_guard l(m);
      done = true;
      cv.notify_one();
    });
    std::unique_lock l(m);
    cv.wait(l, [&] { return done; });
  }
  void stop() {
    g_main_loop_quit(loop);
    thread.join();
    g_main_loop_unref(loop);
    g_main_context_unref(context);
  }
};

struct Row {
  const char* name;
  size_t size;
  bool reliable;
};

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 3.0;
  Side a, b;
  a.other = &b;
  b.other = &a;
  a.start();
  b.start();

  const Row rows[] = {{"16000 B unordered rtx=0", 16000, false},
                      {"16000 B reliable ordered", 16000, true},
                      {"1200 B unordered rtx=0", 1200, false},
                      {"1200 B reliable ordered", 1200, true}};
  std::vector<std::shared_ptr<DataChannel>> senders;
  std::vector<std::shared_ptr<DataChannel>> receivers(std::size(rows));
  std::atomic<uint64_t> received_messages[std::size(rows)] = {};
  std::atomic<uint64_t> received_bytes[std::size(rows)] = {};
  std::atomic<uint64_t> out_of_order[std::size(rows)] = {};
  std::atomic<gint64> last_arrival[std::size(rows)] = {};

  a.sync([&] {
    for (const auto& row : rows) {
      DataChannelInit init;
      if (!row.reliable) {
        init.ordered = false;
        init.max_retransmits = 0;
      }
      senders.push_back(a.pc->create_data_channel(row.name, init).value());
    }
  });
  b.sync([&] {
    b.pc->on_data_channel = [&](std::shared_ptr<DataChannel> ch) {
      for (size_t i = 0; i < std::size(rows); ++i)
        if (ch->label() == rows[i].name) {
          receivers[i] = ch;
          auto next = std::make_shared<uint32_t>(0);
          ch->on_message = [&, i, next](std::span<const uint8_t> d, bool) {
            uint32_t seq;
            memcpy(&seq, d.data(), 4);
            if (rows[i].reliable && seq != *next) ++out_of_order[i];
            *next = seq + 1;
            received_messages[i]++;
            received_bytes[i] += d.size();
            last_arrival[i] = g_get_monotonic_time();
          };
        }
    };
  });
  std::string offer, answer;
  a.sync([&] { offer = a.pc->create_offer().value(); });
  b.sync([&] {
    (void)b.pc->set_remote_description("offer", offer);
    answer = b.pc->create_answer().value();
  });
  a.sync([&] { (void)a.pc->set_remote_description("answer", answer); });
  for (int i = 0; i < 1000 && !(a.connected && b.connected); ++i) g_usleep(10000);
  for (int i = 0; i < 500; ++i) {
    bool all = true;
    for (auto& r : receivers) all = all && r;
    for (auto& s : senders) all = all && s->is_open();
    if (all) break;
    g_usleep(10000);
  }
  if (!(a.connected && b.connected)) {
    fprintf(stderr, "did not connect\n");
    return 1;
  }

  printf("| ours -> ours (one process, 2 threads + sender) | MB/s | msg/s | sent | lost | out of order | CPU s/GB |\n");
  printf("|---|---|---|---|---|---|---|\n");
  int failures = 0;
  int only = argc > 2 ? atoi(argv[2]) : -1;  // run one row (index) only
  for (size_t i = 0; i < std::size(rows); ++i) {
    if (only >= 0 && static_cast<size_t>(only) != i) continue;
    auto& ch = senders[i];
    std::mutex m;
    std::condition_variable cv;
    constexpr size_t kHigh = 4 << 20, kLow = 1 << 20;
    ch->set_buffered_amount_low_threshold(kLow);
    ch->on_buffered_amount_low = [&] { cv.notify_one(); };
    std::vector<uint8_t> msg(rows[i].size, 0x5a);
    uint64_t sent = 0;
    double cpu0 = cpu_seconds();
    gint64 start = g_get_monotonic_time(), end = start + static_cast<gint64>(seconds * 1e6);
    while (g_get_monotonic_time() < end) {
      if (ch->buffered_amount() > kHigh) {
        std::unique_lock l(m);
        cv.wait_for(l, std::chrono::milliseconds(50), [&] { return ch->buffered_amount() <= kLow; });
        continue;
      }
      uint32_t seq = static_cast<uint32_t>(sent);
      memcpy(msg.data(), &seq, 4);
      if (!ch->send(msg).ok()) break;
      ++sent;
    }
    double elapsed = (g_get_monotonic_time() - start) / 1e6;
    // Drain: wait for the rest, until nothing more arrives for 2 s (a busy
    // machine can stall a thread for a while; reliable data is never lost).
    gint64 quiet_since = g_get_monotonic_time();
    uint64_t last = received_messages[i];
    while (received_messages[i] < sent && g_get_monotonic_time() - quiet_since < 2000000) {
      g_usleep(20000);
      if (received_messages[i] != last) {
        last = received_messages[i];
        quiet_since = g_get_monotonic_time();
      }
    }
    elapsed = std::max(elapsed, (last_arrival[i].load() - start) / 1e6);
    double cpu = cpu_seconds() - cpu0;
    double mb = received_bytes[i] / 1e6;
    uint64_t lost = sent - received_messages[i];
    printf("| %s | %.1f | %.0f | %llu | %llu | %llu | %.2f |\n", rows[i].name, mb / elapsed,
           received_messages[i] / elapsed, (unsigned long long)sent, (unsigned long long)lost,
           (unsigned long long)out_of_order[i].load(), cpu / (mb / 1000));
    fflush(stdout);
    if (rows[i].reliable && (lost || out_of_order[i])) ++failures;
    ch->on_buffered_amount_low = nullptr;
  }
  a.sync([&] {
    senders.clear();
    a.pc.reset();
  });
  b.sync([&] {
    receivers.clear();
    b.pc.reset();
  });
  a.stop();
  b.stop();
  return failures ? 1 : 0;
}
