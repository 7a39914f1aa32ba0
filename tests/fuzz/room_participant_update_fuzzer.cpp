// libFuzzer: the room's handling of participant updates (room/offline_room.h).
// Joined as bob, subscribed to alice's "telemetry" (TR_1) as handle 1; the
// input is records (room_fuzz.h), each the bytes of one ParticipantUpdate. Then
// a two-packet frame on handle 1: a subscription still live must get it byte
// for byte; one the updates ended (unpublished, publisher left) must get
// nothing, its handle gone.
#include <cstdlib>

#include "payload.h"
#include "room_fuzz.h"
#include "room/offline_room.h"
#include "room_messages.h"

using namespace lk::room;
using namespace lk::test;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  silence_room_logs();
  OfflineRoom room;
  room.receive(join_response("bob", {participant("alice", 1, {{"TR_1", "telemetry"}})}));
  auto sub = room.subscribe("alice", "telemetry");
  room.receive(subscriber_handles({{1, "TR_1"}}));
  if (!sub->wait_active(0)) abort();

  for_each_record(std::span(data, size), [&](uint8_t, std::span<const uint8_t> bytes) {
    livekit::SignalResponse response;
    if (response.mutable_update()->ParseFromArray(bytes.data(), int(bytes.size()))) room.receive(response);
  });
  room.run_pending();

  const auto payload = pattern(uint32_t(size), 20000);
  for (const auto& packet : packets_of(1, payload)) room.receive_packet(packet);
  auto frame = sub->read(0);
  const bool live = sub->end() == SubscriptionEnd::None;
  if (bool(frame) != live) abort();
  if (frame && frame->payload != payload) abort();
  if (!live && room.stats().unknown_handle_packets != 2) abort();
  return 0;
}
