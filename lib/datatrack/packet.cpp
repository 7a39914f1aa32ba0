#include "datatrack/packet.h"

#include <algorithm>
#include <string>

namespace lk::datatrack {
namespace {

constexpr uint8_t kVersion = 0;
constexpr uint8_t kExtensionFlag = 0x04;
constexpr size_t kLengthFieldSize = 2;  // the L field, counted in the block's words

constexpr uint8_t kTagPadding = 0;
constexpr uint8_t kTagE2ee = 1;
constexpr uint8_t kTagUserTimestamp = 2;
constexpr size_t kE2eeSize = 13;
constexpr size_t kUserTimestampSize = 8;

size_t tlv_bytes(const Extensions& ext) {
  size_t bytes = 0;
  if (ext.e2ee) bytes += 2 + kE2eeSize;
  if (ext.user_timestamp) bytes += 2 + kUserTimestampSize;
  return bytes;
}

// Words of the extension block, including the L field itself.
size_t block_words(size_t tlv) { return (kLengthFieldSize + tlv + 3) / 4; }

void put16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}
void put32(uint8_t* p, uint32_t v) {
  put16(p, uint16_t(v >> 16));
  put16(p + 2, uint16_t(v));
}
void put64(uint8_t* p, uint64_t v) {
  put32(p, uint32_t(v >> 32));
  put32(p + 4, uint32_t(v));
}
uint16_t get16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
uint32_t get32(const uint8_t* p) { return uint32_t(get16(p)) << 16 | get16(p + 2); }
uint64_t get64(const uint8_t* p) { return uint64_t(get32(p)) << 32 | get32(p + 4); }

ParseError parse_extensions(std::span<const uint8_t> block, Extensions& ext) {
  size_t i = 0;
  while (block.size() - i >= 2) {
    const uint8_t tag = block[i];
    const size_t len = block[i + 1];
    i += 2;
    if (tag == kTagPadding) continue;  // padding is read two bytes at a time, as the official readers do
    if (len > block.size() - i) return ParseError::MalformedExtension;
    const uint8_t* value = block.data() + i;
    if (tag == kTagE2ee) {
      if (len < kE2eeSize) return ParseError::MalformedExtension;
      E2eeExtension e2ee;
      e2ee.key_index = value[0];
      std::copy(value + 1, value + kE2eeSize, e2ee.iv.begin());
      ext.e2ee = e2ee;
    } else if (tag == kTagUserTimestamp) {
      if (len < kUserTimestampSize) return ParseError::MalformedExtension;
      ext.user_timestamp = get64(value);
    }  // unknown tags are skipped: forward compatible
    i += len;
  }
  return ParseError::None;
}

}  // namespace

size_t header_size(const Extensions& extensions) {
  const size_t tlv = tlv_bytes(extensions);
  return tlv == 0 ? kBaseHeaderSize : kBaseHeaderSize + 4 * block_words(tlv);
}

Result<size_t> write_header(const Header& header, std::span<uint8_t> out) {
  const size_t size = header_size(header.extensions);
  if (out.size() < size) {
    return make_error(ErrorKind::InvalidArgument, "data track header needs " + std::to_string(size) +
                                                      " bytes, buffer has " + std::to_string(out.size()));
  }
  if (header.handle == 0) return make_error(ErrorKind::InvalidArgument, "data track handle 0 is reserved");

  uint8_t* p = out.data();
  const size_t tlv = tlv_bytes(header.extensions);
  p[0] = uint8_t(kVersion << 5 | uint8_t(header.marker) << 3 | (tlv ? kExtensionFlag : 0));
  p[1] = 0;
  put16(p + 2, header.handle);
  put16(p + 4, header.sequence);
  put16(p + 6, header.frame_number);
  put32(p + 8, header.timestamp);
  if (tlv == 0) return size;

  // L counts the block's words minus one (RTP style); the block includes L itself.
  put16(p + 12, uint16_t(block_words(tlv) - 1));
  uint8_t* w = p + 14;
  if (const auto& e2ee = header.extensions.e2ee) {
    *w++ = kTagE2ee;
    *w++ = kE2eeSize;
    *w++ = e2ee->key_index;
    w = std::copy(e2ee->iv.begin(), e2ee->iv.end(), w);
  }
  if (const auto& ts = header.extensions.user_timestamp) {
    *w++ = kTagUserTimestamp;
    *w++ = kUserTimestampSize;
    put64(w, *ts);
    w += kUserTimestampSize;
  }
  std::fill(w, p + size, 0);  // padding only at the end: the Go SFU treats a 0 byte as "rest is padding"
  return size;
}

std::string_view to_string(ParseError error) {
  switch (error) {
    case ParseError::None: return "none";
    case ParseError::TooShort: return "too short for a header";
    case ParseError::UnsupportedVersion: return "unsupported version";
    case ParseError::InvalidHandle: return "reserved track handle 0";
    case ParseError::MissingExtWords: return "extension flag set but no extension length";
    case ParseError::ExtensionOverrun: return "extension block runs past the packet";
    case ParseError::MalformedExtension: return "malformed extension";
  }
  return "unknown";
}

Error ParsedPacket::to_error() const {
  return make_error(ErrorKind::Malformed, "data track packet rejected: " + std::string(to_string(error)));
}

ParsedPacket parse_packet(std::span<const uint8_t> bytes) {
  ParsedPacket result;
  auto fail = [&](ParseError e) {
    result.error = e;
    return result;
  };
  if (bytes.size() < kBaseHeaderSize) return fail(ParseError::TooShort);
  const uint8_t* p = bytes.data();
  if ((p[0] >> 5) > kVersion) return fail(ParseError::UnsupportedVersion);

  Header& h = result.packet.header;
  h.marker = Marker((p[0] >> 3) & 0x3);
  h.handle = get16(p + 2);
  if (h.handle == 0) return fail(ParseError::InvalidHandle);
  h.sequence = get16(p + 4);
  h.frame_number = get16(p + 6);
  h.timestamp = get32(p + 8);

  size_t header_end = kBaseHeaderSize;
  if (p[0] & kExtensionFlag) {
    if (bytes.size() < kBaseHeaderSize + kLengthFieldSize) return fail(ParseError::MissingExtWords);
    header_end = kBaseHeaderSize + 4 * (size_t(get16(p + 12)) + 1);
    if (header_end > bytes.size()) return fail(ParseError::ExtensionOverrun);
    const auto block = bytes.subspan(kBaseHeaderSize + kLengthFieldSize, header_end - kBaseHeaderSize - kLengthFieldSize);
    if (ParseError e = parse_extensions(block, h.extensions); e != ParseError::None) return fail(e);
  }
  result.packet.payload = bytes.subspan(header_end);
  return result;
}

}  // namespace lk::datatrack
