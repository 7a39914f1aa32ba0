// FrameGaps: frames that never showed up, counted from the gaps in frame
// numbers across the 16-bit wrap; late packets taken back, repeats ignored.
#include <gtest/gtest.h>

#include "datatrack/depacketizer.h"
#include "datatrack/frame_gaps.h"
#include "datatrack/packetizer.h"

namespace lk::datatrack {
namespace {

TEST(DatatrackFrameGaps, ConsecutiveFramesAndRepeatsMissNothing) {
  FrameGaps gaps;
  for (uint16_t n : {5, 5, 6, 7, 7, 7, 8}) gaps.see(n);
  EXPECT_EQ(gaps.missing(), 0u);
}

TEST(DatatrackFrameGaps, SkippedNumbersAreCounted) {
  FrameGaps gaps;
  for (uint16_t n : {0, 1, 4, 5, 9}) gaps.see(n);
  EXPECT_EQ(gaps.missing(), 5u);  // 2, 3, 6, 7, 8
}

TEST(DatatrackFrameGaps, TheWrapIsNoGap) {
  FrameGaps gaps;
  for (uint16_t n : {65534, 65535, 0, 1}) gaps.see(n);
  EXPECT_EQ(gaps.missing(), 0u);
  gaps.see(3);  // 2 missing
  gaps.see(0);  // behind, seen before: no change
  EXPECT_EQ(gaps.missing(), 1u);
}

TEST(DatatrackFrameGaps, AGapAcrossTheWrapIsCounted) {
  FrameGaps gaps;
  gaps.see(65530);
  gaps.see(2);  // 65531..65535, 0, 1
  EXPECT_EQ(gaps.missing(), 7u);
}

TEST(DatatrackFrameGaps, ALatePacketTakesItsFrameBackOnce) {
  FrameGaps gaps;
  for (uint16_t n : {10, 13}) gaps.see(n);
  EXPECT_EQ(gaps.missing(), 2u);
  gaps.see(11);
  gaps.see(11);  // its second packet
  EXPECT_EQ(gaps.missing(), 1u);
  gaps.see(9);  // before the first one seen: never counted
  EXPECT_EQ(gaps.missing(), 1u);
}

TEST(DatatrackFrameGaps, NumbersReusedAfterALapAreCountedAfresh) {
  FrameGaps gaps;
  gaps.see(0);
  gaps.see(2);  // 1 missing
  for (uint32_t n = 3; n <= 65536 + 4; ++n) {
    if (n != 65536 + 1) gaps.see(uint16_t(n));  // the next lap's 1 is missing again
  }
  EXPECT_EQ(gaps.missing(), 2u);
  gaps.see(1);  // late: the second lap's 1
  EXPECT_EQ(gaps.missing(), 1u);
}

// Through the depacketizer: a frame that lost every packet is missing, one
// that lost some is a drop; between them every frame is accounted for.
TEST(DatatrackFrameGaps, TheDepacketizerCountsFramesThatLostEveryPacket) {
  Packetizer packetizer(5, 0, [] { return uint64_t(0); });
  Depacketizer depacketizer;
  size_t delivered = 0;
  for (int f = 0; f < 10; ++f) {
    std::vector<std::vector<uint8_t>> packets;
    const std::vector<uint8_t> payload(f % 2 ? 100 : 20000, uint8_t(f));  // even frames: two packets
    auto done = packetizer.packetize(payload, {}, [&](std::span<const uint8_t> p) { packets.emplace_back(p.begin(), p.end()); });
    ASSERT_TRUE(done.ok());
    if (f == 3 || f == 4) continue;           // every packet lost
    if (f == 6) packets.erase(packets.begin());  // its Start lost
    for (const auto& p : packets) delivered += depacketizer.push(p).has_value();
  }
  EXPECT_EQ(delivered, 7u);
  EXPECT_EQ(depacketizer.missing_frames(), 2u);
  EXPECT_EQ(depacketizer.drops().total(), 1u);
}

}  // namespace
}  // namespace lk::datatrack
