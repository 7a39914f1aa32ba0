#include "rtc/dcep.h"

namespace lk::rtc::dcep {
namespace {

void put16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
void put32(std::vector<uint8_t>& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v));
}
uint16_t get16(std::span<const uint8_t> b, size_t at) { return static_cast<uint16_t>(b[at] << 8 | b[at + 1]); }
uint32_t get32(std::span<const uint8_t> b, size_t at) { return uint32_t{get16(b, at)} << 16 | get16(b, at + 2); }

constexpr size_t kOpenHeader = 12;

}  // namespace

std::vector<uint8_t> encode(const Open& open) {
  std::vector<uint8_t> out;
  out.reserve(kOpenHeader + open.label.size() + open.protocol.size());
  out.push_back(kMessageOpen);
  out.push_back(open.channel_type);
  put16(out, open.priority);
  put32(out, open.reliability);
  put16(out, static_cast<uint16_t>(open.label.size()));
  put16(out, static_cast<uint16_t>(open.protocol.size()));
  out.insert(out.end(), open.label.begin(), open.label.end());
  out.insert(out.end(), open.protocol.begin(), open.protocol.end());
  return out;
}

std::vector<uint8_t> encode_ack() { return {kMessageAck}; }

bool is_ack(std::span<const uint8_t> message) { return !message.empty() && message[0] == kMessageAck; }

lk::Result<Open> decode_open(std::span<const uint8_t> m) {
  if (m.size() < kOpenHeader) return make_error(ErrorKind::Malformed, "DCEP OPEN shorter than its 12-byte header");
  if (m[0] != kMessageOpen) return make_error(ErrorKind::Malformed, "not a DCEP OPEN message");
  Open o;
  o.channel_type = m[1];
  switch (o.channel_type & ~kUnorderedBit) {
    case kReliable:
    case kPartialReliableRexmit:
    case kPartialReliableTimed: break;
    default: return make_error(ErrorKind::Malformed, "DCEP OPEN has an unknown channel type");
  }
  o.priority = get16(m, 2);
  o.reliability = get32(m, 4);
  size_t label_len = get16(m, 8), protocol_len = get16(m, 10);
  if (kOpenHeader + label_len + protocol_len > m.size())
    return make_error(ErrorKind::Malformed, "DCEP OPEN label/protocol lengths overrun the message");
  o.label.assign(reinterpret_cast<const char*>(m.data()) + kOpenHeader, label_len);
  o.protocol.assign(reinterpret_cast<const char*>(m.data()) + kOpenHeader + label_len, protocol_len);
  return o;
}

std::string printable(std::string_view text, size_t max_bytes) {
  std::string out;
  for (size_t i = 0; i < text.size() && i < max_bytes; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
      out += static_cast<char>(c);
    } else {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (text.size() > max_bytes) out += "...";
  return out;
}

}  // namespace lk::rtc::dcep
