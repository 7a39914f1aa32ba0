// SDP for data-only sessions (RFC 8841): parse a remote offer/answer from
// libwebrtc, pion or ourselves, and build our offer/answer. Pure code: no
// threads, no I/O. Bad SDP is an error value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace lk::rtc::sdp {

enum class Setup { ActPass, Active, Passive };
const char* to_string(Setup setup);

struct Fingerprint {
  std::string algorithm;  // lower case, e.g. "sha-256"
  std::string value;      // upper-case hex pairs joined by ':'
};

struct MediaSection {
  std::string kind;  // "application", "audio", "video", ...
  uint16_t port = 0;
  std::string proto;
  std::vector<std::string> formats;
  std::string mid;
};

// What we may send to a peer whose SDP has no a=max-message-size. RFC 8841
// says 65,536, but pion releases that advertise none read at most 65,535
// bytes per message (a bigger one closes the channel there), and pion v4
// itself assumes 65,535 for such a peer. docs/transport-notes.md has details.
inline constexpr size_t kUnadvertisedMaxMessageSize = 65535;

struct Description {
  std::vector<MediaSection> media;  // every m= line, in order
  size_t data_index = 0;            // index of the data-channel section in media
  std::string mid;                  // its mid ("" if the SDP has none)
  std::vector<std::string> bundle;  // mids of the BUNDLE group holding the data section
  std::string ice_ufrag, ice_pwd;
  bool ice_lite = false;
  Fingerprint fingerprint;
  Setup setup = Setup::ActPass;
  uint16_t sctp_port = 5000;
  size_t max_message_size = kUnadvertisedMaxMessageSize;  // when the attribute is absent
  std::vector<std::string> candidates;  // "candidate:..." lines that apply to the data section
  bool end_of_candidates = false;
};

// Fails with a message naming the missing/bad part (no data section, no
// ICE credentials, no fingerprint, ...).
lk::Result<Description> parse(std::string_view text);

struct LocalParams {
  std::string ice_ufrag, ice_pwd;
  Fingerprint fingerprint;
  Setup setup = Setup::ActPass;
  std::string mid = "0";
  uint16_t sctp_port = 5000;
  size_t max_message_size = 262144;
  std::vector<std::string> candidates;  // "candidate:..." to put inline
  bool end_of_candidates = false;
  uint64_t session_id = 0;
  uint64_t session_version = 1;
};

std::string build_offer(const LocalParams& local);
// Mirrors the offer's sections: the data section is answered with `local`
// (mid and proto from the offer), every other section is rejected (port 0).
std::string build_answer(const LocalParams& local, const Description& offer);

// "AB:CD:..." from raw digest bytes.
std::string format_fingerprint(std::span<const uint8_t> digest);

}  // namespace lk::rtc::sdp
