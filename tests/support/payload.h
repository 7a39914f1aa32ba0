// Deterministic payloads, the same generator as tests/interop/wrtc/payload.mjs
// and tests/interop/pion/payload.go, so both sides of an interop test can
// check messages byte for byte.
#pragma once

#include <glib.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace lk::test {

// xorshift32 byte stream; seed 0 is replaced because xorshift never leaves 0.
inline std::vector<uint8_t> pattern(uint32_t seed, size_t size) {
  uint32_t s = seed ? seed : 0x9e3779b9u;
  std::vector<uint8_t> out(size);
  for (auto& byte : out) {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    byte = static_cast<uint8_t>(s & 0xff);
  }
  return out;
}

inline std::string sha256_hex(std::span<const uint8_t> bytes) {
  gchar* hex = g_compute_checksum_for_data(G_CHECKSUM_SHA256, bytes.data(), bytes.size());
  std::string result(hex);
  g_free(hex);
  return result;
}

// Burst messages carry their index big-endian in the first four bytes.
inline uint32_t burst_index(std::span<const uint8_t> bytes) {
  if (bytes.size() < 4) return UINT32_MAX;
  return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) | bytes[3];
}

inline void stamp_burst_index(std::vector<uint8_t>& bytes, uint32_t index) {
  if (bytes.size() < 4) return;
  bytes[0] = static_cast<uint8_t>(index >> 24);
  bytes[1] = static_cast<uint8_t>(index >> 16);
  bytes[2] = static_cast<uint8_t>(index >> 8);
  bytes[3] = static_cast<uint8_t>(index);
}

}  // namespace lk::test
