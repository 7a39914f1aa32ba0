// One room connection per (server URL, room, identity) in a process: callers
// asking for the same key share one connection (one participant, one
// signalling session, one transport); it leaves the room when the last holder
// releases it.
//
// Threads: acquire() may be called from any thread. Concurrent callers with
// one key wait for the same join instead of joining twice.
#pragma once

#include <memory>
#include <string>

#include "room/room_connection.h"
#include "util/result.h"

namespace lk::room {

// The key of a connection: from the options, or from the claims of the token
// (sub and video.room) when one is given.
lk::Result<std::string> registry_key(const ConnectOptions& options);

// The live connection for the options' key, or a new one (joining blocks up
// to options.connect_timeout_ms). Connection options other than the key come
// from whoever joined first.
lk::Result<std::shared_ptr<RoomConnection>> acquire_room(const ConnectOptions& options);

}  // namespace lk::room
