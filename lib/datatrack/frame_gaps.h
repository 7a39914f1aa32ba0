// Counts the frames of one track that never showed up: frame numbers skipped
// between the packets that did arrive (docs/protocol.md §7: +1 per frame,
// wrapping at 2^16). A frame that lost every packet leaves no other trace.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>

namespace lk::datatrack {

class FrameGaps {
 public:
  // Every packet's frame number, in arrival order.
  void see(uint16_t frame_number);
  // Numbers skipped so far. One whose packet arrives late (the channel does
  // not order) is taken back. Frames after the newest one seen are not known.
  uint64_t missing() const { return missing_; }

 private:
  std::optional<uint16_t> newest_;
  // Numbers counted missing, valid for the half of the range behind newest_
  // (every advance rewrites the numbers it passes).
  std::bitset<65536> skipped_;
  uint64_t missing_ = 0;
};

}  // namespace lk::datatrack
