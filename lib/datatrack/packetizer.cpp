#include "datatrack/packetizer.h"

#include <chrono>
#include <cstring>
#include <random>
#include <string>

namespace lk::datatrack {
namespace {

// 90 kHz ticks in `ns` nanoseconds, rounded to nearest; exact for ~65 years.
uint32_t ticks_90khz(uint64_t ns) { return uint32_t((ns * 9 + 50'000) / 100'000); }

// RTP-style serial comparison: a is before b within half the 32-bit space.
bool is_before(uint32_t a, uint32_t b) { return a != b && uint32_t(b - a) < 0x8000'0000u; }

}  // namespace

Packetizer::Packetizer(uint16_t handle, uint32_t timestamp_base, Clock clock)
    : handle_(handle),
      timestamp_base_(timestamp_base),
      last_timestamp_(timestamp_base),
      clock_(std::move(clock)),
      epoch_ns_(clock_()),
      scratch_(kMaxPacketSize) {}

Packetizer Packetizer::with_system_clock(uint16_t handle) {
  auto now_ns = [] {
    return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::steady_clock::now().time_since_epoch())
                        .count());
  };
  // A random base makes tracks harder to correlate in captures.
  return Packetizer(handle, std::random_device{}(), now_ns);
}

size_t Packetizer::max_frame_size(const Extensions& extensions) {
  return kMaxPacketsPerFrame * (kMaxPacketSize - header_size(extensions));
}

uint32_t Packetizer::sample_timestamp() {
  uint32_t ts = timestamp_base_ + ticks_90khz(clock_() - epoch_ns_);
  if (is_before(ts, last_timestamp_)) ts = last_timestamp_;  // never step back
  last_timestamp_ = ts;
  return ts;
}

Result<void> Packetizer::packetize(std::span<const uint8_t> payload, const Extensions& extensions,
                                   const PacketSink& sink) {
  if (handle_ == 0) return make_error(ErrorKind::InvalidArgument, "data track handle 0 is reserved");
  const size_t header_bytes = header_size(extensions);
  const size_t chunk = kMaxPacketSize - header_bytes;
  const size_t count = (payload.size() + chunk - 1) / chunk;
  if (count > kMaxPacketsPerFrame) {
    return make_error(ErrorKind::InvalidArgument,
                      "data track frame of " + std::to_string(payload.size()) + " bytes needs " +
                          std::to_string(count) + " packets; receivers accept at most " +
                          std::to_string(kMaxPacketsPerFrame) + " (" +
                          std::to_string(max_frame_size(extensions)) + " bytes)");
  }

  Header header;
  header.handle = handle_;
  header.frame_number = frame_number_++;
  header.timestamp = sample_timestamp();
  header.extensions = extensions;
  for (size_t i = 0; i < count; ++i) {
    const bool first = i == 0, last = i + 1 == count;
    header.marker = first && last ? Marker::Single
                    : first       ? Marker::Start
                    : last        ? Marker::Final
                                  : Marker::Inter;
    header.sequence = sequence_++;
    auto written = write_header(header, scratch_);
    if (!written) return written.error();  // cannot happen: scratch holds a full packet
    const size_t offset = i * chunk;
    const size_t len = std::min(chunk, payload.size() - offset);
    std::memcpy(scratch_.data() + *written, payload.data() + offset, len);
    sink(std::span<const uint8_t>(scratch_.data(), *written + len));
  }
  return ok();
}

}  // namespace lk::datatrack
