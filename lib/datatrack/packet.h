// Data-track packet codec, version 0 (docs/protocol.md §6): a 12-byte base header,
// an optional extension block of TLVs, then the payload.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "util/result.h"

namespace lk::datatrack {

inline constexpr size_t kBaseHeaderSize = 12;
// A frame spans at most this many packets: receivers drop longer frames, so
// the packetizer refuses them.
inline constexpr size_t kMaxPacketsPerFrame = 128;

// Position of a packet in its frame; values are the (S,F) bits of byte 0.
enum class Marker : uint8_t { Inter = 0, Final = 1, Start = 2, Single = 3 };

struct E2eeExtension {
  uint8_t key_index = 0;
  std::array<uint8_t, 12> iv{};
  bool operator==(const E2eeExtension&) const = default;
};

struct Extensions {
  std::optional<E2eeExtension> e2ee;        // TLV tag 1
  std::optional<uint64_t> user_timestamp;   // TLV tag 2
  bool empty() const { return !e2ee && !user_timestamp; }
  bool operator==(const Extensions&) const = default;
};

struct Header {
  Marker marker = Marker::Single;
  uint16_t handle = 1;        // 0 is reserved
  uint16_t sequence = 0;
  uint16_t frame_number = 0;
  uint32_t timestamp = 0;     // 90 kHz
  Extensions extensions;
  bool operator==(const Header&) const = default;
};

// Bytes the header takes on the wire: 12, 24 (user timestamp), 32 (E2EE) or 40 (both).
size_t header_size(const Extensions& extensions);

// Writes the header at the start of `out`; returns the bytes written. Fails
// (InvalidArgument) when `out` is too small or the handle is 0.
Result<size_t> write_header(const Header& header, std::span<uint8_t> out);

// Why a packet was rejected. Parsing never throws and never reads out of bounds.
enum class ParseError : uint8_t {
  None = 0,
  TooShort,            // fewer than 12 bytes
  UnsupportedVersion,  // version field > 0
  InvalidHandle,       // handle 0
  MissingExtWords,     // X flag set but no room for the L field
  ExtensionOverrun,    // extension block runs past the end of the packet
  MalformedExtension,  // a TLV runs past its block, or a known tag is too short
};
inline constexpr size_t kParseErrorCount = 7;

std::string_view to_string(ParseError error);

// A parsed packet; `payload` points into the parsed bytes.
struct PacketView {
  Header header;
  std::span<const uint8_t> payload;
};

// Outcome of parse_packet: a packet, or the reason it was rejected.
struct ParsedPacket {
  ParseError error = ParseError::None;
  PacketView packet;
  bool ok() const { return error == ParseError::None; }
  Error to_error() const;  // for callers that report through Result
};

ParsedPacket parse_packet(std::span<const uint8_t> bytes);

}  // namespace lk::datatrack
