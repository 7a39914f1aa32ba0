// One end of the end-to-end bench (bench/e2e/e2e.mjs) on lib/room alone: our
// RoomConnection without GStreamer, the ceiling for the elements through the
// same server. Connection settings come from the elements' environment
// variables (LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET); the commands and
// the frame layout are in peer_protocol.h.
//   room_peer send|recv --room R --identity I --track T [--participant P (recv)]
#include <glib.h>

#include <atomic>
#include <memory>
#include <span>
#include <string>
#include <thread>

#include "peer_protocol.h"
#include "room/room_connection.h"

namespace {

using namespace lk::bench;

std::shared_ptr<lk::room::RoomConnection> join(const Endpoint& e) {
  auto env = [](const char* name) { return std::string(g_getenv(name) ? g_getenv(name) : ""); };
  lk::room::ConnectOptions options;
  options.url = env("LIVEKIT_URL");
  options.api_key = env("LIVEKIT_API_KEY");
  options.api_secret = env("LIVEKIT_API_SECRET");
  options.room = e.room;
  options.identity = e.identity;
  auto room = lk::room::RoomConnection::connect(options);
  if (!room.ok()) fail("join: " + room.error().message);
  return *room;
}

int sender(const Endpoint& e) {
  auto room = join(e);
  lk::room::PublishOptions options;
  options.name = e.track;
  auto track = room->publish_data_track(options);
  if (!track.ok()) fail("publish: " + track.error().message);
  serve_sender([&track](const uint8_t* bytes, size_t size) {
    auto pushed = (*track)->push(std::span<const uint8_t>(bytes, size), std::nullopt);
    if (!pushed.ok()) fail("push: " + pushed.error().message);
  });
  (*track)->drain(5000);
  return 0;
}

int receiver(const Endpoint& e) {
  auto room = join(e);
  auto subscription = room->subscribe(e.participant, e.track);
  Arrivals arrivals;
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop) {
      auto frame = subscription->read(100);
      if (frame.ok()) arrivals.record(frame->payload.data(), frame->payload.size());
    }
  });
  arrivals.serve();
  stop = true;
  reader.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Endpoint e = parse_endpoint(argc, argv);
  return e.role == "send" ? sender(e) : receiver(e);
}
