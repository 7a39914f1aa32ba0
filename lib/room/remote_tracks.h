// The data tracks other participants publish, as the server describes them in
// JoinResponse.other_participants and every ParticipantUpdate
// (docs/protocol.md, "Discovery"): per listed participant the list of tracks
// is complete, a DISCONNECTED participant has none left, and an info older
// than the last one seen (ParticipantInfo.version) is ignored.
// Pure: no threads, no I/O.
#pragma once

#include <google/protobuf/repeated_ptr_field.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "livekit_models.pb.h"

namespace lk::room {

struct RemoteTrack {
  std::string publisher_identity;
  std::string publisher_sid;
  livekit::DataTrackInfo info;
};

struct TrackChange {
  enum class Kind { Published, Unpublished, PublisherLeft };
  Kind kind;
  RemoteTrack track;
};

class RemoteTracks {
 public:
  explicit RemoteTracks(std::string local_identity) : local_identity_(std::move(local_identity)) {}

  // Applies participant infos; returns what changed, in order.
  std::vector<TrackChange> apply(const google::protobuf::RepeatedPtrField<livekit::ParticipantInfo>& infos);

  const RemoteTrack* find(std::string_view identity, std::string_view name) const;
  const RemoteTrack* by_sid(std::string_view sid) const;
  size_t participant_count() const { return participants_.size(); }

 private:
  struct Participant {
    std::string sid;
    uint32_t version = 0;
    std::map<std::string, RemoteTrack> tracks;  // by track sid
  };

  std::string local_identity_;
  std::map<std::string, Participant, std::less<>> participants_;  // by identity
};

}  // namespace lk::room
