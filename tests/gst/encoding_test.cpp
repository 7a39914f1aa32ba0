// The caps <-> frame-encoding table of the elements (gst/element_common.h),
// both directions, row by row, without a server or the plugin.
#include <gst/gst.h>
#include <gtest/gtest.h>

#include "element_common.h"

namespace {

using livekit::DataTrackFrameEncoding;
using livekit::DataTrackInfo;
using livekit::DataTrackSchemaEncoding;

struct Row {
  const char* media_type;
  DataTrackFrameEncoding::WellKnownFrameEncoding encoding;
};

// README "Frame encodings", written out again on purpose: a swapped row in
// the code must not be copied into the test.
const Row kRows[] = {
    {"application/json", DataTrackFrameEncoding::WELL_KNOWN_FRAME_ENCODING_JSON},
    {"application/x-protobuf", DataTrackFrameEncoding::WELL_KNOWN_FRAME_ENCODING_PROTOBUF},
    {"application/cbor", DataTrackFrameEncoding::WELL_KNOWN_FRAME_ENCODING_CBOR},
    {"application/x-msgpack", DataTrackFrameEncoding::WELL_KNOWN_FRAME_ENCODING_MSGPACK},
    {"application/x-ros1", DataTrackFrameEncoding::WELL_KNOWN_FRAME_ENCODING_ROS1},
    {"application/x-cdr", DataTrackFrameEncoding::WELL_KNOWN_FRAME_ENCODING_CDR},
    {"application/x-flatbuffers", DataTrackFrameEncoding::WELL_KNOWN_FRAME_ENCODING_FLATBUFFER},
};

GstCaps* caps(const char* text) { return gst_caps_from_string(text); }

std::string media_type(GstCaps* c) { return gst_structure_get_name(gst_caps_get_structure(c, 0)); }

TEST(EncodingTable, EachWellKnownMediaTypeGivesItsEncoding) {
  for (const Row& row : kRows) {
    GstCaps* c = caps(row.media_type);
    auto encoding = lkgst::encoding_for_caps(c, "");
    gst_caps_unref(c);
    ASSERT_TRUE(encoding) << row.media_type;
    EXPECT_EQ(encoding->value_case(), DataTrackFrameEncoding::kWellKnown) << row.media_type;
    EXPECT_EQ(encoding->well_known(), row.encoding) << row.media_type;
  }
}

TEST(EncodingTable, EachWellKnownEncodingGivesItsMediaType) {
  for (const Row& row : kRows) {
    DataTrackInfo info;
    info.mutable_frame_encoding()->set_well_known(row.encoding);
    GstCaps* c = lkgst::caps_for_track(info);
    EXPECT_EQ(media_type(c), row.media_type);
    gst_caps_unref(c);
  }
}

TEST(EncodingTable, OtherCapsAndAnyGiveNoEncoding) {
  for (const char* text : {"ANY", "application/octet-stream", "text/plain", "video/x-raw"}) {
    GstCaps* c = caps(text);
    EXPECT_FALSE(lkgst::encoding_for_caps(c, "")) << text;
    gst_caps_unref(c);
  }
  EXPECT_FALSE(lkgst::encoding_for_caps(nullptr, ""));
}

TEST(EncodingTable, TheFrameEncodingPropertyWinsAndNamesWellKnownOrCustom) {
  GstCaps* json = caps("application/json");
  auto cbor = lkgst::encoding_for_caps(json, "cbor");
  ASSERT_TRUE(cbor);
  EXPECT_EQ(cbor->well_known(), DataTrackFrameEncoding::WELL_KNOWN_FRAME_ENCODING_CBOR);
  auto custom = lkgst::encoding_for_caps(json, "x-my-format");
  ASSERT_TRUE(custom);
  EXPECT_EQ(custom->custom(), "x-my-format");
  gst_caps_unref(json);
}

TEST(EncodingTable, ACustomEncodingRoundTripsThroughACapsField) {
  DataTrackInfo info;
  info.mutable_frame_encoding()->set_custom("x-my-format");
  GstCaps* c = lkgst::caps_for_track(info);
  EXPECT_EQ(media_type(c), "application/octet-stream");
  auto back = lkgst::encoding_for_caps(c, "");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->custom(), "x-my-format");
  gst_caps_unref(c);
}

TEST(EncodingTable, ATrackWithoutEncodingIsOctetStream) {
  GstCaps* c = lkgst::caps_for_track(DataTrackInfo());
  GstCaps* expected = caps("application/octet-stream");
  EXPECT_TRUE(gst_caps_is_equal(c, expected));
  gst_caps_unref(c);
  gst_caps_unref(expected);
}

TEST(EncodingTable, TheSchemaComesFromPropertiesElseCapsFieldsAndRoundTrips) {
  GstCaps* c = caps("application/x-protobuf, schema=(string)telemetry.v1, schema-encoding=(string)protobuf");
  auto schema = lkgst::schema_for_caps(c, "", "");
  ASSERT_TRUE(schema);
  EXPECT_EQ(schema->name(), "telemetry.v1");
  EXPECT_EQ(schema->encoding().well_known(), DataTrackSchemaEncoding::WELL_KNOWN_SCHEMA_ENCODING_PROTOBUF);
  auto overridden = lkgst::schema_for_caps(c, "other", "my-idl");
  ASSERT_TRUE(overridden);
  EXPECT_EQ(overridden->name(), "other");
  EXPECT_EQ(overridden->encoding().custom(), "my-idl");
  gst_caps_unref(c);

  DataTrackInfo info;
  info.mutable_frame_encoding()->set_well_known(DataTrackFrameEncoding::WELL_KNOWN_FRAME_ENCODING_PROTOBUF);
  *info.mutable_schema() = *schema;
  GstCaps* out = lkgst::caps_for_track(info);
  GstCaps* expected =
      caps("application/x-protobuf, schema=(string)telemetry.v1, schema-encoding=(string)protobuf");
  EXPECT_TRUE(gst_caps_is_equal(out, expected)) << gst_caps_to_string(out);
  gst_caps_unref(out);
  gst_caps_unref(expected);

  GstCaps* none = caps("application/json");
  EXPECT_FALSE(lkgst::schema_for_caps(none, "", ""));
  gst_caps_unref(none);
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
