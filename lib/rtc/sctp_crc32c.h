// SCTP's CRC32c (RFC 4960 appendix B) over a whole packet, with the SSE4.2
// crc32 instruction when the CPU has it, else usrsctp's software table code.
// usrsctp is told the checksum is offloaded so that it skips its own (slower)
// computation; the output callback then fills the field with this.
#pragma once

#include <cstdint>
#include <span>

namespace lk::rtc {

// The checksum as the 4 bytes to store at offset 8 of the SCTP common header
// (computed over the packet with that field zero).
uint32_t sctp_crc32c(std::span<const uint8_t> packet);
// Always the software path (tests compare the two).
uint32_t sctp_crc32c_software(std::span<const uint8_t> packet);

// Zeroes the checksum field of an SCTP packet and stores its CRC32c there.
// Packets shorter than the 12-byte common header are left alone.
void sctp_fill_checksum(std::span<uint8_t> packet);

}  // namespace lk::rtc
