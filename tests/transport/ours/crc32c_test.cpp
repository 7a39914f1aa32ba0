// The SCTP checksum that lib/rtc computes itself (usrsctp has CRC offload on):
// the SSE4.2 path must agree with usrsctp's software code on every length
// and alignment, and both with the published CRC32c check value.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "rtc/sctp_crc32c.h"

using lk::rtc::sctp_crc32c;
using lk::rtc::sctp_crc32c_software;

TEST(SctpCrc32c, CheckValueOf123456789) {
  const char* text = "123456789";
  std::span<const uint8_t> data(reinterpret_cast<const uint8_t*>(text), 9);
  EXPECT_EQ(sctp_crc32c(data), 0xE3069283u);  // CRC-32C check value (little-endian host)
  EXPECT_EQ(sctp_crc32c_software(data), 0xE3069283u);
}

TEST(SctpCrc32c, FastPathEqualsUsrsctpForAllLengthsAndOffsets) {
  std::mt19937 rng(7);
  std::vector<uint8_t> buffer(1300);
  for (auto& b : buffer) b = static_cast<uint8_t>(rng());
  for (size_t offset = 0; offset < 8; ++offset)
    for (size_t length = 0; offset + length <= buffer.size(); ++length) {
      std::span<const uint8_t> data(buffer.data() + offset, length);
      ASSERT_EQ(sctp_crc32c(data), sctp_crc32c_software(data)) << "offset " << offset << " length " << length;
    }
}

TEST(SctpCrc32c, FillChecksumStoresTheValueOverTheZeroedField) {
  std::vector<uint8_t> packet(100);
  for (size_t i = 0; i < packet.size(); ++i) packet[i] = static_cast<uint8_t>(i * 31 + 1);
  lk::rtc::sctp_fill_checksum(packet);
  uint32_t stored;
  memcpy(&stored, packet.data() + 8, 4);
  std::vector<uint8_t> zeroed = packet;
  memset(zeroed.data() + 8, 0, 4);
  EXPECT_EQ(stored, sctp_crc32c_software(zeroed));
  EXPECT_NE(stored, 0u);

  std::vector<uint8_t> tiny = {1, 2, 3};  // shorter than a header: untouched
  lk::rtc::sctp_fill_checksum(tiny);
  EXPECT_EQ(tiny, (std::vector<uint8_t>{1, 2, 3}));
}
