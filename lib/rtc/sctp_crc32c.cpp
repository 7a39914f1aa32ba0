#include "rtc/sctp_crc32c.h"

#include <usrsctp.h>

#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace lk::rtc {
namespace {

constexpr size_t kChecksumOffset = 8;
constexpr size_t kCommonHeaderBytes = 12;

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t crc32c_sse42(const uint8_t* p, size_t n) {
  uint64_t crc = 0xffffffffu;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t word;
    memcpy(&word, p, 8);
    crc = _mm_crc32_u64(crc, word);
  }
  auto crc32 = static_cast<uint32_t>(crc);
  for (; n > 0; ++p, --n) crc32 = _mm_crc32_u8(crc32, *p);
  // Same byte order as usrsctp's result (little-endian hosts only here).
  return ~crc32;
}

bool have_sse42() {
  static const bool have = __builtin_cpu_supports("sse4.2");
  return have;
}
#endif

}  // namespace

uint32_t sctp_crc32c_software(std::span<const uint8_t> packet) {
  return usrsctp_crc32c(const_cast<uint8_t*>(packet.data()), packet.size());
}

uint32_t sctp_crc32c(std::span<const uint8_t> packet) {
#if defined(__x86_64__)
  if (have_sse42()) return crc32c_sse42(packet.data(), packet.size());
#endif
  return sctp_crc32c_software(packet);
}

void sctp_fill_checksum(std::span<uint8_t> packet) {
  if (packet.size() < kCommonHeaderBytes) return;
  memset(packet.data() + kChecksumOffset, 0, 4);
  uint32_t crc = sctp_crc32c(packet);
  memcpy(packet.data() + kChecksumOffset, &crc, 4);
}

}  // namespace lk::rtc
