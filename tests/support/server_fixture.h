// The base fixture of the room tests that run against a LiveKit server
// (LKT_SERVER, see test_server.h): a fresh server per test, its log tail
// printed when the test failed, and participants joined to one room named
// for the test run. Derived fixtures adjust options() before connect().
#pragma once

#include <gtest/gtest.h>

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "room/room_connection.h"
#include "test_server.h"

namespace lk::test {

// Publish options for a track of this name, the rest defaults.
inline lk::room::PublishOptions track_named(const std::string& name) {
  lk::room::PublishOptions o;
  o.name = name;
  return o;
}

class ServerFixture : public ::testing::Test {
 protected:
  void SetUp() override { start_server({}); }

  void TearDown() override {
    if (HasFailure() && server_) std::cerr << "--- server log (tail) ---\n" << server_->log_tail() << std::endl;
  }

  // (Re)starts the server with the test server's flags (test_server.h).
  void start_server(const std::vector<std::string>& flags) {
    server_.reset();
    auto started = TestServer::start(flags);
    ASSERT_TRUE(started) << started.error().message;
    server_.emplace(std::move(*started));
  }

  // `identity` joining room_ on the server with the shared API key.
  lk::room::ConnectOptions options(const std::string& identity) const {
    lk::room::ConnectOptions o;
    o.url = server_->url();
    o.api_key = TestServer::kApiKey;
    o.api_secret = TestServer::kApiSecret;
    o.room = room_;
    o.identity = identity;
    o.connect_timeout_ms = 20000;
    return o;
  }

  // The connection, or nullptr with a test failure saying why.
  static std::shared_ptr<lk::room::RoomConnection> connect(const lk::room::ConnectOptions& o) {
    auto room = lk::room::RoomConnection::connect(o);
    EXPECT_TRUE(room) << o.identity << ": " << room.error().message;
    return room ? *room : nullptr;
  }

  std::shared_ptr<lk::room::RoomConnection> join(const std::string& identity) { return connect(options(identity)); }

  std::string room_ = "room-" + std::to_string(g_get_real_time());
  std::optional<TestServer> server_;
};

}  // namespace lk::test
