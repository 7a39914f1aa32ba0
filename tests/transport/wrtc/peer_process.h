// A peer in a child process spoken to in JSON lines: the libwebrtc peer in
// Node (tests/interop/wrtc/peer.mjs), the pion peer in Go
// (tests/interop/pion) or ours (bench/rtc/ours_peer), all the same protocol. Commands go to its stdin, events come back from its stdout and
// are dispatched on the GMainContext that was thread-default when
// the peer was spawned. LK_WRTC_TRACE=1 prints every event to stderr.
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/result.h"

namespace lk::test {

// One event line from the peer, e.g. {"ev":"message","label":"x","size":3,...}.
class PeerEvent {
 public:
  PeerEvent(std::shared_ptr<JsonNode> node, std::string line);

  const std::string& type() const { return type_; }  // the "ev" member
  const std::string& line() const { return line_; }  // raw text, for messages
  bool has(const char* member) const;
  std::string str(const char* member) const;    // "" when absent or not a string
  int64_t num(const char* member) const;        // 0 when absent or not a number
  double real(const char* member) const;
  bool flag(const char* member) const;

 private:
  JsonNode* member(const char* name) const;
  std::shared_ptr<JsonNode> node_;
  std::string line_;
  std::string type_;
};

// Builds one command line: Command("send").set("label", "x").set("size", 3).
class Command {
 public:
  explicit Command(const char* name);
  Command& set(const char* member, const std::string& value);
  Command& set(const char* member, const char* value) { return set(member, std::string(value)); }
  Command& set(const char* member, int64_t value);
  Command& set(const char* member, bool value);
  std::string to_line() const;

 private:
  std::shared_ptr<JsonObject> object_;
};

class PeerProcess {
 public:
  // Starts argv; the current thread-default GMainContext receives its
  // events. Fails when the process cannot start or does not say "ready"
  // within ready_timeout_ms.
  static lk::Result<std::unique_ptr<PeerProcess>> spawn(const std::vector<std::string>& argv,
                                                        unsigned ready_timeout_ms = 10000);
  ~PeerProcess();  // closes its stdin, waits up to 2 s, then kills it
  PeerProcess(const PeerProcess&) = delete;
  PeerProcess& operator=(const PeerProcess&) = delete;

  lk::Result<void> send(const Command& command);
  lk::Result<void> send_raw(const std::string& line);  // for malformed-input tests

  // Every event so far, in arrival order.
  const std::vector<PeerEvent>& events() const { return events_; }
  // Iterates the context until an event at index >= from satisfies pred, or
  // timeout_ms passes, or the process exits. The error names `what`.
  lk::Result<PeerEvent> wait_for(const std::string& what,
                                 const std::function<bool(const PeerEvent&)>& pred,
                                 unsigned timeout_ms = 10000, size_t from = 0);

  // Called for every event as it arrives (before wait_for sees it).
  std::function<void(const PeerEvent&)> on_event;

  void kill();               // SIGKILL, as a crashed peer
  bool exited() const { return exited_; }
  pid_t pid() const { return pid_; }
  GMainContext* context() const { return context_; }

 private:
  PeerProcess() = default;
  void read_next_line();
  static void on_line(GObject* source, GAsyncResult* result, gpointer self);

  GMainContext* context_ = nullptr;
  GSubprocess* process_ = nullptr;
  GDataInputStream* stdout_ = nullptr;
  GCancellable* cancellable_ = nullptr;
  std::vector<PeerEvent> events_;
  bool exited_ = false;
  pid_t pid_ = 0;
};

// The command line of a peer kind, from the environment meson sets:
// "libwebrtc" is $LK_NODE $LK_WRTC_PEER, "pion" is $LK_PION_PEER, "ours" is
// $LK_OURS_PEER. Fails for an unknown kind, or for pion when it was not built
// (the reason from $LK_PION_UNAVAILABLE).
lk::Result<std::vector<std::string>> peer_command(const std::string& kind);

// Iterates `context` until done() or timeout_ms passes; returns done().
bool run_until(GMainContext* context, const std::function<bool()>& done, unsigned timeout_ms);

}  // namespace lk::test
