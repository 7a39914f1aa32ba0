#include "peer_protocol.h"

#include <glib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <sstream>

namespace lk::bench {

namespace {

constexpr char kProbe[] = "lkt-probe";
constexpr size_t kProbeSize = sizeof kProbe - 1;
constexpr size_t kHeaderSize = 12;

void write_header(uint8_t* p, uint32_t seq, double sent_ms) {
  for (int i = 0; i < 4; i++) p[i] = static_cast<uint8_t>(seq >> (24 - 8 * i));
  uint64_t bits = 0;
  std::memcpy(&bits, &sent_ms, sizeof bits);
  for (int i = 0; i < 8; i++) p[4 + i] = static_cast<uint8_t>(bits >> (56 - 8 * i));
}

uint32_t read_seq(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

double read_sent_ms(const uint8_t* p) {
  uint64_t bits = 0;
  for (int i = 0; i < 8; i++) bits = (bits << 8) | p[4 + i];
  double ms = 0;
  std::memcpy(&ms, &bits, sizeof ms);
  return ms;
}

// Frames at RATE per second from the moment of the command (the send time is
// stamped when the frame is handed over, so a late frame counts from then).
void push_frames(const PushFn& push, size_t size, uint32_t count, double rate, const std::function<void()>& flush) {
  std::vector<uint8_t> frame(std::max(size, kHeaderSize));
  Fill fill;
  const double started = realtime_ms();
  for (uint32_t i = 0; i < count; i++) {
    if (rate > 0) {
      double wait = started + 1e3 * i / rate - realtime_ms();
      if (wait > 0) g_usleep(static_cast<gulong>(wait * 1e3));
    }
    const uint8_t* expected = fill.bytes_for(i, frame.size());
    std::memcpy(frame.data() + kHeaderSize, expected + kHeaderSize, frame.size() - kHeaderSize);
    write_header(frame.data(), i, realtime_ms());
    push(frame.data(), frame.size());
  }
  flush();
  char line[128];
  std::snprintf(line, sizeof line, "{\"ev\":\"pushed\",\"startedAt\":%.3f,\"endedAt\":%.3f}", started, realtime_ms());
  answer(line);
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return NAN;
  size_t i = static_cast<size_t>(std::ceil(p / 100 * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, i == 0 ? 0 : i - 1)];
}

// Calls `handle` with each stdin line's first word and the rest, until stdin ends.
void for_each_command(const std::function<void(const std::string&, std::istringstream&)>& handle) {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream words(line);
    std::string command;
    words >> command;
    handle(command, words);
  }
}

}  // namespace

Endpoint parse_endpoint(int argc, char** argv) {
  Endpoint e;
  e.role = argc > 1 ? argv[1] : "";
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string key = argv[i], value = argv[i + 1];
    if (key == "--room") e.room = value;
    else if (key == "--identity") e.identity = value;
    else if (key == "--track") e.track = value;
    else if (key == "--participant") e.participant = value;
  }
  if ((e.role != "send" && e.role != "recv") || e.room.empty() || e.identity.empty() || e.track.empty() ||
      (e.role == "recv" && e.participant.empty())) {
    std::fprintf(stderr, "usage: %s send|recv --room R --identity I --track T [--participant P]\n", argv[0]);
    std::exit(2);
  }
  return e;
}

double realtime_ms() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

void answer(const std::string& json) {
  std::printf("%s\n", json.c_str());
  std::fflush(stdout);
}

void fail(const std::string& message) {
  gchar* quoted = g_strescape(message.c_str(), nullptr);
  answer(std::string("{\"ev\":\"error\",\"message\":\"") + quoted + "\"}");
  g_free(quoted);
  std::exit(1);
}

void serve_sender(const PushFn& push, const std::function<void()>& flush) {
  auto flushed = [&flush] {
    if (flush) flush();
  };
  for_each_command([&](const std::string& command, std::istringstream& words) {
    if (command == "probe") {
      push(reinterpret_cast<const uint8_t*>(kProbe), kProbeSize);
      flushed();
      answer("{\"ev\":\"probed\"}");
    } else if (command == "push") {
      size_t size = 0;
      uint32_t count = 0;
      double rate = 0;
      words >> size >> count >> rate;
      push_frames(push, size, count, rate, flushed);
    } else {
      answer("{\"ev\":\"error\",\"message\":\"unknown command\"}");
    }
  });
}

const uint8_t* Fill::bytes_for(uint32_t seq, size_t size) {
  if (size != size_) {
    size_ = size;
    bytes_.resize(size + kModulus);
    for (size_t i = 0; i < bytes_.size(); i++) bytes_[i] = static_cast<uint8_t>((3 * (size % kModulus) + i) % kModulus);
  }
  return bytes_.data() + seq % kModulus;
}

void Arrivals::record(const uint8_t* data, size_t size) {
  const double now = realtime_ms();
  bool done = false;
  {
    std::lock_guard lock(mutex_);
    if (size == kProbeSize && std::memcmp(data, kProbe, kProbeSize) == 0) {
      probes_++;
    } else {
      received_++;
      bytes_ += size;
      if (size < kHeaderSize ||
          std::memcmp(data + kHeaderSize, fill_.bytes_for(read_seq(data), size) + kHeaderSize, size - kHeaderSize) != 0) {
        corrupted_++;
      }
      last_at_ = now;
      if (size >= kHeaderSize) latencies_ms_.push_back(now - read_sent_ms(data));
      done = received_ == wanted_;
    }
  }
  // Only the last frame wakes collect(): a wake-up per frame would cost the
  // receiving thread a system call, and the mutex a waiter, at every frame.
  if (done) changed_.notify_all();
}

// Waits for COUNT frames, TIMEOUT ms in all, or IDLE ms without a new frame
// (from the last arrival's time, checked when the wait runs out).
void Arrivals::collect(uint64_t count, int timeout_ms, int idle_ms) {
  std::unique_lock lock(mutex_);
  wanted_ = count;
  const double started = realtime_ms();
  const double deadline = started + timeout_ms;
  while (received_ < count) {
    const double last_change = received_ ? std::max(last_at_, started) : started;
    const double until = std::min(deadline, last_change + idle_ms);
    const double now = realtime_ms();
    if (now >= until) break;
    changed_.wait_for(lock, std::chrono::microseconds(static_cast<int64_t>((until - now) * 1e3) + 1));
  }
  wanted_ = UINT64_MAX;
  std::vector<double> sorted = std::move(latencies_ms_);
  std::sort(sorted.begin(), sorted.end());
  // The latency quantiles 0, 1, ..., 99, 99.9 and 100 % (a CDF for the plot).
  std::string quantiles;
  for (int q = 0; q <= 101; q++) {
    double value = percentile(sorted, q == 100 ? 99.9 : q == 101 ? 100 : q);
    quantiles += (q ? "," : "") + (std::isnan(value) ? std::string("null") : std::to_string(value));
  }
  char line[256];
  std::snprintf(line, sizeof line,
                "{\"ev\":\"collected\",\"received\":%llu,\"bytes\":%llu,\"corrupted\":%llu,\"lastAt\":%.3f,",
                static_cast<unsigned long long>(received_), static_cast<unsigned long long>(bytes_),
                static_cast<unsigned long long>(corrupted_), last_at_);
  answer(std::string(line) + "\"latency\":[" + quantiles + "]}");
  received_ = bytes_ = corrupted_ = 0;
  latencies_ms_.clear();
}

void Arrivals::serve() {
  for_each_command([this](const std::string& command, std::istringstream& words) {
    if (command == "probes") {
      std::lock_guard lock(mutex_);
      answer("{\"ev\":\"probes\",\"count\":" + std::to_string(probes_) + "}");
    } else if (command == "collect") {
      uint64_t count = 0;
      int timeout_ms = 0, idle_ms = 0;
      words >> count >> timeout_ms >> idle_ms;
      collect(count, timeout_ms, idle_ms);
    } else {
      answer("{\"ev\":\"error\",\"message\":\"unknown command\"}");
    }
  });
}

}  // namespace lk::bench
