// What a hostile sender can make the depacketizer allocate: every operator
// new of this test binary is counted, and the depacketizer may allocate
// about what it was sent, never a multiple of it.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "datatrack/depacketizer.h"

namespace {
std::atomic<size_t> g_allocated{0};
}  // namespace

void* operator new(size_t n) {
  g_allocated += n;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace lk::datatrack {
namespace {

std::vector<uint8_t> packet(Marker marker, uint16_t seq, size_t payload) {
  Header h;
  h.marker = marker;
  h.handle = 5;
  h.sequence = seq;
  h.frame_number = 1;
  std::vector<uint8_t> out(header_size(h.extensions));
  EXPECT_TRUE(write_header(h, out).ok());
  out.resize(out.size() + payload, 0x5a);
  return out;
}

// A Start, then packets 127 sequence numbers on (an Inter, then an empty
// Final): 2 chunks sent. Placing bytes by index before checking
// completeness used to allocate 127 chunks (about 2 MB) for them.
TEST(DatatrackDepacketizerMemory, PacketsFarPastAGapCostOnlyTheirOwnBytes) {
  constexpr size_t kChunk = 15988;
  Depacketizer d;
  auto start = packet(Marker::Start, 0, kChunk), far = packet(Marker::Inter, 126, kChunk),
       final = packet(Marker::Final, 127, 0);
  size_t before = g_allocated;
  EXPECT_FALSE(d.push(start));
  EXPECT_FALSE(d.push(far));
  EXPECT_FALSE(d.push(final));
  size_t allocated = g_allocated - before;
  printf("allocated %zu bytes for %zu bytes sent\n", allocated, 2 * kChunk);
  EXPECT_LE(allocated, 3 * kChunk);
  EXPECT_EQ(d.drops()[DropReason::Incomplete], 1u);
}

}  // namespace
}  // namespace lk::datatrack
