// Splits frames into data-track packets the way the official clients do
// (docs/protocol.md §7): at most 16,000 bytes per packet including the header.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "datatrack/packet.h"
#include "util/result.h"

namespace lk::datatrack {

class Packetizer {
 public:
  static constexpr size_t kMaxPacketSize = 16000;

  using Clock = std::function<uint64_t()>;  // monotonic time in nanoseconds
  using PacketSink = std::function<void(std::span<const uint8_t> packet)>;

  // `timestamp_base` is the 90 kHz timestamp at the clock's current time.
  Packetizer(uint16_t handle, uint32_t timestamp_base, Clock clock);
  // Random timestamp base and the steady clock, as the official clients use.
  static Packetizer with_system_clock(uint16_t handle);

  // Hands each packet of the frame to `sink` in order (the bytes are valid
  // only during the call). Every packet carries the same frame number,
  // timestamp and extensions. An empty frame yields no packets but uses up a
  // frame number, as in the official client. A frame needing more than 128
  // packets, or handle 0, is refused before anything is emitted or counted.
  Result<void> packetize(std::span<const uint8_t> payload, const Extensions& extensions,
                         const PacketSink& sink);

  // Largest payload that fits in one frame with these extensions.
  static size_t max_frame_size(const Extensions& extensions);

  uint16_t next_sequence() const { return sequence_; }
  uint16_t next_frame_number() const { return frame_number_; }

 private:
  uint32_t sample_timestamp();

  uint16_t handle_;
  uint16_t sequence_ = 0;
  uint16_t frame_number_ = 0;
  uint32_t timestamp_base_;
  uint32_t last_timestamp_;
  Clock clock_;
  uint64_t epoch_ns_;
  std::vector<uint8_t> scratch_;  // one packet, reused for every packet
};

}  // namespace lk::datatrack
