// Reassembles one subscribed track's packets into frames (docs/protocol.md §7),
// behaving like the official depacketizer: no reordering across frames, no
// timeouts; a frame with any packet missing is dropped, never delivered
// partly. Every drop is counted by reason, and frames that never showed up
// by the gaps in frame numbers.
#pragma once

#include <array>
#include <map>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "datatrack/frame_gaps.h"
#include "datatrack/packet.h"

namespace lk::datatrack {

struct Frame {
  std::vector<uint8_t> payload;
  Extensions extensions;  // from the Start (or Single) packet
  uint16_t frame_number = 0;
  uint32_t timestamp = 0;
};

enum class DropReason : uint8_t {
  Malformed,       // bytes failed to parse (push of raw bytes only)
  UnknownFrame,    // Inter/Final without an open frame: Start lost, frame evicted or already ended
  Interrupted,     // open frame evicted by a newer Start/Single at the partial-frame limit
  Incomplete,      // Final arrived with a packet of start..final missing
  TooManyPackets,  // more than 128 packets in one frame
  OversizedPacket,  // a packet of a multi-packet frame carries more than the 16,000-byte packet limit
};
inline constexpr size_t kDropReasonCount = 6;
std::string_view to_string(DropReason reason);

struct DropCounts {
  std::array<uint64_t, kDropReasonCount> by_reason{};
  uint64_t operator[](DropReason r) const { return by_reason[size_t(r)]; }
  uint64_t total() const;
};

class Depacketizer {
 public:
  // `max_partial_frames` frames may be open at once (at least 1, the official default).
  explicit Depacketizer(size_t max_partial_frames = 1);

  // Returns the frame this packet completes, if any.
  std::optional<Frame> push(const PacketView& packet);
  std::optional<Frame> push(std::span<const uint8_t> packet_bytes);

  const DropCounts& drops() const { return drops_; }
  // Frames none of whose packets arrived (counted in no drop reason).
  uint64_t missing_frames() const { return gaps_.missing(); }
  size_t open_frames() const { return partials_.size(); }
  void reset() { partials_.clear(); }  // forget open frames, keep counts

 private:
  // Packets may be split any way (other SDKs packetize on their own), so a
  // packet's offset is known only once every packet before it has arrived.
  // The in-order run from the Start is appended to `data` (each byte copied
  // once, the buffer handed out by move); a packet past a gap waits in
  // `ahead` (one more copy, when the gap fills). Nothing is allocated for
  // bytes not received, so memory stays within what the peer sent.
  struct Partial {
    uint16_t frame_number = 0;
    uint16_t start_sequence = 0;
    uint32_t timestamp = 0;
    Extensions extensions;
    std::vector<uint8_t> data;                     // packets 0 .. ends.size()-1, in order
    std::vector<size_t> ends;                      // end offset of each packet in data
    std::map<size_t, std::vector<uint8_t>> ahead;  // by index, past the first gap
  };

  std::optional<Frame> deliver_single(const PacketView& packet);
  void open_partial(const PacketView& packet);
  std::optional<Frame> add_to_partial(const PacketView& packet);
  void evict_for_new_frame();
  static void put(Partial& p, size_t index, std::span<const uint8_t> payload);
  void drop(DropReason reason) { ++drops_.by_reason[size_t(reason)]; }

  size_t max_partial_frames_;
  std::vector<Partial> partials_;  // oldest first
  size_t size_hint_ = 0;           // last multi-packet frame's size: reserve that much up front
  DropCounts drops_;
  FrameGaps gaps_;
};

}  // namespace lk::datatrack
