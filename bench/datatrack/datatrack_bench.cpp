// Packetize and depacketize throughput for 100 B, 16 KB and 1 MB frames, next
// to a plain memcpy of the same bytes (the floor both have to pay once).
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "datatrack/depacketizer.h"
#include "datatrack/packetizer.h"

using namespace lk::datatrack;
using Bytes = std::vector<uint8_t>;

namespace {

const int64_t kSizes[] = {100, 16 * 1024, 1024 * 1024};

Bytes frame_of(size_t size) {
  Bytes b(size);
  for (size_t i = 0; i < size; ++i) b[i] = uint8_t(i * 31);
  return b;
}

Extensions user_timestamp() {
  Extensions ext;
  ext.user_timestamp = 1234567;
  return ext;
}

void BM_Memcpy(benchmark::State& state) {
  const Bytes src = frame_of(size_t(state.range(0)));
  Bytes dst(src.size());
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), src.size());
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

void BM_Packetize(benchmark::State& state) {
  const Bytes frame = frame_of(size_t(state.range(0)));
  const Extensions ext = user_timestamp();
  Packetizer packetizer(1, 0, [] { return uint64_t(0); });
  size_t packets = 0;
  const Packetizer::PacketSink sink = [&](std::span<const uint8_t> p) {
    benchmark::DoNotOptimize(p.data());
    ++packets;
  };
  for (auto _ : state) {
    if (!packetizer.packetize(frame, ext, sink)) state.SkipWithError("packetize failed");
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
  state.counters["packets/frame"] = double(packets) / double(state.iterations());
}

void BM_Depacketize(benchmark::State& state) {
  const Bytes frame = frame_of(size_t(state.range(0)));
  std::vector<Bytes> packets;
  Packetizer packetizer(1, 0, [] { return uint64_t(0); });
  if (!packetizer.packetize(frame, user_timestamp(),
                            [&](std::span<const uint8_t> p) { packets.emplace_back(p.begin(), p.end()); })) {
    state.SkipWithError("packetize failed");
    return;
  }
  Depacketizer depacketizer;
  for (auto _ : state) {
    for (const Bytes& p : packets) {
      auto out = depacketizer.push(p);  // parse + reassemble; the last packet hands the frame out
      benchmark::DoNotOptimize(out);
    }
  }
  if (depacketizer.drops().total() != 0) state.SkipWithError("depacketizer dropped frames");
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

}  // namespace

BENCHMARK(BM_Memcpy)->ArgsProduct({{kSizes[0], kSizes[1], kSizes[2]}});
BENCHMARK(BM_Packetize)->ArgsProduct({{kSizes[0], kSizes[1], kSizes[2]}});
BENCHMARK(BM_Depacketize)->ArgsProduct({{kSizes[0], kSizes[1], kSizes[2]}});

BENCHMARK_MAIN();
