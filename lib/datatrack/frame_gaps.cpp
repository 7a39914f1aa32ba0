#include "datatrack/frame_gaps.h"

namespace lk::datatrack {

void FrameGaps::see(uint16_t frame_number) {
  if (!newest_) {
    newest_ = frame_number;
    return;
  }
  const uint16_t ahead = uint16_t(frame_number - *newest_);  // serial arithmetic
  if (ahead == 0) return;  // another packet of the newest frame
  if (ahead < 0x8000) {
    for (uint16_t n = uint16_t(*newest_ + 1); n != frame_number; ++n) skipped_.set(n);
    skipped_.reset(frame_number);
    missing_ += ahead - 1u;
    newest_ = frame_number;
  } else if (skipped_.test(frame_number)) {  // behind: a late packet of a frame counted missing
    skipped_.reset(frame_number);
    --missing_;
  }
}

}  // namespace lk::datatrack
