#include "room/remote_tracks.h"

namespace lk::room {

std::vector<TrackChange> RemoteTracks::apply(
    const google::protobuf::RepeatedPtrField<livekit::ParticipantInfo>& infos) {
  std::vector<TrackChange> changes;
  for (const auto& info : infos) {
    if (info.identity() == local_identity_) continue;
    auto it = participants_.find(info.identity());
    const bool gone = info.state() == livekit::ParticipantInfo::DISCONNECTED;
    if (it != participants_.end() && it->second.sid == info.sid() && info.version() != 0 &&
        info.version() < it->second.version) {
      continue;  // stale: an older view of the same session
    }
    if (gone) {
      if (it == participants_.end()) continue;
      for (auto& [sid, track] : it->second.tracks) {
        changes.push_back({TrackChange::Kind::PublisherLeft, std::move(track)});
      }
      participants_.erase(it);
      continue;
    }
    if (it == participants_.end()) it = participants_.emplace(info.identity(), Participant{}).first;
    Participant& p = it->second;
    // A new session of the same identity (a rejoin) starts from nothing.
    if (!p.sid.empty() && p.sid != info.sid()) {
      for (auto& [sid, track] : p.tracks) changes.push_back({TrackChange::Kind::PublisherLeft, std::move(track)});
      p.tracks.clear();
    }
    p.sid = info.sid();
    p.version = info.version();

    std::map<std::string, RemoteTrack> now;
    for (const auto& t : info.data_tracks()) {
      now[t.sid()] = RemoteTrack{info.identity(), info.sid(), t};
    }
    for (auto& [sid, track] : p.tracks) {
      if (!now.count(sid)) changes.push_back({TrackChange::Kind::Unpublished, std::move(track)});
    }
    for (const auto& [sid, track] : now) {
      if (!p.tracks.count(sid)) changes.push_back({TrackChange::Kind::Published, track});
    }
    p.tracks = std::move(now);
  }
  return changes;
}

const RemoteTrack* RemoteTracks::find(std::string_view identity, std::string_view name) const {
  auto it = participants_.find(identity);
  if (it == participants_.end()) return nullptr;
  for (const auto& [sid, track] : it->second.tracks) {
    if (track.info.name() == name) return &track;
  }
  return nullptr;
}

const RemoteTrack* RemoteTracks::by_sid(std::string_view sid) const {
  for (const auto& [identity, p] : participants_) {
    auto it = p.tracks.find(std::string(sid));
    if (it != p.tracks.end()) return &it->second;
  }
  return nullptr;
}

}  // namespace lk::room
