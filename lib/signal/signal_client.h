// LiveKit signalling over one WebSocket (libsoup 3): each binary message out is
// one SignalRequest, each one in a SignalResponse; an application-level
// ping_req/pong_resp keepalive detects a silent server (docs/protocol.md,
// "Signalling").
//
// Threads: construct, call every method and destroy on the thread that runs
// `context` (which must be that thread's default context while it runs);
// every callback runs there. Do not destroy the client inside its callbacks.
// Logs name the URL without its query (tokens never appear in a log line).
#pragma once

#include <glib.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "livekit_rtc.pb.h"
#include "util/result.h"

namespace lk::signal {

struct HttpOptions {
  std::string authorization;  // e.g. "Bearer <jwt>"; "" when the token rides in the URL
  // PEM file of trust anchors used instead of the system's store for wss:// and
  // https://. TLS is always verified; there is no way to turn that off.
  std::string ca_file;
  unsigned timeout_ms = 15000;  // connect (TCP, TLS, HTTP upgrade) or GET, whole
};

struct HttpReply {
  unsigned status = 0;
  std::string body;
};

class SignalClient {
 public:
  explicit SignalClient(GMainContext* context);
  ~SignalClient();
  SignalClient(const SignalClient&) = delete;
  SignalClient& operator=(const SignalClient&) = delete;

  // Opens the WebSocket. `done` gets ok, or an error whose kind says why:
  // NotAuthorized (HTTP 401/403), NotFound (404), Network (DNS, TCP, TLS or
  // another status), Timeout. http_status() is then the upgrade's HTTP status
  // (0 when none came back). Messages received after `done` go to on_message.
  void connect(const std::string& url, const HttpOptions& options,
               std::function<void(lk::Result<void>)> done);
  unsigned http_status() const;

  // One HTTP GET (LiveKit's validate endpoints): any status is a reply; only
  // a failure to get one is an error (Network, Timeout). Independent of the
  // WebSocket; may run while it is open or after it failed.
  void get(const std::string& url, const HttpOptions& options,
           std::function<void(lk::Result<HttpReply>)> done);

  lk::Result<void> send(const livekit::SignalRequest& request);

  // Sends ping_req every interval; on_lost(Timeout) when nothing at all came
  // from the server for timeout_ms.
  void start_keepalive(unsigned interval_ms, unsigned timeout_ms);

  // Closes the WebSocket (normal closure). No on_lost afterwards.
  void close();
  bool is_open() const;

  // Round trip of the last ping_req answered (ms), -1 before the first.
  int64_t rtt_ms() const;
  // Messages that were not a binary SignalResponse, dropped.
  uint64_t malformed_messages() const;

  std::function<void(const livekit::SignalResponse&)> on_message;
  // The connection ended without close(): closed by the server, an I/O error,
  // or the server silent past the keepalive timeout.
  std::function<void(const lk::Error&)> on_lost;

  // "wss://host:port/path" of a URL: what logs and error messages may show.
  static std::string loggable(const std::string& url);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace lk::signal
