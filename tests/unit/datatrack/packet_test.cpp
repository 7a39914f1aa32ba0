// Header codec: the docs/protocol.md §6 vectors byte for byte, sizes, markers, and
// every rejection reason.
#include <gtest/gtest.h>

#include <vector>

#include "datatrack/packet.h"

namespace lk::datatrack {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes serialize(const Header& header, const Bytes& payload = {}) {
  Bytes out(header_size(header.extensions) + payload.size());
  auto written = write_header(header, out);
  EXPECT_TRUE(written.ok()) << written.error().message;
  std::copy(payload.begin(), payload.end(), out.begin() + header_size(header.extensions));
  return out;
}

Header vector2_header() {
  Header h;
  h.marker = Marker::Final;
  h.handle = 0x8811;
  h.sequence = 0x4422;
  h.frame_number = 0x4411;
  h.timestamp = 0x44221188;
  E2eeExtension e2ee;
  e2ee.key_index = 0xFA;
  e2ee.iv.fill(0x3C);
  h.extensions.e2ee = e2ee;
  h.extensions.user_timestamp = 0x4411221111118811ull;
  return h;
}

TEST(DatatrackPacket, SinglePacketVectorIsByteExact) {
  Header h;
  h.marker = Marker::Single;
  h.handle = 101;
  h.sequence = 102;
  h.frame_number = 103;
  h.timestamp = 104;
  const Bytes expected = {0x18, 0x00, 0x00, 0x65, 0x00, 0x66, 0x00, 0x67, 0x00, 0x00, 0x00, 0x68, 0xAB, 0xCD};
  EXPECT_EQ(serialize(h, {0xAB, 0xCD}), expected);

  ParsedPacket parsed = parse_packet(expected);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.packet.header, h);
  EXPECT_EQ(Bytes(parsed.packet.payload.begin(), parsed.packet.payload.end()), (Bytes{0xAB, 0xCD}));
}

TEST(DatatrackPacket, FinalPacketWithBothExtensionsVectorIsByteExact) {
  Bytes expected = {0x0C, 0x00, 0x88, 0x11, 0x44, 0x22, 0x44, 0x11, 0x44, 0x22, 0x11, 0x88,
                    0x00, 0x06, 0x01, 0x0D, 0xFA};
  expected.insert(expected.end(), 12, 0x3C);
  for (uint8_t b : {0x02, 0x08, 0x44, 0x11, 0x22, 0x11, 0x11, 0x11, 0x88, 0x11, 0x00}) expected.push_back(b);
  ASSERT_EQ(expected.size(), 40u);
  expected.push_back(0x77);  // payload

  EXPECT_EQ(serialize(vector2_header(), {0x77}), expected);
  ParsedPacket parsed = parse_packet(expected);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.packet.header, vector2_header());
  ASSERT_EQ(parsed.packet.payload.size(), 1u);
  EXPECT_EQ(parsed.packet.payload[0], 0x77);
}

TEST(DatatrackPacket, HeaderSizesAre12_24_32_40) {
  Extensions none, ts, e2ee, both;
  ts.user_timestamp = 1;
  e2ee.e2ee = E2eeExtension{};
  both.user_timestamp = 1;
  both.e2ee = E2eeExtension{};
  EXPECT_EQ(header_size(none), 12u);
  EXPECT_EQ(header_size(ts), 24u);
  EXPECT_EQ(header_size(e2ee), 32u);
  EXPECT_EQ(header_size(both), 40u);

  // L = words - 1 and the X flag, as written on the wire.
  Header h;
  h.extensions = ts;
  Bytes b = serialize(h);
  EXPECT_EQ(b[0] & 0x04, 0x04);
  EXPECT_EQ(b[12] << 8 | b[13], 2);
  h.extensions = e2ee;
  b = serialize(h);
  EXPECT_EQ(b[12] << 8 | b[13], 4);
  EXPECT_EQ(Bytes(b.begin() + 29, b.end()), (Bytes{0, 0, 0}));  // padding at the end
  h.extensions = none;
  EXPECT_EQ(serialize(h)[0] & 0x04, 0);
}

TEST(DatatrackPacket, EachMarkerHasItsBitsAndRoundTrips) {
  const std::pair<Marker, uint8_t> cases[] = {
      {Marker::Inter, 0x00}, {Marker::Final, 0x08}, {Marker::Start, 0x10}, {Marker::Single, 0x18}};
  for (auto [marker, byte0] : cases) {
    Header h;
    h.marker = marker;
    Bytes b = serialize(h);
    EXPECT_EQ(b[0], byte0);
    h.extensions.user_timestamp = 5;
    b = serialize(h);
    EXPECT_EQ(b[0], byte0 | 0x04);
    ParsedPacket parsed = parse_packet(b);
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed.packet.header.marker, marker);
  }
}

TEST(DatatrackPacket, ExtremeFieldValuesRoundTrip) {
  Header h = vector2_header();
  h.handle = 0xFFFF;
  h.sequence = 0xFFFF;
  h.frame_number = 0xFFFF;
  h.timestamp = 0xFFFFFFFF;
  h.extensions.user_timestamp = ~0ull;
  ParsedPacket parsed = parse_packet(serialize(h));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.packet.header, h);
  EXPECT_TRUE(parsed.packet.payload.empty());
}

TEST(DatatrackPacket, WriteRefusesSmallBufferAndHandleZero) {
  Header h = vector2_header();
  Bytes small(39);
  EXPECT_FALSE(write_header(h, small).ok());
  Bytes exact(40);
  auto written = write_header(h, exact);
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(*written, 40u);
  h.handle = 0;
  auto refused = write_header(h, exact);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::InvalidArgument);
}

Bytes base_packet(uint8_t byte0 = 0x18) { return {byte0, 0, 0, 1, 0, 2, 0, 3, 0, 0, 0, 4}; }

TEST(DatatrackPacket, RejectsTruncatedHeader) {
  const Bytes valid = base_packet();
  for (size_t n = 0; n < 12; ++n) {
    EXPECT_EQ(parse_packet(std::span(valid.data(), n)).error, ParseError::TooShort) << n;
  }
  EXPECT_TRUE(parse_packet(valid).ok());
}

TEST(DatatrackPacket, RejectsVersionAboveZero) {
  for (uint8_t version = 1; version < 8; ++version) {
    EXPECT_EQ(parse_packet(base_packet(uint8_t(0x18 | version << 5))).error, ParseError::UnsupportedVersion);
  }
}

TEST(DatatrackPacket, RejectsHandleZero) {
  Bytes b = base_packet();
  b[3] = 0;
  ParsedPacket parsed = parse_packet(b);
  EXPECT_EQ(parsed.error, ParseError::InvalidHandle);
  EXPECT_EQ(parsed.to_error().kind, ErrorKind::Malformed);
}

TEST(DatatrackPacket, RejectsMissingExtensionLength) {
  Bytes b = base_packet(0x1C);
  EXPECT_EQ(parse_packet(b).error, ParseError::MissingExtWords);
  b.push_back(0);
  EXPECT_EQ(parse_packet(b).error, ParseError::MissingExtWords);
}

TEST(DatatrackPacket, RejectsExtensionBlockOverrun) {
  Bytes b = base_packet(0x1C);
  b.insert(b.end(), {0, 0});  // L=0: the block is 4 bytes, only 2 present
  EXPECT_EQ(parse_packet(b).error, ParseError::ExtensionOverrun);
  b.push_back(0);
  EXPECT_EQ(parse_packet(b).error, ParseError::ExtensionOverrun);
  b.push_back(0);
  EXPECT_TRUE(parse_packet(b).ok());  // L=0 with padding only is a valid, empty block
  b[12] = 0xFF;
  b[13] = 0xFF;
  EXPECT_EQ(parse_packet(b).error, ParseError::ExtensionOverrun);
}

// A 24-byte header (L=2, 10 bytes of TLVs) whose TLV bytes the test sets.
Bytes with_tlvs(const Bytes& tlvs) {
  Bytes b = base_packet(0x1C);
  b.insert(b.end(), {0, 2});
  Bytes block = tlvs;
  block.resize(10, 0);
  b.insert(b.end(), block.begin(), block.end());
  return b;
}

TEST(DatatrackPacket, RejectsBadTlvLengths) {
  // unknown tag longer than the block
  EXPECT_EQ(parse_packet(with_tlvs({9, 9})).error, ParseError::MalformedExtension);
  // user timestamp shorter than 8 bytes
  EXPECT_EQ(parse_packet(with_tlvs({2, 4, 1, 2, 3, 4})).error, ParseError::MalformedExtension);
  // user timestamp running past the block
  EXPECT_EQ(parse_packet(with_tlvs({0, 0, 2, 8, 1, 2, 3, 4, 5, 6})).error, ParseError::MalformedExtension);
  // E2EE too short and E2EE not fitting a 10-byte block
  EXPECT_EQ(parse_packet(with_tlvs({1, 5, 1, 2, 3, 4, 5})).error, ParseError::MalformedExtension);
  EXPECT_EQ(parse_packet(with_tlvs({1, 13})).error, ParseError::MalformedExtension);
}

TEST(DatatrackPacket, SkipsUnknownTagsAndPadding) {
  ParsedPacket parsed = parse_packet(with_tlvs({8, 6, 1, 2, 3, 4, 5, 6, 0, 0}));
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed.packet.header.extensions.empty());

  // padding before a TLV, and a known tag longer than needed (the rest is skipped)
  Bytes b = base_packet(0x1C);
  b.insert(b.end(), {0, 3, 0, 0, 2, 10, 1, 2, 3, 4, 5, 6, 7, 8, 0xEE, 0xEE});
  b.push_back(0x55);  // payload
  parsed = parse_packet(b);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.packet.header.extensions.user_timestamp, 0x0102030405060708ull);
  ASSERT_EQ(parsed.packet.payload.size(), 1u);
  EXPECT_EQ(parsed.packet.payload[0], 0x55);
}

TEST(DatatrackPacket, ParseErrorsHaveNames) {
  for (size_t i = 1; i < kParseErrorCount; ++i) {
    EXPECT_NE(to_string(ParseError(i)), "unknown");
  }
}

}  // namespace
}  // namespace lk::datatrack
