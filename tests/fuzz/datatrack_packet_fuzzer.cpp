// libFuzzer: the packet parser on arbitrary bytes. Beyond not crashing, an
// accepted packet must re-serialize to a header that parses to the same fields.
#include <cstdlib>
#include <vector>

#include "datatrack/packet.h"

using namespace lk::datatrack;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  ParsedPacket parsed = parse_packet(bytes);
  if (!parsed.ok()) return 0;

  const PacketView& p = parsed.packet;
  const size_t header_bytes = size - p.payload.size();
  if (p.payload.data() + p.payload.size() != data + size || header_bytes < kBaseHeaderSize) std::abort();

  std::vector<uint8_t> rewritten(header_size(p.header.extensions));
  auto written = write_header(p.header, rewritten);
  if (!written || *written != rewritten.size() || rewritten.size() > header_bytes) std::abort();
  ParsedPacket again = parse_packet(rewritten);
  if (!again.ok() || !(again.packet.header == p.header) || !again.packet.payload.empty()) std::abort();
  return 0;
}
