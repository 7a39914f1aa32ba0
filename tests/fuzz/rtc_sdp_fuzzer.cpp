// libFuzzer: the SDP parser on arbitrary text (a remote peer controls it).
// Beyond not crashing: an accepted offer must yield an answer that parses
// again with the same data section and ICE credentials we put in.
#include <cstdlib>
#include <string_view>

#include "rtc/sdp.h"

using namespace lk::rtc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto offer = sdp::parse(text);
  if (!offer) return 0;
  if (offer->data_index >= offer->media.size()) std::abort();

  sdp::LocalParams local;
  local.ice_ufrag = "fuzz";
  local.ice_pwd = "fuzzfuzzfuzzfuzzfuzzfuzz";
  local.fingerprint = {"sha-256", "AB:CD"};
  local.setup = sdp::Setup::Active;
  auto answer = sdp::parse(sdp::build_answer(local, *offer));
  if (!answer || answer->ice_ufrag != local.ice_ufrag || answer->media.size() != offer->media.size() ||
      answer->data_index != offer->data_index)
    std::abort();
  return 0;
}
