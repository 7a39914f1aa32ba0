// Data Channel Establishment Protocol (RFC 8832) messages and the SCTP
// payload protocol identifiers of RFC 8831. Pure code.
#pragma once

#include <cstdint>
#include <span>
#include <string>
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

}  // namespace lk::rtc::dcep
