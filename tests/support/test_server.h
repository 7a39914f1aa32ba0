// A LiveKit server for the room and element tests, as a child process: the real
// livekit-server (scripts/livekit-server.sh) or the bundled test server
// (tests/sfu/server.js), chosen by LKT_SERVER ("livekit" or "sfu"). Both
// print "... listening on ws://HOST:PORT" when ready and stop on SIGTERM.
// Its log goes to a file, printed when a test fails.
#pragma once

#include <gio/gio.h>

#include <optional>
#include <string>
#include <vector>

#include "util/result.h"

namespace lk::test {

class TestServer {
 public:
  static constexpr const char* kApiKey = "devkey";
  static constexpr const char* kApiSecret = "room-test-secret";

  static std::string kind();                          // "livekit" or "sfu"
  static std::optional<std::string> unavailable();    // why the server cannot run here

  // flags: the test server's (--no-v1, --data-tracks-disabled, --no-data-tracks, --ice-lite).
  static lk::Result<TestServer> start(const std::vector<std::string>& flags = {});
  // A TLS-terminating proxy (tests/room/tls-front.mjs) in front of `upstream`:
  // url() is then wss://.
  static lk::Result<TestServer> start_tls_front(const TestServer& upstream, const std::string& cert_file,
                                                const std::string& key_file);
  // A proxy that hides /rtc/v1 (tests/interop/browser/lib/v0-only-front.mjs):
  // a server as old as single-PC signalling, in front of either kind.
  static lk::Result<TestServer> start_v0_only_front(const TestServer& upstream);
  TestServer(TestServer&& other) noexcept;
  ~TestServer();

  const std::string& url() const { return url_; }
  // SIGSTOP / SIGCONT to the server process itself (not its wrapper): a server that goes silent.
  void freeze(bool frozen);
  // SIGKILL to the server and its wrapper: a crash, nobody told.
  void kill();
  // Starts it again (after kill()) with the same flags on the same signalling port.
  lk::Result<void> restart();
  // A proxy whose WebSockets can be cut (tests/room/cut-front.mjs), in front
  // of either kind: get("/debug/cut-signal") on it cuts them.
  static lk::Result<TestServer> start_cut_front(const TestServer& upstream);
  // The test server's fault hook (tests/sfu/README.md): GET /debug/fault?room=&identity=&kind=.
  // The HTTP status (0 when the server did not answer).
  unsigned fault(const std::string& room, const std::string& identity, const std::string& kind) const;
  // GET path_and_query on the signalling port: the HTTP status (0 when none came back).
  unsigned get(const std::string& path_and_query) const;
  std::string log_tail(size_t lines = 40) const;
  void stop();

 private:
  TestServer() = default;
  // Runs argv; ready when it prints "... listening on URL".
  static lk::Result<TestServer> launch(const std::vector<std::string>& argv);
  GSubprocess* process_ = nullptr;
  std::vector<std::string> argv_;  // as started, for restart()
  std::string url_;
  std::string log_path_;
};

}  // namespace lk::test
