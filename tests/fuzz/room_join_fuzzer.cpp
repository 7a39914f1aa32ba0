// libFuzzer: the room's handling of a join response (room/offline_room.h); the
// input is the JoinResponse's bytes. Then, as the room does after joining, a
// subscription to alice's "telemetry": when the join listed that track, the
// room must ask for exactly one track sid, and once the server grants it, a
// two-packet frame on the granted handle must arrive byte for byte; when it
// did not, nothing is asked for and nothing is delivered.
#include <cstdlib>

#include "payload.h"
#include "room_fuzz.h"
#include "room/offline_room.h"
#include "room_messages.h"

using namespace lk::room;
using namespace lk::test;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  silence_room_logs();
  livekit::SignalResponse response;
  if (!response.mutable_join()->ParseFromArray(data, int(size))) return 0;
  OfflineRoom room;
  room.receive(response);
  if (!room.joined()) abort();  // a join that decodes is always taken
  auto sub = room.subscribe("alice", "telemetry");
  const auto sids = subscribed_sids(room.take_sent());
  if (sids.size() > 1) abort();
  if (!sids.empty()) room.receive(subscriber_handles({{1, sids[0]}}));
  if (sub->wait_active(0) != !sids.empty()) abort();

  const auto payload = pattern(size, 20000);
  for (const auto& packet : packets_of(1, payload)) room.receive_packet(packet);
  auto frame = sub->read(0);
  if (bool(frame) != !sids.empty()) abort();
  if (frame && frame->payload != payload) abort();
  return 0;
}
