// Data Channel Establishment Protocol (RFC 8832) messages and the SCTP
// payload protocol identifiers of RFC 8831. Pure code.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace lk::rtc::dcep {

constexpr uint32_t kPpidControl = 50;
constexpr uint32_t kPpidString = 51;
constexpr uint32_t kPpidBinaryPartial = 52;  // deprecated
constexpr uint32_t kPpidBinary = 53;
constexpr uint32_t kPpidStringPartial = 54;  // deprecated
constexpr uint32_t kPpidStringEmpty = 56;
constexpr uint32_t kPpidBinaryEmpty = 57;

constexpr uint8_t kMessageAck = 0x02;
constexpr uint8_t kMessageOpen = 0x03;

constexpr uint8_t kReliable = 0x00;
constexpr uint8_t kPartialReliableRexmit = 0x01;
constexpr uint8_t kPartialReliableTimed = 0x02;
constexpr uint8_t kUnorderedBit = 0x80;

// What we accept from a peer (RFC 8832 allows 65,535 bytes each; LiveKit's
// labels are a dozen bytes): longer OPENs are refused.
constexpr size_t kMaxRemoteLabelBytes = 1024;
constexpr size_t kMaxRemoteProtocolBytes = 1024;

struct Open {
  uint8_t channel_type = kReliable;
  uint16_t priority = 256;
  uint32_t reliability = 0;
  std::string label;
  std::string protocol;
};

std::vector<uint8_t> encode(const Open& open);
std::vector<uint8_t> encode_ack();
// Fails on truncated input, unknown channel type or lengths that overrun.
lk::Result<Open> decode_open(std::span<const uint8_t> message);
bool is_ack(std::span<const uint8_t> message);
// A label or protocol fit for a log line: printable ASCII kept, anything else
// as \xNN, cut at max_bytes of input (a peer chooses these bytes).
std::string printable(std::string_view text, size_t max_bytes = 64);

}  // namespace lk::rtc::dcep
