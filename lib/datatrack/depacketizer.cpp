#include "datatrack/depacketizer.h"

#include <algorithm>
#include <cstring>

namespace lk::datatrack {
namespace {

// A packet of a multi-packet frame carries at most this much payload: the
// packet limit (docs/protocol.md §7) less the smallest header.
constexpr size_t kMaxChunk = 16000 - 12;

}  // namespace

std::string_view to_string(DropReason reason) {
  switch (reason) {
    case DropReason::Malformed: return "malformed";
    case DropReason::UnknownFrame: return "unknown frame";
    case DropReason::Interrupted: return "interrupted";
    case DropReason::Incomplete: return "incomplete";
    case DropReason::TooManyPackets: return "too many packets";
    case DropReason::OversizedPacket: return "oversized packet";
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
  gaps_.see(packet.header.frame_number);
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
  if (packet.payload.size() > kMaxChunk) {
    drop(DropReason::OversizedPacket);
    return;
  }
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
  // The last complete frame's size (bounded by the limits above): reserved up
  // front so a stream of same-sized frames never regrows.
  p.data.reserve(std::max(size_hint_, packet.payload.size()));
  p.data.assign(packet.payload.begin(), packet.payload.end());
  p.ends.assign(1, packet.payload.size());
}

void Depacketizer::put(Partial& p, size_t index, std::span<const uint8_t> payload) {
  if (index < p.ends.size()) {  // a duplicate replaces the packet in place
    const size_t begin = index ? p.ends[index - 1] : 0, old_size = p.ends[index] - begin;
    if (payload.size() == old_size) {
      if (!payload.empty()) std::memcpy(p.data.data() + begin, payload.data(), payload.size());
      return;
    }
    p.data.erase(p.data.begin() + begin, p.data.begin() + begin + old_size);
    p.data.insert(p.data.begin() + begin, payload.begin(), payload.end());
    for (size_t i = index; i < p.ends.size(); ++i) p.ends[i] = p.ends[i] - old_size + payload.size();
    return;
  }
  if (index > p.ends.size()) {  // past a gap: wait
    p.ahead[index].assign(payload.begin(), payload.end());
    return;
  }
  p.data.insert(p.data.end(), payload.begin(), payload.end());
  p.ends.push_back(p.data.size());
  // The gap this packet filled may free packets that came early.
  for (auto next = p.ahead.find(p.ends.size()); next != p.ahead.end(); next = p.ahead.find(p.ends.size())) {
    p.data.insert(p.data.end(), next->second.begin(), next->second.end());
    p.ends.push_back(p.data.size());
    p.ahead.erase(next);
  }
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

  std::optional<DropReason> reason;
  if (index >= kMaxPacketsPerFrame) reason = DropReason::TooManyPackets;
  else if (packet.payload.size() > kMaxChunk) reason = DropReason::OversizedPacket;
  if (reason) {
    partials_.erase(it);
    drop(*reason);
    return std::nullopt;
  }

  const bool final = h.marker == Marker::Final;
  // At the Final every packet before it must be here, i.e. in the in-order
  // run (ahead never holds the packet right after it): decided before any
  // byte is placed.
  if (final && index > p.ends.size()) {
    partials_.erase(it);
    drop(DropReason::Incomplete);
    return std::nullopt;
  }
  put(p, index, packet.payload);
  if (!final) return std::nullopt;

  // Anything past the Final is stray.
  p.data.resize(p.ends[index]);
  size_hint_ = p.data.size();
  Frame frame{std::move(p.data), p.extensions, p.frame_number, p.timestamp};
  partials_.erase(it);
  return frame;
}

}  // namespace lk::datatrack
