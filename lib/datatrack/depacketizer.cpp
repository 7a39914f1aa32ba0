#include "datatrack/depacketizer.h"

#include <algorithm>
#include <cstring>

namespace lk::datatrack {
namespace {

// Puts `bytes` at `offset`, appending without zero-filling in the common in-order case.
void place(std::vector<uint8_t>& data, size_t offset, std::span<const uint8_t> bytes) {
  if (data.size() < offset) data.resize(offset);
  if (data.size() == offset) {
    data.insert(data.end(), bytes.begin(), bytes.end());
    return;
  }
  if (data.size() < offset + bytes.size()) data.resize(offset + bytes.size());
  if (!bytes.empty()) std::memcpy(data.data() + offset, bytes.data(), bytes.size());
}

}  // namespace

std::string_view to_string(DropReason reason) {
  switch (reason) {
    case DropReason::Malformed: return "malformed";
    case DropReason::UnknownFrame: return "unknown frame";
    case DropReason::Interrupted: return "interrupted";
    case DropReason::Incomplete: return "incomplete";
    case DropReason::TooManyPackets: return "too many packets";
    case DropReason::UnevenPackets: return "uneven packets";
  }
  return "unknown";
}

uint64_t DropCounts::total() const {
  uint64_t sum = 0;
  for (uint64_t n : by_reason) sum += n;
  return sum;
}

Depacketizer::Depacketizer(size_t max_partial_frames)
    : max_partial_frames_(std::max<size_t>(1, max_partial_frames)) {}

std::optional<Frame> Depacketizer::push(std::span<const uint8_t> packet_bytes) {
  ParsedPacket parsed = parse_packet(packet_bytes);
  if (!parsed.ok()) {
    drop(DropReason::Malformed);
    return std::nullopt;
  }
  return push(parsed.packet);
}

std::optional<Frame> Depacketizer::push(const PacketView& packet) {
  switch (packet.header.marker) {
    case Marker::Single: return deliver_single(packet);
    case Marker::Start: open_partial(packet); return std::nullopt;
    case Marker::Inter:
    case Marker::Final: return add_to_partial(packet);
  }
  return std::nullopt;
}

// At the limit, a new frame (even a Single one) means the oldest open one is stale.
void Depacketizer::evict_for_new_frame() {
  while (partials_.size() >= max_partial_frames_) {
    partials_.erase(partials_.begin());
    drop(DropReason::Interrupted);
  }
}

std::optional<Frame> Depacketizer::deliver_single(const PacketView& packet) {
  evict_for_new_frame();
  const Header& h = packet.header;
  return Frame{{packet.payload.begin(), packet.payload.end()}, h.extensions, h.frame_number, h.timestamp};
}

void Depacketizer::open_partial(const PacketView& packet) {
  const Header& h = packet.header;
  evict_for_new_frame();
  auto it = std::find_if(partials_.begin(), partials_.end(),
                         [&](const Partial& p) { return p.frame_number == h.frame_number; });
  if (it != partials_.end()) {
    drop(DropReason::Interrupted);  // a restarted frame replaces the old attempt in its place
    *it = Partial{};
  } else {
    it = partials_.emplace(partials_.end());
  }

  Partial& p = *it;
  p.frame_number = h.frame_number;
  p.start_sequence = h.sequence;
  p.timestamp = h.timestamp;
  p.extensions = h.extensions;
  p.chunk = packet.payload.size();
  p.data.reserve(std::clamp(size_hint_, p.chunk, p.chunk * kMaxPacketsPerFrame));
  p.data.assign(packet.payload.begin(), packet.payload.end());
  p.received.set(0);
}

std::optional<Frame> Depacketizer::add_to_partial(const PacketView& packet) {
  const Header& h = packet.header;
  auto it = std::find_if(partials_.begin(), partials_.end(),
                         [&](const Partial& p) { return p.frame_number == h.frame_number; });
  if (it == partials_.end()) {
    drop(DropReason::UnknownFrame);
    return std::nullopt;
  }
  Partial& p = *it;
  const size_t index = uint16_t(h.sequence - p.start_sequence);  // wraps at 2^16
  const bool final = h.marker == Marker::Final;
  const size_t len = packet.payload.size();

  std::optional<DropReason> reason;
  if (index >= kMaxPacketsPerFrame) {
    reason = DropReason::TooManyPackets;
  } else if (final ? len > p.chunk : len != p.chunk) {
    reason = DropReason::UnevenPackets;
  }
  if (reason) {
    partials_.erase(it);
    drop(*reason);
    return std::nullopt;
  }

  place(p.data, index * p.chunk, packet.payload);  // a duplicate sequence overwrites
  p.received.set(index);
  if (!final) return std::nullopt;

  for (size_t i = 0; i <= index; ++i) {
    if (!p.received.test(i)) {
      partials_.erase(it);
      drop(DropReason::Incomplete);
      return std::nullopt;
    }
  }
  const size_t size = index * p.chunk + len;
  p.data.resize(size);  // drops stray bytes of sequences past the Final
  size_hint_ = size;
  Frame frame{std::move(p.data), p.extensions, p.frame_number, p.timestamp};
  partials_.erase(it);
  return frame;
}

}  // namespace lk::datatrack
