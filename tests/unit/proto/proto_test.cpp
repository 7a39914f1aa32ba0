// Our proto/ schema as a C++ user sees it: the join-request wrapping, exact
// bytes for the data-track messages, presence of optional fields, unknown
// official fields kept, bad input refused.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <string>

#include "livekit_rtc.pb.h"

namespace {

using google::protobuf::util::MessageDifferencer;

std::string bytes(std::initializer_list<unsigned char> list) { return std::string(list.begin(), list.end()); }

livekit::JoinRequest sample_join_request() {
  livekit::JoinRequest join;
  auto* info = join.mutable_client_info();
  info->set_sdk(livekit::ClientInfo::CPP);
  info->set_version("0.1.0");
  info->set_protocol(17);
  info->set_client_protocol(2);
  join.mutable_connection_settings()->set_auto_subscribe(false);
  join.mutable_connection_settings()->set_auto_subscribe_data_track(false);
  (*join.mutable_participant_attributes())["role"] = "sensor";
  join.set_reconnect(true);
  join.set_reconnect_reason(livekit::RR_SIGNAL_DISCONNECTED);
  join.set_participant_sid("PA_self");
  return join;
}

TEST(ProtoJoinRequest, SurvivesWrappingUncompressed) {
  const livekit::JoinRequest join = sample_join_request();
  livekit::WrappedJoinRequest wrapped;
  wrapped.set_compression(livekit::WrappedJoinRequest::NONE);
  ASSERT_TRUE(join.SerializeToString(wrapped.mutable_join_request()));
  const std::string wire = wrapped.SerializeAsString();

  livekit::WrappedJoinRequest wrapped_back;
  ASSERT_TRUE(wrapped_back.ParseFromString(wire));
  EXPECT_EQ(wrapped_back.compression(), livekit::WrappedJoinRequest::NONE);
  livekit::JoinRequest join_back;
  ASSERT_TRUE(join_back.ParseFromString(wrapped_back.join_request()));
  std::string diff;
  MessageDifferencer differ;
  differ.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differ.Compare(join, join_back)) << diff;
  EXPECT_TRUE(join_back.connection_settings().has_auto_subscribe_data_track());
  EXPECT_EQ(join_back.participant_attributes().at("role"), "sensor");
}

TEST(ProtoJoinRequest, GzipFlagIsFieldOneValueOne) {
  livekit::WrappedJoinRequest wrapped;
  wrapped.set_compression(livekit::WrappedJoinRequest::GZIP);
  wrapped.set_join_request("z");
  EXPECT_EQ(wrapped.SerializeAsString(), bytes({0x08, 0x01, 0x12, 0x01, 'z'}));
}

TEST(ProtoSignalRequest, PublishDataTrackRequestHasExactBytes) {
  livekit::SignalRequest request;
  request.mutable_publish_data_track_request()->set_pub_handle(1);
  request.mutable_publish_data_track_request()->set_name("a");
  // field 19, length 5: { 1: varint 1, 2: "a" }
  EXPECT_EQ(request.SerializeAsString(), bytes({0x9a, 0x01, 0x05, 0x08, 0x01, 0x12, 0x01, 'a'}));
}

TEST(ProtoSignalRequest, PublishDataTrackRequestWithEveryFieldHasExactBytes) {
  livekit::SignalRequest request;
  auto* publish = request.mutable_publish_data_track_request();
  publish->set_pub_handle(300);
  publish->set_name("a");
  publish->set_encryption(livekit::Encryption::GCM);
  publish->mutable_frame_encoding()->set_well_known(livekit::DataTrackFrameEncoding::WELL_KNOWN_FRAME_ENCODING_CDR);
  publish->mutable_schema()->set_name("s");
  publish->mutable_schema()->mutable_encoding()->set_custom("x");
  // field 19, length 22: { 1: varint 300, 2: "a", 3: varint 1, 4 (length 2): { 1: varint 2 },
  //                        5 (length 8): { 1: "s", 2 (length 3): { 2: "x" } } }
  EXPECT_EQ(request.SerializeAsString(),
            bytes({0x9a, 0x01, 0x16, 0x08, 0xac, 0x02, 0x12, 0x01, 'a', 0x18, 0x01, 0x22, 0x02, 0x08, 0x02, 0x2a, 0x08,
                   0x0a, 0x01, 's', 0x12, 0x03, 0x12, 0x01, 'x'}));
}

TEST(ProtoSignalRequest, PingReqHasExactBytes) {
  livekit::SignalRequest request;
  request.mutable_ping_req()->set_timestamp(300);
  request.mutable_ping_req()->set_rtt(2);
  // field 16, length 5: { 1: varint 300, 2: varint 2 }
  EXPECT_EQ(request.SerializeAsString(), bytes({0x82, 0x01, 0x05, 0x08, 0xac, 0x02, 0x10, 0x02}));
}

TEST(ProtoSignalResponse, SubscriberHandlesMapDecodes) {
  // field 29 { 1: map entry { key 5, value { 3: "T" } } }
  const std::string wire = bytes({0xea, 0x01, 0x09, 0x0a, 0x07, 0x08, 0x05, 0x12, 0x03, 0x1a, 0x01, 'T'});
  livekit::SignalResponse response;
  ASSERT_TRUE(response.ParseFromString(wire));
  ASSERT_EQ(response.message_case(), livekit::SignalResponse::kDataTrackSubscriberHandles);
  const auto& handles = response.data_track_subscriber_handles().sub_handles();
  ASSERT_EQ(handles.size(), 1u);
  EXPECT_EQ(handles.at(5).track_sid(), "T");
}

TEST(ProtoSignalResponse, MemberWeDoNotDefineLeavesOneofEmpty) {
  // field 10 (speakers_changed, media only) with an empty body
  livekit::SignalResponse response;
  ASSERT_TRUE(response.ParseFromString(bytes({0x52, 0x00})));
  EXPECT_EQ(response.message_case(), livekit::SignalResponse::MESSAGE_NOT_SET);
}

TEST(ProtoParticipantInfo, KeepsOfficialFieldsWeOmitOnReencode) {
  // sid "P", then field 4 (media tracks, not in our schema) with 2 bytes
  const std::string wire = bytes({0x0a, 0x01, 'P', 0x22, 0x02, 'x', 'y'});
  livekit::ParticipantInfo info;
  ASSERT_TRUE(info.ParseFromString(wire));
  EXPECT_EQ(info.sid(), "P");
  EXPECT_EQ(info.SerializeAsString(), wire);
}

TEST(ProtoConnectionSettings, OptionalFalseIsSentAndUnsetIsNot) {
  livekit::ConnectionSettings settings;
  EXPECT_EQ(settings.SerializeAsString(), "");
  settings.set_auto_subscribe_data_track(false);
  EXPECT_EQ(settings.SerializeAsString(), bytes({0x28, 0x00}));
  livekit::ConnectionSettings back;
  ASSERT_TRUE(back.ParseFromString(settings.SerializeAsString()));
  EXPECT_TRUE(back.has_auto_subscribe_data_track());
  EXPECT_FALSE(back.auto_subscribe_data_track());
}

TEST(ProtoDecode, TruncatedInputIsRefused) {
  livekit::SignalRequest request;
  EXPECT_FALSE(request.ParseFromString(bytes({0x9a, 0x01, 0x05, 0x08})));
  livekit::SignalResponse response;
  EXPECT_FALSE(response.ParseFromString(bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})));
}

}  // namespace
