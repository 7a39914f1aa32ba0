#include "signalling.h"

#include <utility>

namespace lk::test {

Signalling::Signalling(lk::rtc::PeerConnection& ours, PeerProcess& remote) : ours_(ours), remote_(remote) {
  ours_.on_local_candidate = [this](const std::string& candidate, const std::string& mid) {
    auto sent = remote_.send(Command("candidate").set("candidate", candidate).set("sdpMid", mid));
    if (!sent.ok()) fail("relaying our candidate", sent.error());
  };
  remote_.on_event = [this](const PeerEvent& event) { on_remote_event(event); };
}

void Signalling::fail(const std::string& step, const lk::Error& error) {
  errors_.push_back(lk::make_error(error.kind, step + ": " + error.message));
}

lk::Result<void> Signalling::ours_offers() {
  auto offer = ours_.create_offer();
  if (!offer.ok()) return offer.error();
  std::string sdp = to_remote ? to_remote(offer.value()) : offer.value();
  return remote_.send(Command("setRemote").set("type", "offer").set("sdp", sdp));
}

lk::Result<void> Signalling::remote_offers() {
  return remote_.send(Command("createOffer"));
}

void Signalling::on_remote_event(const PeerEvent& event) {
  if (event.type() == "candidate") {
    std::string candidate = event.str("candidate");
    if (candidate.empty()) {
      ours_.add_remote_end_of_candidates();
    } else if (auto added = ours_.add_remote_candidate(candidate, event.str("sdpMid")); !added.ok()) {
      fail("adding the peer's candidate", added.error());
    }
  } else if (event.type() == "sdp") {
    std::string type = event.str("type");
    std::string sdp = to_ours ? to_ours(event.str("sdp")) : event.str("sdp");
    if (auto set = ours_.set_remote_description(type, sdp); !set.ok()) {
      fail("setting the peer's " + type, set.error());
    } else if (type == "offer") {
      auto answer = ours_.create_answer();
      if (!answer.ok()) {
        fail("creating our answer", answer.error());
      } else {
        std::string out = to_remote ? to_remote(answer.value()) : answer.value();
        auto sent = remote_.send(Command("setRemote").set("type", "answer").set("sdp", out));
        if (!sent.ok()) fail("sending our answer", sent.error());
      }
    }
  }
  if (remote_event) remote_event(event);
}

std::string tamper_fingerprint(const std::string& sdp) {
  std::string out = sdp;
  const std::string key = "a=fingerprint:";
  for (size_t at = out.find(key); at != std::string::npos; at = out.find(key, at + 1)) {
    size_t space = out.find(' ', at);  // "a=fingerprint:sha-256 AB:CD:..."
    if (space == std::string::npos || space + 2 >= out.size()) break;
    char& first = out[space + 1];
    first = first == '0' ? '1' : '0';
  }
  return out;
}

}  // namespace lk::test
