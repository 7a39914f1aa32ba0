// libFuzzer: the room's handling of server messages (room/offline_room.h), from
// the bytes of each WebSocket message. Byte 0 picks the start: bit 0 already
// joined as bob, subscribed to alice's "telemetry" (TR_1) as handle 1; bit 1
// signalling v0. Then records (room_fuzz.h): kind even, the bytes of one
// SignalResponse; odd, one data-track packet. Checks, besides the sanitizers:
// nothing crashes or hangs, no frame is larger than 128 packets carry, and a
// subscription never delivers more frames than packets came.
#include <cstdlib>

#include "datatrack/packetizer.h"
#include "room_fuzz.h"
#include "room/offline_room.h"
#include "room_messages.h"

using namespace lk::room;
using namespace lk::test;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  silence_room_logs();
  if (size == 0) return 0;
  OfflineRoom room(data[0] & 2 ? Signalling::V0 : Signalling::V1);
  std::shared_ptr<DataTrackSubscription> telemetry, other;
  if (data[0] & 1) {
    room.receive(join_response("bob", {participant("alice", 1, {{"TR_1", "telemetry"}})}));
    telemetry = room.subscribe("alice", "telemetry");
    room.receive(subscriber_handles({{1, "TR_1"}}));
  } else {
    telemetry = room.subscribe("alice", "telemetry");
  }
  other = room.subscribe("carol", "video");
  size_t packets = 0;
  for_each_record(std::span(data + 1, size - 1), [&](uint8_t kind, std::span<const uint8_t> bytes) {
    if (kind % 2 == 0) {
      room.receive_bytes(bytes);
    } else {
      room.receive_packet(bytes);
      ++packets;
    }
  });
  room.run_pending();
  const size_t max_frame = 128 * lk::datatrack::Packetizer::kMaxPacketSize;
  for (auto* sub : {&telemetry, &other}) {
    size_t frames = 0;
    while (auto frame = (*sub)->read(0)) {
      if (frame->payload.size() > max_frame) abort();
      ++frames;
    }
    if (frames > packets) abort();
  }
  room.take_sent();
  return 0;
}
