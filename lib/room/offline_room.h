// The room connection's state machine with no network under it: server
// messages (SignalResponse) and data-track packets go in as if they came from
// the server, the requests the room would have sent come out. It is the same
// code RoomConnection runs (join, participant updates, subscriptions and their
// handles, publish answers, leave), minus the peer connections, so fuzzers
// and unit tests can drive it from bytes (tests/fuzz/room_*_fuzzer.cpp,
// tests/unit/room/offline_room_test.cpp).
//
// Threads: one thread only, the caller's; timers run in run_pending().
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "livekit_rtc.pb.h"
#include "room/room_connection.h"

namespace lk::room {

class OfflineRoom {
 public:
  explicit OfflineRoom(Signalling signalling = Signalling::V1);
  ~OfflineRoom();  // tears down as a lost connection would
  OfflineRoom(const OfflineRoom&) = delete;
  OfflineRoom& operator=(const OfflineRoom&) = delete;

  // A server message, as the signal client hands it over once decoded.
  void receive(const livekit::SignalResponse& response);
  // The bytes of one WebSocket message: false when they do not decode (the
  // signal client drops such a message and counts it).
  bool receive_bytes(std::span<const uint8_t> bytes);
  // One message on a _data_track channel.
  void receive_packet(std::span<const uint8_t> bytes);

  std::shared_ptr<DataTrackSubscription> subscribe(const std::string& identity, const std::string& name,
                                                   const SubscribeOptions& options = {});
  // Runs what is due on the room's context (posted work, expired timers).
  void run_pending();

  // What the room sent since the last call, oldest first.
  std::vector<livekit::SignalRequest> take_sent();
  RoomConnection::Stats stats() const;
  bool joined() const;                // a join response was taken
  lk::Result<void> status() const;    // an error once the session ended (leave, ...)
  std::string identity() const;

 private:
  std::shared_ptr<RoomConnection::Impl> impl_;
  uint64_t malformed_messages_ = 0;
};

}  // namespace lk::room
