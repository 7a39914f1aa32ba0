// Data-channel throughput, ours, libwebrtc and pion, next to the kernel's
// own UDP limit. Each pairing runs two fresh peer processes (bench/rtc/ours_peer
// for lib/rtc, Node tests/interop/wrtc/peer.mjs for libwebrtc M106,
// tests/interop/pion for pion v4 as livekit-server uses it) joined by this
// driver as signalling, on an unordered maxRetransmits=0 channel: the sender
// bursts for a fixed time under back-pressure, the receiver counts. The raw
// UDP rows (raw_udp.h) send 1,200-byte datagrams over loopback one per call,
// 64 per sendmmsg and 54 per UDP GSO call, so the table's ratios come from one
// run. Prints one table.
// Run inside scripts/netns-run.sh, from any directory (the peer programs'
// paths are built in; LK_OURS_PEER, LK_NODE, LK_WRTC_PEER, LK_PION_PEER
// override them). Options: --duration-ms=N (per row, default 3000),
// --only=SUBSTRING (rows whose name contains it), --sizes=A,B,... (message
// sizes, default 16000,1200), --sctp-mtu=N (SCTP packet size of our peers,
// default lib/rtc's safe 1200; libwebrtc and pion always use their own),
// --timeout-ms=N (how long a row may wait past its burst for the sender to
// drain, default 60000). A row that times out prints both peers' layers and
// where the data stopped (stall_report.h); a peer that answers nothing gets
// its stacks printed.
// Without a pion peer (no Go 1.26) its rows are left out, saying why; so is the
// udp-gso row on a kernel without UDP GSO.
#include <glib.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "peer_process.h"
#include "raw_udp.h"
#include "rtc_bench_paths.h"
#include "stall_report.h"

namespace {

using lk::test::Command;
using lk::test::PeerEvent;
using lk::test::PeerProcess;
using lk::test::DiagPair;

struct Row {
  std::string pair;
  size_t size = 0;
  int64_t sent = 0, received = 0, seq_gaps = 0;
  double mb_per_s = 0, msg_per_s = 0, cpu_s_per_gb = 0, tx_cpu_s_per_gb = 0, rx_cpu_s_per_gb = 0, send_ms = 0;
  std::string error;
};

// Row names say "wrtc" for libwebrtc (as they always have).
lk::Result<std::vector<std::string>> peer_argv(const std::string& kind, unsigned sctp_mtu) {
  auto command = lk::test::peer_command(kind == "wrtc" ? "libwebrtc" : kind);
  if (command.ok() && kind == "ours") command->push_back("--sctp-mtu=" + std::to_string(sctp_mtu));
  return command;
}

// Forwards SDP and candidates from one peer process to the other.
void relay_to(PeerProcess& from, PeerProcess& to) {
  from.on_event = [&to](const PeerEvent& e) {
    if (e.type() == "sdp") (void)to.send(Command("setRemote").set("type", e.str("type")).set("sdp", e.str("sdp")));
    if (e.type() == "candidate")
      (void)to.send(Command("candidate").set("candidate", e.str("candidate")).set("sdpMid", e.str("sdpMid")));
  };
}

lk::Result<PeerEvent> stats(PeerProcess& peer) {
  size_t mark = peer.events().size();
  auto sent = peer.send(Command("stats").set("label", "bench"));
  if (!sent.ok()) return sent.error();
  return peer.wait_for("stats", [](const PeerEvent& e) { return e.type() == "stats" || e.type() == "error"; },
                       5000, mark);
}

bool is_open(const PeerEvent& e) { return e.type() == "open" && e.str("label") == "bench"; }

std::optional<PeerEvent> diag(PeerProcess& peer) {
  size_t mark = peer.events().size();
  if (!peer.send(Command("diag").set("label", "bench")).ok()) return std::nullopt;
  auto answer = peer.wait_for("diag", [](const PeerEvent& e) { return e.type() == "diag" || e.type() == "error"; },
                              2000, mark);
  if (!answer.ok()) return std::nullopt;
  if (answer->type() == "diag") return answer.value();
  // It answers, but has no diag: say so, with nothing to compare.
  JsonObject* object = json_object_new();
  json_object_set_string_member(object, "ev", "diag");
  json_object_set_string_member(object, "note", ("no diag: " + answer->str("message")).c_str());
  std::shared_ptr<JsonNode> node(json_node_init_object(json_node_alloc(), object), json_node_unref);
  json_object_unref(object);
  return PeerEvent(node, "");
}

// Where a process that answers nothing is stuck: Go prints every goroutine's
// stack on SIGQUIT (to our stderr, which the peer shares); ours through gdb.
void print_stacks(PeerProcess& peer, const std::string& kind) {
  if (kind == "pion") {
    std::fprintf(stderr, "goroutines of the pion peer (SIGQUIT):\n");
    kill(peer.pid(), SIGQUIT);
    lk::test::run_until(peer.context(), [&] { return peer.exited(); }, 3000);
    return;
  }
  if (kind != "ours") return;
  std::string pid = std::to_string(peer.pid());
  const gchar* argv[] = {"gdb", "-batch", "-p", pid.c_str(), "-ex", "thread apply all bt", nullptr};
  gchar* out = nullptr;
  if (!g_spawn_sync(nullptr, const_cast<gchar**>(argv), nullptr,
                    static_cast<GSpawnFlags>(G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL),
                    nullptr, nullptr, &out, nullptr, nullptr, nullptr)) {
    std::fprintf(stderr, "no stacks of our peer: gdb did not run\n");
    return;
  }
  std::fprintf(stderr, "threads of our peer (gdb):\n%s\n", out);
  g_free(out);
}

// When a row times out: both peers' layers, twice a second apart, the
// counters that still move, and where the sender's data stops.
std::string stall_report(GMainContext* context, PeerProcess& tx, PeerProcess& rx, const std::string& from,
                         const std::string& to) {
  DiagPair sender{"sender (" + from + ")", diag(tx), std::nullopt};
  DiagPair receiver{"receiver (" + to + ")", diag(rx), std::nullopt};
  lk::test::run_until(context, [] { return false; }, 1000);
  if (sender.before) sender.after = diag(tx);
  if (receiver.before) receiver.after = diag(rx);
  std::string report = "\n  " + describe(sender) + "\n  " + describe(receiver) + "\n  stalled: " +
                       stall_verdict(sender, receiver);
  if (!sender.after) print_stacks(tx, from);
  if (!receiver.after) print_stacks(rx, to);
  return report;
}

Row run_row(GMainContext* context, const std::string& from, const std::string& to, size_t size,
            unsigned duration_ms, unsigned sctp_mtu, unsigned timeout_ms) {
  Row row;
  row.pair = from + "->" + to;
  row.size = size;
  auto fail = [&row](const std::string& what) {
    row.error = what;
    return row;
  };
  auto tx_argv = peer_argv(from, sctp_mtu), rx_argv = peer_argv(to, sctp_mtu);
  if (!tx_argv.ok()) return fail(tx_argv.error().message);
  if (!rx_argv.ok()) return fail(rx_argv.error().message);
  auto sender = PeerProcess::spawn(tx_argv.value());
  if (!sender.ok()) return fail(sender.error().message);
  auto receiver = PeerProcess::spawn(rx_argv.value());
  if (!receiver.ok()) return fail(receiver.error().message);
  PeerProcess& tx = *sender.value();
  PeerProcess& rx = *receiver.value();
  relay_to(tx, rx);
  relay_to(rx, tx);
  // From here on a failure says where the data stopped.
  auto stalled = [&](const std::string& what) { return fail(what + stall_report(context, tx, rx, from, to)); };

  (void)tx.send(Command("createChannel").set("label", "bench").set("ordered", false)
                    .set("maxRetransmits", int64_t{0}));
  (void)tx.send(Command("createOffer"));
  for (PeerProcess* p : {&tx, &rx}) {
    auto open = p->wait_for("bench channel open", is_open, std::min(timeout_ms, 15000u));
    if (!open.ok()) return stalled(open.error().message);
  }
  (void)rx.send(Command("report").set("label", "bench").set("mode", "count"));
  auto tx0 = stats(tx), rx0 = stats(rx);
  if (!tx0.ok() || !rx0.ok()) return fail("no stats before the burst");

  size_t mark = tx.events().size();
  (void)tx.send(Command("burst").set("label", "bench").set("size", int64_t(size))
                    .set("durationMs", int64_t{duration_ms}).set("seed", int64_t{1}));
  auto drained = tx.wait_for("drained", [](const PeerEvent& e) { return e.type() == "drained" || e.type() == "error"; },
                             duration_ms + timeout_ms, mark);
  if (!drained.ok()) return stalled(drained.error().message);
  if (drained->type() == "error") return fail("sender: " + drained->str("message"));
  row.sent = drained->num("count");
  row.send_ms = drained->real("ms");

  // The receiver is done when its count stops moving (lost messages never come).
  PeerEvent last(nullptr, "");
  int64_t previous = -1;
  for (int polls = 0; polls < 100; ++polls) {
    auto now = stats(rx);
    if (!now.ok()) return stalled(now.error().message);
    last = now.value();
    if (last.num("count") == previous || last.num("count") >= row.sent) break;
    previous = last.num("count");
    lk::test::run_until(context, [] { return false; }, 300);
  }
  auto tx1 = stats(tx);
  if (!tx1.ok()) return stalled("no sender stats after the burst");

  row.received = last.num("count");
  row.seq_gaps = last.num("seqGaps");
  // A saturated receiver may hand messages over in bunches (its socket never
  // runs dry), so the span of arrivals alone can be far too short: the row
  // takes at least the sender's own time to get everything out.
  double seconds = std::max(last.real("lastMs") - last.real("firstMs"), row.send_ms) / 1000.0;
  double bytes = static_cast<double>(last.num("bytes"));
  if (seconds > 0) {
    row.mb_per_s = bytes / seconds / 1e6;
    row.msg_per_s = row.received / seconds;
  }
  double tx_cpu_s = (tx1->num("cpuUs") - tx0->num("cpuUs")) / 1e6;
  double rx_cpu_s = (last.num("cpuUs") - rx0->num("cpuUs")) / 1e6;
  if (bytes > 0) {
    row.tx_cpu_s_per_gb = tx_cpu_s / (bytes / 1e9);
    row.rx_cpu_s_per_gb = rx_cpu_s / (bytes / 1e9);
    row.cpu_s_per_gb = row.tx_cpu_s_per_gb + row.rx_cpu_s_per_gb;
  }
  (void)tx.send(Command("exit"));
  (void)rx.send(Command("exit"));
  return row;
}

Row udp_row(lk::bench::UdpSendMode mode, unsigned duration_ms) {
  Row row;
  row.pair = lk::bench::to_string(mode);
  row.size = lk::bench::kUdpDatagramBytes;
  auto r = lk::bench::measure_udp(mode, duration_ms);
  row.error = r.error;
  row.sent = r.sent;
  row.received = r.received;
  double bytes = static_cast<double>(r.received) * lk::bench::kUdpDatagramBytes;
  if (r.seconds > 0) {
    row.mb_per_s = bytes / r.seconds / 1e6;
    row.msg_per_s = r.received / r.seconds;
  }
  if (bytes > 0) {
    row.tx_cpu_s_per_gb = r.sender_cpu_s / (bytes / 1e9);
    row.rx_cpu_s_per_gb = r.receiver_cpu_s / (bytes / 1e9);
    row.cpu_s_per_gb = row.tx_cpu_s_per_gb + row.rx_cpu_s_per_gb;
  }
  return row;
}

// MB/s if the busier side had a core of its own and nothing else to wait for.
double cpu_bound_mb_per_s(const Row& r) {
  double busier = std::max(r.tx_cpu_s_per_gb, r.rx_cpu_s_per_gb);
  return busier > 0 ? 1000.0 / busier : 0;
}

// The peer programs of this build, unless the environment names others.
void default_peer_paths() {
  g_setenv("LK_OURS_PEER", LK_BENCH_OURS_PEER, FALSE);
  g_setenv("LK_NODE", LK_BENCH_NODE, FALSE);
  g_setenv("LK_WRTC_PEER", LK_BENCH_WRTC_PEER, FALSE);
  g_setenv("LK_PION_PEER", LK_BENCH_PION_PEER, FALSE);
  g_setenv("LK_PION_UNAVAILABLE", LK_BENCH_PION_UNAVAILABLE, FALSE);
}

// Other work on the machine slows every row: print the load next to the table.
std::string load_average() {
  gchar* text = nullptr;
  if (!g_file_get_contents("/proc/loadavg", &text, nullptr, nullptr)) return "unknown\n";
  std::string result(text);
  g_free(text);
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  unsigned duration_ms = 3000;
  unsigned sctp_mtu = 1200;
  unsigned timeout_ms = 60000;
  std::string only;
  std::vector<size_t> sizes = {16000, 1200};
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--duration-ms=", 14) == 0) {
      duration_ms = static_cast<unsigned>(std::strtoul(argv[i] + 14, nullptr, 10));
    } else if (std::strncmp(argv[i], "--sctp-mtu=", 11) == 0) {
      sctp_mtu = static_cast<unsigned>(std::strtoul(argv[i] + 11, nullptr, 10));
    } else if (std::strncmp(argv[i], "--timeout-ms=", 13) == 0) {
      timeout_ms = static_cast<unsigned>(std::strtoul(argv[i] + 13, nullptr, 10));
    } else if (std::strncmp(argv[i], "--only=", 7) == 0) {
      only = argv[i] + 7;
    } else if (std::strncmp(argv[i], "--sizes=", 8) == 0) {
      sizes.clear();
      gchar** parts = g_strsplit(argv[i] + 8, ",", -1);
      for (gchar** part = parts; *part; ++part) sizes.push_back(std::strtoul(*part, nullptr, 10));
      g_strfreev(parts);
    } else {
      std::fprintf(stderr,
                   "usage: %s [--duration-ms=N] [--only=SUBSTRING] [--sizes=A,B,...] [--sctp-mtu=N] [--timeout-ms=N]\n",
                   argv[0]);
      return 2;
    }
  }
  default_peer_paths();
  GMainContext* context = g_main_context_new();
  g_main_context_push_thread_default(context);

  std::vector<Row> rows;
  const char* pairs[][2] = {{"ours", "ours"}, {"ours", "wrtc"}, {"wrtc", "ours"}, {"wrtc", "wrtc"},
                            {"ours", "pion"}, {"pion", "ours"}, {"pion", "pion"}};
  auto pion = lk::test::peer_command("pion");
  if (!pion.ok()) std::fprintf(stderr, "pion rows left out: %s\n", pion.error().message.c_str());
  for (size_t size : sizes) {
    for (auto& pair : pairs) {
      std::string name = std::string(pair[0]) + "->" + pair[1] + " " + std::to_string(size);
      if (!only.empty() && name.find(only) == std::string::npos) continue;
      if (!pion.ok() && name.find("pion") != std::string::npos) continue;
      std::fprintf(stderr, "running %s B for %u ms...\n", name.c_str(), duration_ms);
      rows.push_back(run_row(context, pair[0], pair[1], size, duration_ms, sctp_mtu, timeout_ms));
    }
  }
  for (auto mode : {lk::bench::UdpSendMode::OnePerCall, lk::bench::UdpSendMode::Mmsg, lk::bench::UdpSendMode::Gso}) {
    if (!only.empty() && std::string(lk::bench::to_string(mode)).find(only) == std::string::npos) continue;
    std::fprintf(stderr, "running %s for %u ms...\n", lk::bench::to_string(mode), duration_ms);
    Row row = udp_row(mode, duration_ms);
    if (mode == lk::bench::UdpSendMode::Gso && !row.error.empty()) {  // an old kernel: not our failure
      std::fprintf(stderr, "udp-gso row left out: %s\n", row.error.c_str());
      continue;
    }
    rows.push_back(row);
  }

  std::printf("\nunordered, maxRetransmits 0, %u ms burst per row, two processes per row, our SCTP MTU %u;"
              " load average %s",
              duration_ms, sctp_mtu, load_average().c_str());
  std::printf("%-12s %7s %9s %9s %7s %9s %10s %9s %15s\n", "pair", "bytes", "sent", "received", "lost%", "MB/s",
              "msg/s", "CPU s/GB", "(sender/recv)");
  bool failed = false;
  for (const Row& r : rows) {
    if (!r.error.empty()) {
      std::printf("%-12s %7zu  FAILED: %s\n", r.pair.c_str(), r.size, r.error.c_str());
      failed = true;
      continue;
    }
    double lost = r.sent ? 100.0 * static_cast<double>(r.sent - r.received) / static_cast<double>(r.sent) : 0;
    std::printf("%-12s %7zu %9lld %9lld %7.2f %9.1f %10.0f %9.2f %7.2f/%-7.2f\n", r.pair.c_str(), r.size,
                static_cast<long long>(r.sent), static_cast<long long>(r.received), lost, r.mb_per_s, r.msg_per_s,
                r.cpu_s_per_gb, r.tx_cpu_s_per_gb, r.rx_cpu_s_per_gb);
  }
  auto find = [&](const std::string& pair, size_t size) -> const Row* {
    for (const Row& r : rows) if (r.pair == pair && r.size == size && r.error.empty()) return &r;
    return nullptr;
  };
  const Row* udp = find("udp-sendto", lk::bench::kUdpDatagramBytes);
  for (size_t size : sizes) {
    const Row* ours = find("ours->ours", size);
    const Row* wrtc = find("wrtc->wrtc", size);
    if (ours && wrtc && wrtc->mb_per_s > 0) {
      std::printf("%zu B: ours->ours / wrtc->wrtc = %.2fx throughput, %.2fx CPU per GB;"
                  " ours->ours vs goal 250 MB/s = %.0f%%\n",
                  size, ours->mb_per_s / wrtc->mb_per_s,
                  wrtc->cpu_s_per_gb > 0 ? ours->cpu_s_per_gb / wrtc->cpu_s_per_gb : 0, 100 * ours->mb_per_s / 250);
    }
    // The kernel's limit, measured in this run (goal: 0.85x for 16,000 B).
    if (ours && udp && udp->mb_per_s > 0)
      std::printf("%zu B: ours->ours / udp-sendto (one 1,200 B datagram a call) = %.2fx throughput\n", size,
                  ours->mb_per_s / udp->mb_per_s);
    // What one busy core a side would carry: steadier than MB/s on a loaded machine.
    if (ours && udp && cpu_bound_mb_per_s(*ours) > 0 && cpu_bound_mb_per_s(*udp) > 0)
      std::printf("%zu B: at one core a side ours->ours would carry %.0f MB/s, udp-sendto %.0f MB/s (%.2fx)\n", size,
                  cpu_bound_mb_per_s(*ours), cpu_bound_mb_per_s(*udp),
                  cpu_bound_mb_per_s(*ours) / cpu_bound_mb_per_s(*udp));
    // Every other pairing against ours->ours of the same run (the machine is
    // shared and noisy: compare rows of one run, not across runs).
    if (ours && ours->mb_per_s > 0) {
      std::string line;
      for (const Row& r : rows) {
        if (r.size != size || r.pair == "ours->ours" || r.pair.starts_with("udp") || !r.error.empty()) continue;
        char part[64];
        std::snprintf(part, sizeof part, "%s%s %.2fx", line.empty() ? "" : ", ", r.pair.c_str(),
                      r.mb_per_s / ours->mb_per_s);
        line += part;
      }
      if (!line.empty()) std::printf("%zu B throughput vs ours->ours: %s\n", size, line.c_str());
    }
  }
  g_main_context_pop_thread_default(context);
  g_main_context_unref(context);
  return failed ? 1 : 0;
}
