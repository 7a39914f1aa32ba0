// libFuzzer: DCEP DATA_CHANNEL_OPEN decoding on arbitrary bytes (sent by the
// remote peer). An accepted message must re-encode to one that decodes equal.
#include <cstdlib>

#include "rtc/dcep.h"

using namespace lk::rtc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)dcep::is_ack({data, size});
  auto open = dcep::decode_open({data, size});
  if (!open) return 0;
  auto again = dcep::decode_open(dcep::encode(*open));
  if (!again || again->channel_type != open->channel_type || again->priority != open->priority ||
      again->reliability != open->reliability || again->label != open->label ||
      again->protocol != open->protocol)
    std::abort();
  return 0;
}
