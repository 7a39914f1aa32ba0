// The command protocol and frame layout shared by bench/e2e's peers
// (gst_peer.cpp: our elements; room_peer.cpp: lib/room alone; pion_lk/, in Go:
// the server's own stack), driven by bench/e2e/e2e.mjs: one command per stdin
// line, one JSON answer per stdout line.
//   sender:   probe                      -> {"ev":"probed"}
//             push SIZE COUNT RATE       -> {"ev":"pushed","startedAt":ms,"endedAt":ms}
//                                           (RATE frames/s, 0: as fast as the sender takes them)
//   receiver: probes                     -> {"ev":"probes","count":N}
//             collect COUNT TIMEOUT IDLE -> {"ev":"collected","received":N,"bytes":B,"corrupted":C,"lastAt":ms,
//                                            "latency":[the 0, 1, ..., 99, 99.9, 100 % quantiles, ms]},
//                                            then forgets them
// A failure prints {"ev":"error","message":...} and exits 1; stdin EOF ends a peer.
//
// Frame layout (also pushTimed in tests/interop/browser/lib/client-page.js):
// bytes 0-3 a big-endian sequence number, bytes 4-11 the send time as a
// big-endian IEEE double in ms since the Unix epoch (CLOCK_REALTIME: every
// process runs on one machine, so one clock), then byte k (k >= 12) is
// (sequence + 3 * (size % 251) + k) % 251: a receiver counts a frame that
// differs as corrupted. The probe frame is the 9 bytes
// "lkt-probe" (as tests/interop/browser's pages use).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace lk::bench {

struct Endpoint {
  std::string role;  // send or recv
  std::string room, identity, track, participant;  // participant: the publisher (recv)
};

// `NAME send|recv --room R --identity I --track T [--participant P]`; exits 2 with the usage.
Endpoint parse_endpoint(int argc, char** argv);

double realtime_ms();
void answer(const std::string& json);
[[noreturn]] void fail(const std::string& message);

using PushFn = std::function<void(const uint8_t* bytes, size_t size)>;
// The sender's commands until stdin ends; `push` hands one frame over (blocking under back-pressure),
// `flush` (when set) sends what `push` held back, at the end of each command.
void serve_sender(const PushFn& push, const std::function<void()>& flush = {});

// The bytes of a frame after its header (the layout above): byte k of frame
// `seq` is bytes_for(seq, size)[k]. Made once per size, so filling and
// checking a frame are a memcpy and a memcmp.
class Fill {
 public:
  const uint8_t* bytes_for(uint32_t seq, size_t size);

 private:
  static constexpr size_t kModulus = 251;  // prime: a frame cut short by whole packets does not match
  size_t size_ = SIZE_MAX;
  std::vector<uint8_t> bytes_;
};

// What has arrived since the last collect (recorded by the receiving thread).
class Arrivals {
 public:
  void record(const uint8_t* data, size_t size);
  // The receiver's commands until stdin ends.
  void serve();

 private:
  void collect(uint64_t count, int timeout_ms, int idle_ms);

  std::mutex mutex_;
  std::condition_variable changed_;
  uint64_t probes_ = 0, received_ = 0, bytes_ = 0, corrupted_ = 0;
  uint64_t wanted_ = UINT64_MAX;  // the count collect() waits for
  double last_at_ = 0;
  std::vector<double> latencies_ms_;
  Fill fill_;
};

}  // namespace lk::bench
