// Plays the signalling server between our PeerConnection and a remote peer
// process (libwebrtc in Node or pion in Go, both speaking peer.mjs's JSON
// lines): relays SDP (optionally rewritten, e.g. a tampered fingerprint) and
// trickled candidates both ways, answering the remote peer's offers.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "rtc/peer_connection.h"
#include "util/result.h"
#include "peer_process.h"

namespace lk::test {

using SdpFilter = std::function<std::string(const std::string& sdp)>;

class Signalling {
 public:
  // Takes over ours.on_local_candidate and remote.on_event (remote_event
  // still sees every event). Both must outlive this object.
  Signalling(lk::rtc::PeerConnection& ours, PeerProcess& remote);

  SdpFilter to_ours;     // applied to SDP the remote peer sends us
  SdpFilter to_remote;   // applied to SDP we send the remote peer
  std::function<void(const PeerEvent&)> remote_event;

  // We offer: creates our offer and hands it to the remote peer; the answer
  // comes back by itself through the relay.
  lk::Result<void> ours_offers();
  // The remote peer offers: asks it to; we answer when its offer arrives.
  lk::Result<void> remote_offers();

  // What failed while relaying (our set_remote_description, create_answer, ...).
  const std::vector<lk::Error>& errors() const { return errors_; }

 private:
  void on_remote_event(const PeerEvent& event);
  void fail(const std::string& step, const lk::Error& error);

  lk::rtc::PeerConnection& ours_;
  PeerProcess& remote_;
  std::vector<lk::Error> errors_;
};

// Replaces the first hex byte of every a=fingerprint line, so the DTLS
// certificate no longer matches what the SDP promises.
std::string tamper_fingerprint(const std::string& sdp);

}  // namespace lk::test
