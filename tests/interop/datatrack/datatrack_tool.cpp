// Bridge between lib/datatrack and the interop scripts: packetizes,
// depacketizes or parses records read from stdin, writes records to stdout.
//
// Records (integers big-endian):
//   packet: u32 length, bytes
//   frame:  u32 payload length, u8 flags (1 = user timestamp, 2 = E2EE),
//           u64 user timestamp, u8 key index, 12-byte IV, payload
//
//   datatrack-tool packetize HANDLE TIMESTAMP   frames -> packets; the clock is
//       frozen so every frame gets TIMESTAMP. A refused frame is a 0-length packet.
//   datatrack-tool depacketize MAX_PARTIAL      packets -> frames; drop counts
//       go to stderr as one JSON line
//   datatrack-tool parse                        packets -> one JSON line each
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "datatrack/depacketizer.h"
#include "datatrack/packetizer.h"

using namespace lk::datatrack;
using Bytes = std::vector<uint8_t>;

namespace {

Bytes read_stdin() {
  Bytes all;
  uint8_t buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) all.insert(all.end(), buf, buf + n);
  return all;
}

class Reader {
 public:
  explicit Reader(const Bytes& b) : b_(b) {}
  bool done() const { return pos_ == b_.size(); }
  bool has(size_t n) const { return b_.size() - pos_ >= n; }
  uint64_t uint(size_t bytes) {
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; ++i) v = v << 8 | b_[pos_++];
    return v;
  }
  std::span<const uint8_t> take(size_t n) {
    auto s = std::span(b_.data() + pos_, n);
    pos_ += n;
    return s;
  }

 private:
  const Bytes& b_;
  size_t pos_ = 0;
};

void put_uint(Bytes& out, uint64_t v, size_t bytes) {
  for (size_t i = bytes; i-- > 0;) out.push_back(uint8_t(v >> (8 * i)));
}

void write_stdout(const Bytes& b) {
  if (std::fwrite(b.data(), 1, b.size(), stdout) != b.size()) std::exit(3);
}

[[noreturn]] void fail(const std::string& message) {
  std::cerr << "datatrack-tool: " << message << "\n";
  std::exit(2);
}

constexpr size_t kFrameRecordHeader = 4 + 1 + 8 + 1 + 12;

int packetize(uint16_t handle, uint32_t timestamp) {
  const Bytes in = read_stdin();
  Reader r(in);
  Packetizer packetizer(handle, timestamp, [] { return uint64_t(0); });
  Bytes out;
  while (!r.done()) {
    if (!r.has(kFrameRecordHeader)) fail("truncated frame record");
    const size_t len = r.uint(4);
    const uint8_t flags = uint8_t(r.uint(1));
    const uint64_t user_ts = r.uint(8);
    E2eeExtension e2ee;
    e2ee.key_index = uint8_t(r.uint(1));
    auto iv = r.take(12);
    std::copy(iv.begin(), iv.end(), e2ee.iv.begin());
    if (!r.has(len)) fail("truncated frame payload");
    Extensions ext;
    if (flags & 1) ext.user_timestamp = user_ts;
    if (flags & 2) ext.e2ee = e2ee;
    auto result = packetizer.packetize(r.take(len), ext, [&](std::span<const uint8_t> p) {
      put_uint(out, p.size(), 4);
      out.insert(out.end(), p.begin(), p.end());
    });
    if (!result) put_uint(out, 0, 4);
  }
  write_stdout(out);
  return 0;
}

int depacketize(size_t max_partial) {
  const Bytes in = read_stdin();
  Reader r(in);
  Depacketizer depacketizer(max_partial);
  Bytes out;
  while (!r.done()) {
    if (!r.has(4)) fail("truncated packet record");
    const size_t len = r.uint(4);
    if (!r.has(len)) fail("truncated packet");
    auto frame = depacketizer.push(r.take(len));
    if (!frame) continue;
    const Extensions& ext = frame->extensions;
    put_uint(out, frame->payload.size(), 4);
    out.push_back(uint8_t((ext.user_timestamp ? 1 : 0) | (ext.e2ee ? 2 : 0)));
    put_uint(out, ext.user_timestamp.value_or(0), 8);
    const E2eeExtension e2ee = ext.e2ee.value_or(E2eeExtension{});
    out.push_back(e2ee.key_index);
    out.insert(out.end(), e2ee.iv.begin(), e2ee.iv.end());
    out.insert(out.end(), frame->payload.begin(), frame->payload.end());
  }
  write_stdout(out);
  std::cerr << "{";
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    std::cerr << (i ? "," : "") << "\"" << to_string(DropReason(i)) << "\":" << depacketizer.drops().by_reason[i];
  }
  std::cerr << "}\n";
  return 0;
}

std::string hex(std::span<const uint8_t> b) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (uint8_t c : b) {
    s += digits[c >> 4];
    s += digits[c & 15];
  }
  return s;
}

int parse() {
  const Bytes in = read_stdin();
  Reader r(in);
  std::string out;
  while (!r.done()) {
    if (!r.has(4)) fail("truncated packet record");
    const size_t len = r.uint(4);
    if (!r.has(len)) fail("truncated packet");
    ParsedPacket parsed = parse_packet(r.take(len));
    if (!parsed.ok()) {
      out += "{\"ok\":false,\"reason\":\"" + std::string(to_string(parsed.error)) + "\"}\n";
      continue;
    }
    const Header& h = parsed.packet.header;
    out += "{\"ok\":true,\"marker\":" + std::to_string(int(h.marker)) + ",\"handle\":" + std::to_string(h.handle) +
           ",\"sequence\":" + std::to_string(h.sequence) + ",\"frameNumber\":" + std::to_string(h.frame_number) +
           ",\"timestamp\":" + std::to_string(h.timestamp) + ",\"userTimestamp\":" +
           (h.extensions.user_timestamp ? "\"" + std::to_string(*h.extensions.user_timestamp) + "\"" : "null") +
           ",\"e2ee\":" +
           (h.extensions.e2ee ? "\"" + std::to_string(h.extensions.e2ee->key_index) + ":" + hex(h.extensions.e2ee->iv) + "\""
                              : "null") +
           ",\"payload\":\"" + hex(parsed.packet.payload) + "\"}\n";
  }
  write_stdout(Bytes(out.begin(), out.end()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "packetize" && argc == 4) return packetize(uint16_t(std::stoul(argv[2])), uint32_t(std::stoul(argv[3])));
  if (cmd == "depacketize" && argc == 3) return depacketize(std::stoul(argv[2]));
  if (cmd == "parse" && argc == 2) return parse();
  std::cerr << "usage: datatrack-tool packetize HANDLE TIMESTAMP | depacketize MAX_PARTIAL | parse  (records on stdin)\n";
  return 2;
}
