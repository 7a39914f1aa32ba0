#include "test_server.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>
#include <utility>

namespace lk::test {
namespace {

std::string source_root() {
  const char* root = g_getenv("LKT_SOURCE_ROOT");
  return root ? root : ".";
}

}  // namespace

std::string TestServer::kind() {
  const char* k = g_getenv("LKT_SERVER");
  return k && *k ? k : "sfu";
}

std::optional<std::string> TestServer::unavailable() {
  if (kind() != "livekit") return std::nullopt;
  const std::string cache = source_root() + "/.cache/livekit-server";
  if (g_file_test((cache + "/v1.13.5/livekit-server").c_str(), G_FILE_TEST_IS_EXECUTABLE)) return std::nullopt;
  std::ifstream why(cache + "/UNAVAILABLE");
  std::stringstream text;
  text << why.rdbuf();
  return "no livekit-server: " + (text.str().empty() ? std::string("not built (run scripts/setup.sh)") : text.str());
}

lk::Result<TestServer> TestServer::start(const std::vector<std::string>& flags) {
  std::vector<std::string> argv;
  if (kind() == "livekit") {
    argv = {source_root() + "/scripts/livekit-server.sh"};
  } else {
    const char* node = g_getenv("LK_NODE");
    argv = {node ? node : "node", source_root() + "/tests/sfu/server.js", "--host", "10.99.0.1"};
  }
  argv.insert(argv.end(), flags.begin(), flags.end());
  for (const char* a : {"--port", "0", "--api-key", kApiKey, "--api-secret", kApiSecret}) argv.push_back(a);
  auto server = launch(argv);
  if (server) server->argv_ = argv;
  return server;
}

void TestServer::kill() {
  if (!process_) return;
  if (const char* pid = g_subprocess_get_identifier(process_)) {
    const std::string cmd = std::string("pkill -KILL -P ") + pid + " 2>/dev/null; kill -KILL " + pid + " 2>/dev/null";
    (void)std::system(cmd.c_str());
  }
  g_subprocess_wait(process_, nullptr, nullptr);
  g_object_unref(process_);
  process_ = nullptr;
}

lk::Result<void> TestServer::restart() {
  kill();
  auto argv = argv_;
  for (size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] == "--port") argv[i + 1] = url_.substr(url_.rfind(':') + 1);
  }
  auto again = launch(argv);
  if (!again) return again.error();
  if (again->url_ != url_) return lk::make_error(lk::ErrorKind::Internal, "restarted on " + again->url_ + ", not " + url_);
  process_ = std::exchange(again->process_, nullptr);
  std::swap(log_path_, again->log_path_);  // the log of the server now running; the old one goes with `again`
  return lk::ok();
}

unsigned TestServer::fault(const std::string& room, const std::string& identity, const std::string& kind) const {
  return get("/debug/fault?room=" + room + "&identity=" + identity + "&kind=" + kind);
}

unsigned TestServer::get(const std::string& path_and_query) const {
  // url_ is ws://HOST:PORT: the same socket answers plain HTTP.
  const std::string host_port = url_.substr(url_.find("//") + 2);
  GSocketClient* client = g_socket_client_new();
  g_socket_client_set_timeout(client, 5);
  GSocketConnection* connection = g_socket_client_connect_to_host(client, host_port.c_str(), 80, nullptr, nullptr);
  g_object_unref(client);
  if (!connection) return 0;
  const std::string request = "GET " + path_and_query + " HTTP/1.0\r\nHost: " + host_port + "\r\n\r\n";
  GOutputStream* out = g_io_stream_get_output_stream(G_IO_STREAM(connection));
  GInputStream* in = g_io_stream_get_input_stream(G_IO_STREAM(connection));
  char reply[64] = {};
  gsize got = 0;
  unsigned status = 0;
  if (g_output_stream_write_all(out, request.data(), request.size(), nullptr, nullptr, nullptr) &&
      g_input_stream_read_all(in, reply, sizeof reply - 1, &got, nullptr, nullptr)) {
    std::sscanf(reply, "HTTP/%*s %u", &status);  // "HTTP/1.1 200 OK"
  }
  g_object_unref(connection);
  return status;
}

lk::Result<TestServer> TestServer::start_tls_front(const TestServer& upstream, const std::string& cert_file,
                                                  const std::string& key_file) {
  const char* node = g_getenv("LK_NODE");
  return launch({node ? node : "node", source_root() + "/tests/room/tls-front.mjs", upstream.url(), cert_file, key_file});
}

lk::Result<TestServer> TestServer::start_cut_front(const TestServer& upstream) {
  const char* node = g_getenv("LK_NODE");
  return launch({node ? node : "node", source_root() + "/tests/room/cut-front.mjs", upstream.url()});
}

lk::Result<TestServer> TestServer::start_v0_only_front(const TestServer& upstream) {
  const char* node = g_getenv("LK_NODE");
  return launch({node ? node : "node", source_root() + "/tests/interop/browser/lib/v0-only-front.mjs", upstream.url()});
}

lk::Result<TestServer> TestServer::launch(const std::vector<std::string>& argv) {
  TestServer server;
  gchar* log_path = nullptr;
  int fd = g_file_open_tmp("lkt-room-server-XXXXXX.log", &log_path, nullptr);
  if (fd >= 0) close(fd);
  server.log_path_ = log_path ? log_path : "";
  g_free(log_path);

  GSubprocessLauncher* launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_stderr_file_path(launcher, server.log_path_.c_str());
  std::vector<const gchar*> cargv;
  for (auto& a : argv) cargv.push_back(a.c_str());
  cargv.push_back(nullptr);
  GError* error = nullptr;
  server.process_ = g_subprocess_launcher_spawnv(launcher, cargv.data(), &error);
  g_object_unref(launcher);
  if (!server.process_) {
    std::string message = error->message;
    g_error_free(error);
    return lk::make_error(lk::ErrorKind::Internal, "cannot start the server: " + message);
  }

  // The readiness line, read on a helper thread so a silent server times out.
  GDataInputStream* out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(server.process_));
  auto ready = std::async(std::launch::async, [out] {
    gchar* line = g_data_input_stream_read_line(out, nullptr, nullptr, nullptr);
    std::string text = line ? line : "";
    g_free(line);
    return text;
  });
  std::string line;
  if (ready.wait_for(std::chrono::seconds(30)) == std::future_status::ready) line = ready.get();
  const auto at = line.find(" listening on ");
  if (at == std::string::npos) {
    server.stop();
    if (ready.valid()) ready.wait();
    g_object_unref(out);
    return lk::make_error(lk::ErrorKind::Internal, "the server did not start:\n" + server.log_tail());
  }
  g_object_unref(out);
  server.url_ = line.substr(at + 14);
  return server;
}

TestServer::TestServer(TestServer&& other) noexcept
    : process_(std::exchange(other.process_, nullptr)), argv_(std::move(other.argv_)), url_(std::move(other.url_)),
      log_path_(std::move(other.log_path_)) {}

TestServer::~TestServer() {
  stop();
  if (!log_path_.empty()) unlink(log_path_.c_str());
}

void TestServer::stop() {
  if (!process_) return;
  freeze(false);
  g_subprocess_send_signal(process_, SIGTERM);
  // Both servers stop within a couple of seconds; never hang a test on it.
  auto waited = std::async(std::launch::async, [p = process_] { g_subprocess_wait(p, nullptr, nullptr); });
  if (waited.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    g_subprocess_force_exit(process_);
    waited.wait();
  }
  g_object_unref(process_);
  process_ = nullptr;
}

void TestServer::freeze(bool frozen) {
  if (!process_) return;
  const char* pid = g_subprocess_get_identifier(process_);
  if (!pid) return;
  // The real server runs under its wrapper script: signal the wrapper's children too.
  std::string cmd = std::string("pkill -") + (frozen ? "STOP" : "CONT") + " -P " + pid + " 2>/dev/null; kill -" +
                    (frozen ? "STOP " : "CONT ") + pid + " 2>/dev/null";
  (void)std::system(cmd.c_str());
}

std::string TestServer::log_tail(size_t lines) const {
  std::ifstream in(log_path_);
  std::vector<std::string> all;
  for (std::string l; std::getline(in, l);) all.push_back(l);
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) out += all[i] + "\n";
  return out;
}

}  // namespace lk::test
