#include "peer_process.h"

#include <signal.h>

#include <cstdlib>

#include <utility>

namespace lk::test {

namespace {

std::shared_ptr<JsonNode> parse_line(const std::string& line) {
  JsonParser* parser = json_parser_new();
  std::shared_ptr<JsonNode> node;
  if (json_parser_load_from_data(parser, line.c_str(), static_cast<gssize>(line.size()), nullptr)) {
    JsonNode* root = json_parser_get_root(parser);
    if (root && JSON_NODE_HOLDS_OBJECT(root)) node.reset(json_node_copy(root), json_node_unref);
  }
  g_object_unref(parser);
  return node;
}

}  // namespace

PeerEvent::PeerEvent(std::shared_ptr<JsonNode> node, std::string line)
    : node_(std::move(node)), line_(std::move(line)), type_(str("ev")) {}

JsonNode* PeerEvent::member(const char* name) const {
  if (!node_) return nullptr;
  JsonObject* object = json_node_get_object(node_.get());
  return json_object_has_member(object, name) ? json_object_get_member(object, name) : nullptr;
}

bool PeerEvent::has(const char* name) const {
  JsonNode* node = member(name);
  return node && !JSON_NODE_HOLDS_NULL(node);
}

std::string PeerEvent::str(const char* name) const {
  JsonNode* node = member(name);
  if (!node || json_node_get_value_type(node) != G_TYPE_STRING) return "";
  return json_node_get_string(node);
}

int64_t PeerEvent::num(const char* name) const {
  JsonNode* node = member(name);
  if (!node || !JSON_NODE_HOLDS_VALUE(node)) return 0;
  GType type = json_node_get_value_type(node);
  if (type == G_TYPE_INT64) return json_node_get_int(node);
  if (type == G_TYPE_DOUBLE) return static_cast<int64_t>(json_node_get_double(node));
  return 0;
}

double PeerEvent::real(const char* name) const {
  JsonNode* node = member(name);
  if (!node || !JSON_NODE_HOLDS_VALUE(node)) return 0;
  GType type = json_node_get_value_type(node);
  if (type == G_TYPE_INT64) return static_cast<double>(json_node_get_int(node));
  if (type == G_TYPE_DOUBLE) return json_node_get_double(node);
  return 0;
}

bool PeerEvent::flag(const char* name) const {
  JsonNode* node = member(name);
  return node && json_node_get_value_type(node) == G_TYPE_BOOLEAN && json_node_get_boolean(node);
}

Command::Command(const char* name) : object_(json_object_new(), json_object_unref) {
  json_object_set_string_member(object_.get(), "cmd", name);
}

Command& Command::set(const char* member, const std::string& value) {
  json_object_set_string_member(object_.get(), member, value.c_str());
  return *this;
}

Command& Command::set(const char* member, int64_t value) {
  json_object_set_int_member(object_.get(), member, value);
  return *this;
}

Command& Command::set(const char* member, bool value) {
  json_object_set_boolean_member(object_.get(), member, value);
  return *this;
}

std::string Command::to_line() const {
  JsonNode* node = json_node_new(JSON_NODE_OBJECT);
  json_node_set_object(node, object_.get());
  gchar* text = json_to_string(node, FALSE);
  std::string line(text);
  g_free(text);
  json_node_unref(node);
  return line;
}

namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value && *value ? value : fallback;
}

}  // namespace

lk::Result<std::vector<std::string>> peer_command(const std::string& kind) {
  if (kind == "libwebrtc")
    return std::vector<std::string>{env_or("LK_NODE", "node"), env_or("LK_WRTC_PEER", "tests/interop/wrtc/peer.mjs")};
  if (kind == "ours") return std::vector<std::string>{env_or("LK_OURS_PEER", "bench/rtc/ours_peer")};
  if (kind == "pion") {
    std::string program = env_or("LK_PION_PEER", "");
    if (program.empty())
      return lk::make_error(lk::ErrorKind::Unsupported,
                            "no pion peer: " + env_or("LK_PION_UNAVAILABLE", "LK_PION_PEER is not set"));
    return std::vector<std::string>{program};
  }
  return lk::make_error(lk::ErrorKind::InvalidArgument, "unknown peer kind \"" + kind + "\"");
}

bool run_until(GMainContext* context, const std::function<bool()>& done, unsigned timeout_ms) {
  bool expired = false;
  GSource* timer = g_timeout_source_new(timeout_ms);
  g_source_set_callback(
      timer, [](gpointer flag) { *static_cast<bool*>(flag) = true; return G_SOURCE_REMOVE; },
      &expired, nullptr);
  g_source_attach(timer, context);
  while (!done() && !expired) g_main_context_iteration(context, TRUE);
  g_source_destroy(timer);
  g_source_unref(timer);
  return done();
}

lk::Result<std::unique_ptr<PeerProcess>> PeerProcess::spawn(const std::vector<std::string>& argv,
                                                            unsigned ready_timeout_ms) {
  if (argv.empty()) return lk::make_error(lk::ErrorKind::InvalidArgument, "no program to spawn");
  std::unique_ptr<PeerProcess> peer(new PeerProcess());
  peer->context_ = g_main_context_ref_thread_default();
  GError* error = nullptr;
  std::vector<const gchar*> args;
  std::string command_line;
  for (const auto& arg : argv) {
    args.push_back(arg.c_str());
    command_line += (command_line.empty() ? "" : " ") + arg;
  }
  args.push_back(nullptr);
  peer->process_ = g_subprocess_newv(
      args.data(), static_cast<GSubprocessFlags>(G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE),
      &error);
  if (!peer->process_) {
    std::string message = "cannot start " + command_line + ": " + error->message;
    g_error_free(error);
    return lk::make_error(lk::ErrorKind::Internal, message);
  }
  const gchar* id = g_subprocess_get_identifier(peer->process_);
  peer->pid_ = id ? static_cast<pid_t>(g_ascii_strtoll(id, nullptr, 10)) : 0;
  peer->stdout_ = g_data_input_stream_new(g_subprocess_get_stdout_pipe(peer->process_));
  peer->cancellable_ = g_cancellable_new();
  peer->read_next_line();
  auto ready = peer->wait_for("ready", [](const PeerEvent& e) { return e.type() == "ready"; },
                              ready_timeout_ms);
  if (!ready.ok()) return ready.error();
  return peer;
}

PeerProcess::~PeerProcess() {
  g_cancellable_cancel(cancellable_);
  if (process_) {
    // Closing its stdin asks the peer to leave (and lets a profiler wrapping
    // it write its data); a peer still there after 2 s is killed.
    g_output_stream_close(g_subprocess_get_stdin_pipe(process_), nullptr, nullptr);
    bool gone = false;
    g_subprocess_wait_async(
        process_, nullptr, [](GObject*, GAsyncResult*, gpointer flag) { *static_cast<bool*>(flag) = true; }, &gone);
    if (!run_until(context_, [&] { return gone; }, 2000)) {
      g_subprocess_force_exit(process_);
      run_until(context_, [&] { return gone; }, 2000);
    }
  }
  // A read still pending completes as cancelled on the context, without us.
  g_clear_object(&stdout_);
  g_clear_object(&process_);
  g_clear_object(&cancellable_);
  g_main_context_unref(context_);
}

void PeerProcess::read_next_line() {
  g_data_input_stream_read_line_async(stdout_, G_PRIORITY_DEFAULT, cancellable_, &PeerProcess::on_line, this);
}

void PeerProcess::on_line(GObject* source, GAsyncResult* result, gpointer data) {
  GError* error = nullptr;
  gsize length = 0;
  gchar* text = g_data_input_stream_read_line_finish(G_DATA_INPUT_STREAM(source), result, &length, &error);
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
    g_error_free(error);
    return;  // the PeerProcess is gone or going: do not touch it
  }
  auto* self = static_cast<PeerProcess*>(data);
  if (!text) {  // end of stream or read error: the process is gone
    if (error) {
      g_warning("peer process: reading its output failed: %s", error->message);
      g_error_free(error);
    }
    self->exited_ = true;
    return;
  }
  std::string line(text, length);
  g_free(text);
  auto node = parse_line(line);
  if (!node) {
    g_warning("peer process: ignoring a line that is not a JSON object: %s", line.c_str());
  } else {
    if (g_getenv("LK_WRTC_TRACE")) g_printerr("peer[%d] %s\n", static_cast<int>(self->pid_), line.c_str());
    self->events_.emplace_back(std::move(node), std::move(line));
    PeerEvent event = self->events_.back();  // on_event may append more
    if (self->on_event) self->on_event(event);
  }
  self->read_next_line();
}

lk::Result<void> PeerProcess::send(const Command& command) {
  return send_raw(command.to_line());
}

lk::Result<void> PeerProcess::send_raw(const std::string& line) {
  if (exited_) return lk::make_error(lk::ErrorKind::Closed, "peer process has exited");
  std::string text = line + "\n";
  GError* error = nullptr;
  GOutputStream* in = g_subprocess_get_stdin_pipe(process_);
  if (!g_output_stream_write_all(in, text.data(), text.size(), nullptr, nullptr, &error)) {
    std::string message = std::string("writing to the peer process failed: ") + error->message;
    g_error_free(error);
    return lk::make_error(lk::ErrorKind::Network, message);
  }
  return lk::ok();
}

lk::Result<PeerEvent> PeerProcess::wait_for(const std::string& what,
                                         const std::function<bool(const PeerEvent&)>& pred,
                                         unsigned timeout_ms, size_t from) {
  size_t next = from;
  std::optional<PeerEvent> found;
  auto scan = [&] {
    for (; !found && next < events_.size(); ++next) {
      if (pred(events_[next])) found = events_[next];
    }
    return found.has_value() || exited_;
  };
  run_until(context_, scan, timeout_ms);
  if (found) return *found;
  std::string message = "peer process: no " + what + (exited_ ? " before the process exited" :
                        " within " + std::to_string(timeout_ms) + " ms");
  if (!events_.empty()) message += "; last event: " + events_.back().line();
  return lk::make_error(lk::ErrorKind::Timeout, message);
}

void PeerProcess::kill() {
  if (process_) g_subprocess_send_signal(process_, SIGKILL);
}

}  // namespace lk::test
