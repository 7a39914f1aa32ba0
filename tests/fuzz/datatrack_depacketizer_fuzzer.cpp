// libFuzzer: the depacketizer. Input byte 0 picks a mode:
//  even: the rest is raw packets, each prefixed by a 16-bit length: must not
//        crash, hang or deliver frames larger than 128 packets allow;
//  odd:  the rest describes frames the real packetizer splits, then lost,
//        duplicated and reordered packets: every frame delivered must be one
//        of the frames sent, byte for byte (never partial or mixed).
#include <algorithm>
#include <cstdlib>
#include <vector>

#include "datatrack/depacketizer.h"
#include "datatrack/packetizer.h"

using namespace lk::datatrack;
using Bytes = std::vector<uint8_t>;

namespace {

class Input {
 public:
  Input(const uint8_t* d, size_t n) : d_(d), n_(n) {}
  bool empty() const { return i_ >= n_; }
  uint8_t byte() { return i_ < n_ ? d_[i_++] : 0; }
  uint16_t u16() { return uint16_t(byte() << 8 | byte()); }
  std::span<const uint8_t> take(size_t n) {
    n = std::min(n, n_ - std::min(i_, n_));
    auto s = std::span(d_ + i_, n);
    i_ += n;
    return s;
  }

 private:
  const uint8_t* d_;
  size_t n_, i_ = 0;
};

void raw_packets(Input& in, Depacketizer& d) {
  while (!in.empty()) {
    auto frame = d.push(in.take(in.u16()));
    if (frame && frame->payload.size() > kMaxPacketsPerFrame * Packetizer::kMaxPacketSize) std::abort();
  }
}

void perturbed_frames(Input& in, Depacketizer& d) {
  std::vector<Bytes> frames;
  std::vector<Bytes> packets;
  Packetizer packetizer(9, in.u16(), [] { return uint64_t(0); });
  const size_t count = 1 + in.byte() % 6;
  for (size_t f = 0; f < count; ++f) {
    const size_t size = (size_t(in.u16()) * 3) % (4 * Packetizer::kMaxPacketSize);  // up to 4 packets
    const uint8_t seed = in.byte();
    Bytes payload(size, uint8_t(seed + f));
    for (size_t i = 0; i < size; i += 997) payload[i] = uint8_t(i >> 3);  // a misplaced packet shows
    Extensions ext;
    if (seed & 1) ext.user_timestamp = seed;
    if (seed & 2) ext.e2ee = E2eeExtension{seed, {}};
    if (!packetizer.packetize(payload, ext, [&](std::span<const uint8_t> p) { packets.emplace_back(p.begin(), p.end()); }))
      std::abort();
    frames.push_back(std::move(payload));
  }
  // Each remaining byte edits the packet list: drop, duplicate or swap with the next.
  while (!in.empty() && !packets.empty()) {
    const uint8_t op = in.byte();
    const size_t at = in.byte() % packets.size();
    switch (op % 3) {
      case 0: packets.erase(packets.begin() + at); break;
      case 1: packets.insert(packets.begin() + at, packets[at]); break;
      case 2: if (at + 1 < packets.size()) std::swap(packets[at], packets[at + 1]); break;
    }
  }
  for (const Bytes& p : packets) {
    auto frame = d.push(p);
    if (frame && std::find(frames.begin(), frames.end(), frame->payload) == frames.end()) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  const uint8_t mode = in.byte();
  Depacketizer d(1 + (mode >> 1) % 3);
  if (mode % 2 == 0) {
    raw_packets(in, d);
  } else {
    perturbed_frames(in, d);
  }
  return 0;
}
