#undef G_LOG_DOMAIN
#define G_LOG_DOMAIN "livekit-signal"

#include "signal/signal_client.h"

#include <libsoup/soup.h>

#include <utility>

namespace lk::signal {
namespace {

// LiveKit's signalling messages are small, but a JoinResponse or a
// ParticipantUpdate of a big room can pass libsoup's 128 KiB default.
constexpr guint64 kMaxIncomingMessage = 4 * 1024 * 1024;

int64_t now_ms() { return g_get_real_time() / 1000; }

// libsoup builds HTTP requests from http(s) URLs; the WebSocket handshake is
// the same request.
std::string http_form(const std::string& url) {
  if (url.rfind("ws://", 0) == 0) return "http://" + url.substr(5);
  if (url.rfind("wss://", 0) == 0) return "https://" + url.substr(6);
  return url;
}

// Maps a libsoup/GIO failure to an error kind and a message that says what to fix.
lk::Error transport_error(const GError* error, const std::string& url, bool timed_out, unsigned timeout_ms) {
  const std::string where = SignalClient::loggable(url);
  if (timed_out) {
    return lk::make_error(lk::ErrorKind::Timeout,
                          "no answer from " + where + " within " + std::to_string(timeout_ms) +
                              " ms: check the URL and that the server is reachable");
  }
  if (error && error->domain == G_TLS_ERROR) {
    return lk::make_error(lk::ErrorKind::Network,
                          "TLS failed with " + where + ": " + error->message +
                              " (the server's certificate must verify; give a CA file for a private CA)");
  }
  if (error && g_error_matches(error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND)) {
    return lk::make_error(lk::ErrorKind::Network, "cannot resolve the host of " + where + ": " + error->message);
  }
  return lk::make_error(lk::ErrorKind::Network, "cannot connect to " + where + ": " +
                                                    (error ? error->message : "unknown error"));
}

}  // namespace

struct SignalClient::Impl {
  GMainContext* context = nullptr;
  SoupSession* session = nullptr;
  SoupWebsocketConnection* ws = nullptr;
  GCancellable* cancellable = nullptr;
  unsigned http_status = 0;
  bool closing = false;

  GSource* keepalive = nullptr;
  unsigned keepalive_timeout_ms = 0;
  int64_t last_heard_ms = 0;
  int64_t rtt_ms = -1;
  uint64_t malformed = 0;

  SignalClient* owner = nullptr;

  // Every async libsoup call gets one of these: the client may be gone by the
  // time it completes.
  struct Pending {
    std::weak_ptr<Impl> impl;
    SoupMessage* message;
    GSource* deadline;
    bool timed_out = false;
    std::string url;
    unsigned timeout_ms;
  };

  lk::Result<Pending*> start(std::shared_ptr<Impl> self, const std::string& url, const HttpOptions& options,
                             SoupMessage** out);
  static void finish_deadline(Pending* p) {
    if (p->deadline) {
      g_source_destroy(p->deadline);
      g_source_unref(p->deadline);
      p->deadline = nullptr;
    }
  }

  void stop_keepalive() {
    if (keepalive) {
      g_source_destroy(keepalive);
      g_source_unref(keepalive);
      keepalive = nullptr;
    }
  }

  void drop_ws() {
    stop_keepalive();
    if (!ws) return;
    g_signal_handlers_disconnect_by_data(ws, this);
    if (soup_websocket_connection_get_state(ws) == SOUP_WEBSOCKET_STATE_OPEN) {
      soup_websocket_connection_close(ws, SOUP_WEBSOCKET_CLOSE_NORMAL, nullptr);
    }
    g_object_unref(ws);
    ws = nullptr;
  }

  void lost(lk::Error error) {
    drop_ws();
    if (owner && owner->on_lost) owner->on_lost(error);
  }

  lk::Result<void> configure_session(const HttpOptions& options) {
    if (session) return lk::ok();
    session = soup_session_new_with_options("user-agent", "gst-livekit-data", nullptr);
    if (options.ca_file.empty()) return lk::ok();
    GError* error = nullptr;
    GTlsDatabase* db = g_tls_file_database_new(options.ca_file.c_str(), &error);
    if (!db) {
      std::string why = error->message;
      g_error_free(error);
      g_clear_object(&session);
      return lk::make_error(lk::ErrorKind::InvalidArgument,
                            "the CA file " + options.ca_file + " cannot be used: " + why + " (give a PEM file)");
    }
    soup_session_set_tls_database(session, db);
    g_object_unref(db);
    return lk::ok();
  }

  static void on_message(SoupWebsocketConnection*, gint type, GBytes* message, gpointer data) {
    auto* self = static_cast<Impl*>(data);
    gsize size = 0;
    const void* bytes = g_bytes_get_data(message, &size);
    livekit::SignalResponse response;
    if (type != SOUP_WEBSOCKET_DATA_BINARY || !response.ParseFromArray(bytes, int(size))) {
      ++self->malformed;
      g_debug("signalling message of %zu bytes that is not a SignalResponse dropped", size_t(size));
      return;
    }
    self->last_heard_ms = now_ms();
    if (response.has_pong_resp()) self->rtt_ms = now_ms() - response.pong_resp().last_ping_timestamp();
    if (self->owner && self->owner->on_message) self->owner->on_message(response);
  }

  static void on_closed(SoupWebsocketConnection* ws, gpointer data) {
    auto* self = static_cast<Impl*>(data);
    const char* reason = soup_websocket_connection_get_close_data(ws);
    const gushort code = soup_websocket_connection_get_close_code(ws);
    self->lost(lk::make_error(lk::ErrorKind::Network,
                              "the server closed the signalling connection (code " + std::to_string(code) +
                                  (reason && *reason ? std::string(", ") + reason : std::string()) + ")"));
  }

  static gboolean on_keepalive(gpointer data) {
    auto* self = static_cast<Impl*>(data);
    const int64_t silent = now_ms() - self->last_heard_ms;
    if (silent > int64_t(self->keepalive_timeout_ms)) {
      self->lost(lk::make_error(lk::ErrorKind::Timeout,
                                "the server stopped answering: nothing for " + std::to_string(silent) +
                                    " ms (ping timeout " + std::to_string(self->keepalive_timeout_ms) + " ms)"));
      return G_SOURCE_REMOVE;  // lost() destroyed the source already
    }
    livekit::SignalRequest ping;
    ping.mutable_ping_req()->set_timestamp(now_ms());
    ping.mutable_ping_req()->set_rtt(self->rtt_ms < 0 ? 0 : self->rtt_ms);
    std::string bytes = ping.SerializeAsString();
    if (self->ws) soup_websocket_connection_send_binary(self->ws, bytes.data(), bytes.size());
    return G_SOURCE_CONTINUE;
  }
};

lk::Result<SignalClient::Impl::Pending*> SignalClient::Impl::start(std::shared_ptr<Impl> self, const std::string& url,
                                                                   const HttpOptions& options, SoupMessage** out) {
  if (auto configured = configure_session(options); !configured) return configured.error();
  SoupMessage* message = soup_message_new("GET", http_form(url).c_str());
  if (!message) return lk::make_error(lk::ErrorKind::InvalidArgument, "not a usable URL: " + loggable(url));
  if (!options.authorization.empty()) {
    soup_message_headers_replace(soup_message_get_request_headers(message), "Authorization",
                                 options.authorization.c_str());
  }
  if (!cancellable) cancellable = g_cancellable_new();
  auto* pending = new Pending{self, message, nullptr, false, url, options.timeout_ms};
  pending->deadline = g_timeout_source_new(options.timeout_ms);
  g_source_set_callback(
      pending->deadline,
      [](gpointer data) -> gboolean {
        auto* p = static_cast<Pending*>(data);
        p->timed_out = true;
        if (auto impl = p->impl.lock()) g_cancellable_cancel(impl->cancellable);
        return G_SOURCE_REMOVE;
      },
      pending, nullptr);
  g_source_attach(pending->deadline, context);
  *out = message;
  return pending;
}

SignalClient::SignalClient(GMainContext* context) : impl_(std::make_shared<Impl>()) {
  impl_->context = context ? context : g_main_context_get_thread_default();
  if (!impl_->context) impl_->context = g_main_context_default();
  impl_->owner = this;
}

SignalClient::~SignalClient() {
  impl_->owner = nullptr;
  impl_->closing = true;
  if (impl_->cancellable) {
    g_cancellable_cancel(impl_->cancellable);
    g_object_unref(impl_->cancellable);
  }
  impl_->drop_ws();
  // Pending completions hold only a weak reference; libsoup keeps the
  // session alive until they have run.
  if (impl_->session) g_object_unref(impl_->session);
}

void SignalClient::connect(const std::string& url, const HttpOptions& options,
                           std::function<void(lk::Result<void>)> done) {
  impl_->closing = false;
  impl_->http_status = 0;
  SoupMessage* message = nullptr;
  auto started = impl_->start(impl_, url, options, &message);
  if (!started) return done(started.error());
  Impl::Pending* pending = *started;
  g_debug("connecting to %s", loggable(url).c_str());
  struct Call {
    Impl::Pending* pending;
    std::function<void(lk::Result<void>)> done;
  };
  soup_session_websocket_connect_async(
      impl_->session, message, nullptr, nullptr, G_PRIORITY_DEFAULT, impl_->cancellable,
      [](GObject* source, GAsyncResult* result, gpointer data) {
        std::unique_ptr<Call> call(static_cast<Call*>(data));
        std::unique_ptr<Impl::Pending> p(call->pending);
        Impl::finish_deadline(p.get());
        GError* error = nullptr;
        SoupWebsocketConnection* ws =
            soup_session_websocket_connect_finish(SOUP_SESSION(source), result, &error);
        const unsigned status = soup_message_get_status(p->message);
        g_object_unref(p->message);
        auto self = p->impl.lock();
        if (!self || !self->owner) {  // the client is gone
          if (ws) g_object_unref(ws);
          if (error) g_error_free(error);
          return;
        }
        self->http_status = status;
        if (!ws) {
          lk::Error failure;
          const std::string where = loggable(p->url);
          if (status == SOUP_STATUS_UNAUTHORIZED || status == SOUP_STATUS_FORBIDDEN) {
            failure = lk::make_error(lk::ErrorKind::NotAuthorized,
                                     where + " refused the token (HTTP " + std::to_string(status) +
                                         "): check the API key and secret, or the token's grants and expiry");
          } else if (status == SOUP_STATUS_NOT_FOUND) {
            failure = lk::make_error(lk::ErrorKind::NotFound, where + " answered 404 Not Found");
          } else if (status >= 100) {
            failure = lk::make_error(lk::ErrorKind::Network, where + " refused the WebSocket upgrade (HTTP " +
                                                                 std::to_string(status) + ")");
          } else {
            failure = transport_error(error, p->url, p->timed_out, p->timeout_ms);
          }
          if (error) g_error_free(error);
          // A cancelled cancellable stays cancelled: make a fresh one.
          g_clear_object(&self->cancellable);
          call->done(std::move(failure));
          return;
        }
        soup_websocket_connection_set_max_incoming_payload_size(ws, kMaxIncomingMessage);
        self->ws = ws;
        self->last_heard_ms = now_ms();
        g_signal_connect(ws, "message", G_CALLBACK(Impl::on_message), self.get());
        g_signal_connect(ws, "closed", G_CALLBACK(Impl::on_closed), self.get());
        g_debug("connected to %s", loggable(p->url).c_str());
        call->done(lk::ok());
      },
      new Call{pending, std::move(done)});
}

unsigned SignalClient::http_status() const { return impl_->http_status; }

void SignalClient::get(const std::string& url, const HttpOptions& options,
                       std::function<void(lk::Result<HttpReply>)> done) {
  SoupMessage* message = nullptr;
  auto started = impl_->start(impl_, url, options, &message);
  if (!started) return done(started.error());
  Impl::Pending* pending = *started;
  struct Call {
    Impl::Pending* pending;
    std::function<void(lk::Result<HttpReply>)> done;
  };
  soup_session_send_and_read_async(
      impl_->session, message, G_PRIORITY_DEFAULT, impl_->cancellable,
      [](GObject* source, GAsyncResult* result, gpointer data) {
        std::unique_ptr<Call> call(static_cast<Call*>(data));
        std::unique_ptr<Impl::Pending> p(call->pending);
        Impl::finish_deadline(p.get());
        GError* error = nullptr;
        GBytes* body = soup_session_send_and_read_finish(SOUP_SESSION(source), result, &error);
        HttpReply reply{soup_message_get_status(p->message), {}};
        g_object_unref(p->message);
        if (body) {
          gsize size = 0;
          const char* bytes = static_cast<const char*>(g_bytes_get_data(body, &size));
          reply.body.assign(bytes ? bytes : "", size);
          g_bytes_unref(body);
        }
        auto self = p->impl.lock();
        if (!self || !self->owner) {
          if (error) g_error_free(error);
          return;
        }
        if (!body) {
          lk::Error failure = transport_error(error, p->url, p->timed_out, p->timeout_ms);
          if (error) g_error_free(error);
          g_clear_object(&self->cancellable);
          call->done(std::move(failure));
          return;
        }
        call->done(std::move(reply));
      },
      new Call{pending, std::move(done)});
}

lk::Result<void> SignalClient::send(const livekit::SignalRequest& request) {
  if (!is_open()) return lk::make_error(lk::ErrorKind::Closed, "signalling connection is not open");
  std::string bytes = request.SerializeAsString();
  soup_websocket_connection_send_binary(impl_->ws, bytes.data(), bytes.size());
  return lk::ok();
}

void SignalClient::start_keepalive(unsigned interval_ms, unsigned timeout_ms) {
  impl_->stop_keepalive();
  impl_->keepalive_timeout_ms = timeout_ms;
  impl_->last_heard_ms = now_ms();
  impl_->keepalive = g_timeout_source_new(interval_ms);
  g_source_set_callback(impl_->keepalive, Impl::on_keepalive, impl_.get(), nullptr);
  g_source_attach(impl_->keepalive, impl_->context);
}

void SignalClient::close() {
  impl_->closing = true;
  impl_->drop_ws();
}

bool SignalClient::is_open() const {
  return impl_->ws && soup_websocket_connection_get_state(impl_->ws) == SOUP_WEBSOCKET_STATE_OPEN;
}

int64_t SignalClient::rtt_ms() const { return impl_->rtt_ms; }
uint64_t SignalClient::malformed_messages() const { return impl_->malformed; }

std::string SignalClient::loggable(const std::string& url) {
  GUri* uri = g_uri_parse(url.c_str(), G_URI_FLAGS_NONE, nullptr);
  if (!uri) return "<unparsable URL>";
  const int port = g_uri_get_port(uri);
  std::string out = std::string(g_uri_get_scheme(uri)) + "://" + (g_uri_get_host(uri) ? g_uri_get_host(uri) : "") +
                    (port > 0 ? ":" + std::to_string(port) : "") + g_uri_get_path(uri);
  g_uri_unref(uri);
  return out;
}

}  // namespace lk::signal
