// Server messages and data-track packets as livekit-server shapes them
// (docs/protocol.md §9), for driving lib/room's OfflineRoom from tests and
// fuzzers without a server.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "datatrack/packetizer.h"
#include "livekit_rtc.pb.h"

namespace lk::test {

struct DataTrackOf {
  std::string sid, name;
};

inline livekit::ParticipantInfo participant(const std::string& identity, uint32_t version,
                                            const std::vector<DataTrackOf>& tracks,
                                            livekit::ParticipantInfo::State state = livekit::ParticipantInfo::ACTIVE) {
  livekit::ParticipantInfo p;
  p.set_identity(identity);
  p.set_sid("PA_" + identity);
  p.set_version(version);
  p.set_state(state);
  for (const auto& t : tracks) {
    auto* info = p.add_data_tracks();
    info->set_sid(t.sid);
    info->set_name(t.name);
    info->set_pub_handle(1);
  }
  return p;
}

inline livekit::SignalResponse join_response(const std::string& self,
                                             const std::vector<livekit::ParticipantInfo>& others) {
  livekit::SignalResponse r;
  auto* join = r.mutable_join();
  join->mutable_room()->set_name("room");
  *join->mutable_participant() = participant(self, 1, {});
  for (const auto& o : others) *join->add_other_participants() = o;
  join->mutable_server_info()->set_version("offline");
  return r;
}

inline livekit::SignalResponse participant_update(const std::vector<livekit::ParticipantInfo>& infos) {
  livekit::SignalResponse r;
  for (const auto& p : infos) *r.mutable_update()->add_participants() = p;
  return r;
}

// The full snapshot of our subscriptions: subscriber handle -> track sid.
inline livekit::SignalResponse subscriber_handles(const std::map<uint32_t, std::string>& handles) {
  livekit::SignalResponse r;
  auto* map = r.mutable_data_track_subscriber_handles()->mutable_sub_handles();
  for (const auto& [handle, sid] : handles) (*map)[handle].set_track_sid(sid);
  return r;
}

// The track sids the room asked to subscribe to in these requests.
inline std::vector<std::string> subscribed_sids(const std::vector<livekit::SignalRequest>& sent) {
  std::vector<std::string> sids;
  for (const auto& request : sent) {
    if (!request.has_update_data_subscription()) continue;
    for (const auto& u : request.update_data_subscription().updates()) {
      if (u.subscribe()) sids.push_back(u.track_sid());
    }
  }
  return sids;
}

// The packets of one frame on `handle`, as the server forwards them.
inline std::vector<std::vector<uint8_t>> packets_of(uint16_t handle, const std::vector<uint8_t>& payload) {
  datatrack::Packetizer packetizer(handle, 1000, [] { return uint64_t(0); });
  std::vector<std::vector<uint8_t>> packets;
  auto done = packetizer.packetize(payload, {}, [&](std::span<const uint8_t> p) { packets.emplace_back(p.begin(), p.end()); });
  if (!done) packets.clear();
  return packets;
}

}  // namespace lk::test
