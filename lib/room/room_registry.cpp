#include "room/room_registry.h"

#include <future>
#include <map>
#include <mutex>

#include "signal/join_url.h"
#include "signal/token.h"

namespace lk::room {
namespace {

struct Entry {
  std::weak_ptr<RoomConnection> room;
  std::shared_future<lk::Result<std::shared_ptr<RoomConnection>>> joining;  // valid while a join runs
};

std::mutex registry_mutex;
std::map<std::string, Entry> registry;

}  // namespace

lk::Result<std::string> registry_key(const ConnectOptions& options) {
  auto server = signal::parse_server_url(options.url);
  if (!server) return server.error();
  std::string room = options.room, identity = options.identity;
  if (!options.token.empty()) {
    auto claims = signal::read_token_claims(options.token);
    if (!claims) return claims.error();
    room = claims->room;
    identity = claims->identity;
  }
  // Unit separators keep "a"+"bc" and "ab"+"c" apart.
  return server->websocket_base() + '\x1f' + room + '\x1f' + identity;
}

lk::Result<std::shared_ptr<RoomConnection>> acquire_room(const ConnectOptions& options) {
  auto key = registry_key(options);
  if (!key) return key.error();

  std::promise<lk::Result<std::shared_ptr<RoomConnection>>> mine;
  std::shared_future<lk::Result<std::shared_ptr<RoomConnection>>> theirs;
  {
    std::lock_guard lock(registry_mutex);
    Entry& entry = registry[*key];
    if (auto live = entry.room.lock(); live && live->status()) return live;
    if (entry.joining.valid()) {
      theirs = entry.joining;
    } else {
      entry.joining = mine.get_future().share();
    }
  }
  if (theirs.valid()) return theirs.get();

  auto joined = RoomConnection::connect(options);
  {
    std::lock_guard lock(registry_mutex);
    Entry& entry = registry[*key];
    entry.joining = {};
    if (joined) {
      entry.room = *joined;
    } else if (entry.room.expired()) {
      registry.erase(*key);
    }
  }
  mine.set_value(joined);
  return joined;
}

}  // namespace lk::room
