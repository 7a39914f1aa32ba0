// ICE candidates in LiveKit's TrickleRequest.candidateInit: the JSON of a
// browser RTCIceCandidateInit, {"candidate", "sdpMid", "sdpMLineIndex",
// "usernameFragment"} (docs/protocol.md, "Signalling"). Pure: no I/O.
#pragma once

#include <string>
#include <string_view>

#include "util/result.h"

namespace lk::room {

struct TrickleCandidate {
  std::string candidate;  // "candidate:..." ("" = end of candidates)
  std::string mid;
};

std::string encode_candidate_init(const TrickleCandidate& candidate, int mline_index);
lk::Result<TrickleCandidate> decode_candidate_init(std::string_view json);

}  // namespace lk::room
