// RemoteTracks: what each participant list from the server means for the
// data tracks we can subscribe to (docs/protocol.md §9).
#include "room/remote_tracks.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lk::room {
namespace {

using Kind = TrackChange::Kind;

struct Track {
  std::string sid, name;
};

livekit::ParticipantInfo participant(const std::string& identity, const std::string& sid, uint32_t version,
                                     std::vector<Track> tracks,
                                     livekit::ParticipantInfo::State state = livekit::ParticipantInfo::ACTIVE) {
  livekit::ParticipantInfo p;
  p.set_identity(identity);
  p.set_sid(sid);
  p.set_version(version);
  p.set_state(state);
  for (const auto& t : tracks) {
    auto* info = p.add_data_tracks();
    info->set_sid(t.sid);
    info->set_name(t.name);
  }
  return p;
}

google::protobuf::RepeatedPtrField<livekit::ParticipantInfo> list(std::vector<livekit::ParticipantInfo> ps) {
  google::protobuf::RepeatedPtrField<livekit::ParticipantInfo> out;
  for (auto& p : ps) *out.Add() = std::move(p);
  return out;
}

std::vector<std::pair<Kind, std::string>> summary(const std::vector<TrackChange>& changes) {
  std::vector<std::pair<Kind, std::string>> out;
  for (const auto& c : changes) out.emplace_back(c.kind, c.track.info.sid());
  return out;
}

struct Step {
  const char* what;
  std::vector<livekit::ParticipantInfo> update;
  std::vector<std::pair<Kind, std::string>> expected;
};

TEST(RemoteTracks, EachUpdateYieldsTheChangesItMeans) {
  // One table, applied in order to one RemoteTracks, as a server would send them.
  const std::vector<Step> steps = {
      {"a participant with a track", {participant("alice", "PA_1", 1, {{"DTR_a", "t"}})}, {{Kind::Published, "DTR_a"}}},
      {"the same list again", {participant("alice", "PA_1", 2, {{"DTR_a", "t"}})}, {}},
      {"a second track", {participant("alice", "PA_1", 3, {{"DTR_a", "t"}, {"DTR_b", "u"}})},
       {{Kind::Published, "DTR_b"}}},
      {"an older version is ignored", {participant("alice", "PA_1", 2, {})}, {}},
      {"a track missing from the list is unpublished", {participant("alice", "PA_1", 4, {{"DTR_b", "u"}})},
       {{Kind::Unpublished, "DTR_a"}}},
      {"our own identity is skipped", {participant("me", "PA_0", 1, {{"DTR_m", "t"}})}, {}},
      {"a rejoin (new sid) drops the old session's tracks",
       {participant("alice", "PA_2", 1, {{"DTR_c", "u"}})},
       {{Kind::PublisherLeft, "DTR_b"}, {Kind::Published, "DTR_c"}}},
      {"DISCONNECTED takes everything",
       {participant("alice", "PA_2", 2, {}, livekit::ParticipantInfo::DISCONNECTED)},
       {{Kind::PublisherLeft, "DTR_c"}}},
      {"an unknown participant leaving changes nothing",
       {participant("bob", "PA_3", 1, {}, livekit::ParticipantInfo::DISCONNECTED)}, {}},
  };
  RemoteTracks tracks("me");
  for (const auto& step : steps) {
    EXPECT_EQ(summary(tracks.apply(list(step.update))), step.expected) << step.what;
  }
  EXPECT_EQ(tracks.participant_count(), 0u);
}

TEST(RemoteTracks, FindsATrackByPublisherAndNameAndBySid) {
  RemoteTracks tracks("me");
  tracks.apply(list({participant("alice", "PA_1", 1, {{"DTR_a", "gps"}, {"DTR_b", "imu"}}),
                     participant("bob", "PA_2", 1, {{"DTR_c", "gps"}})}));
  const RemoteTrack* t = tracks.find("bob", "gps");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->info.sid(), "DTR_c");
  EXPECT_EQ(t->publisher_sid, "PA_2");
  EXPECT_EQ(tracks.find("alice", "nope"), nullptr);
  EXPECT_EQ(tracks.find("carol", "gps"), nullptr);
  ASSERT_NE(tracks.by_sid("DTR_b"), nullptr);
  EXPECT_EQ(tracks.by_sid("DTR_b")->publisher_identity, "alice");
  EXPECT_EQ(tracks.by_sid("DTR_x"), nullptr);
}

}  // namespace
}  // namespace lk::room
