// ICE server host names: looked up without blocking the owner's context, and
// a server that cannot be used is reported to the owner, not only logged.
// A scripted resolver stands in for DNS.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rtc/ice_transport.h"
#include "rtc/peer_connection.h"
#include "scripted_resolver.h"

namespace lk::rtc {
namespace {

class IceServerNames : public ::testing::Test {
 protected:
  void SetUp() override {
    context_ = g_main_context_new();
    g_main_context_push_thread_default(context_);
  }
  void TearDown() override {
    // Every scripted answer arrives before the resolver goes.
    if (resolver_) run_until([&] { return resolver_->answered() == resolver_->asked(); }, 5000);
    resolver_.reset();
    while (g_main_context_iteration(context_, FALSE)) {
    }
    g_main_context_pop_thread_default(context_);
    g_main_context_unref(context_);
  }

  void script(std::map<std::string, std::string> addresses, unsigned delay_ms) {
    resolver_ = std::make_unique<test::ScriptedResolver>(std::move(addresses), delay_ms);
  }

  bool run_until(const std::function<bool()>& done, int timeout_ms) {
    gint64 deadline = g_get_monotonic_time() + gint64{timeout_ms} * 1000;
    while (!done() && g_get_monotonic_time() < deadline)
      if (!g_main_context_iteration(context_, FALSE)) g_usleep(1000);
    return done();
  }

  IceTransport::Config config(std::vector<std::string> stun_hosts) {
    IceTransport::Config c;
    c.context = context_;
    for (auto& host : stun_hosts) {
      IceServerAddress server;
      server.host = host;
      c.servers.push_back(server);
    }
    return c;
  }

  GMainContext* context_ = nullptr;
  std::unique_ptr<test::ScriptedResolver> resolver_;
};

TEST_F(IceServerNames, LookupDoesNotBlockTheContext) {
  script({{"stun.lk.test", "192.0.2.1"}}, 600);
  int ticks = 0;
  GSource* tick = g_timeout_source_new(10);
  g_source_set_callback(
      tick,
      [](gpointer count) -> gboolean {
        ++*static_cast<int*>(count);
        return G_SOURCE_CONTINUE;
      },
      &ticks, nullptr);
  g_source_attach(tick, context_);

  gint64 start = g_get_monotonic_time();
  auto ice = IceTransport::create(config({"stun.lk.test"}));
  gint64 create_ms = (g_get_monotonic_time() - start) / 1000;
  ASSERT_TRUE(ice.ok()) << ice.error().message;
  std::vector<std::string> errors;
  (*ice)->on_server_error = [&](const lk::Error& e) { errors.push_back(e.message); };
  EXPECT_LT(create_ms, 300) << "create() waited for the lookup";
  EXPECT_TRUE(run_until([&] { return resolver_->answered() == 1; }, 5000));
  EXPECT_GE(ticks, 20) << "a timer on the same context stalled while the name was looked up";
  EXPECT_TRUE(errors.empty()) << errors.front();
  g_source_destroy(tick);
  g_source_unref(tick);
}

TEST_F(IceServerNames, UnresolvableHostIsReportedToTheOwner) {
  script({}, 0);
  auto ice = IceTransport::create(config({"nowhere.lk.test"}));
  ASSERT_TRUE(ice.ok()) << ice.error().message;
  std::vector<lk::Error> errors;
  (*ice)->on_server_error = [&](const lk::Error& e) { errors.push_back(e); };
  ASSERT_TRUE(run_until([&] { return !errors.empty(); }, 5000)) << "no error reported";
  EXPECT_EQ(errors[0].kind, ErrorKind::Network);
  EXPECT_NE(errors[0].message.find("STUN server nowhere.lk.test:3478 did not resolve"), std::string::npos)
      << errors[0].message;
}

TEST_F(IceServerNames, LookupPastTheDeadlineIsReported) {
  script({{"slow.lk.test", "192.0.2.1"}}, 1500);
  auto c = config({"slow.lk.test"});
  c.resolve_timeout_ms = 100;
  auto ice = IceTransport::create(c);
  ASSERT_TRUE(ice.ok()) << ice.error().message;
  std::vector<lk::Error> errors;
  (*ice)->on_server_error = [&](const lk::Error& e) { errors.push_back(e); };
  ASSERT_TRUE(run_until([&] { return !errors.empty(); }, 1000)) << "no error at the deadline";
  EXPECT_EQ(errors[0].kind, ErrorKind::Timeout);
  EXPECT_NE(errors[0].message.find("slow.lk.test:3478 did not resolve within 100 ms"), std::string::npos)
      << errors[0].message;
  ASSERT_TRUE(run_until([&] { return resolver_->answered() == 1; }, 5000));
  EXPECT_EQ(errors.size(), 1u) << "the late answer must not be reported again";
}

TEST_F(IceServerNames, TransportDestroyedDuringALookupIsNotCalledBack) {
  script({{"stun.lk.test", "192.0.2.1"}}, 100);
  bool called = false;
  {
    auto ice = IceTransport::create(config({"stun.lk.test", "nowhere.lk.test"}));
    ASSERT_TRUE(ice.ok()) << ice.error().message;
    (*ice)->on_server_error = [&](const lk::Error&) { called = true; };
  }
  ASSERT_TRUE(run_until([&] { return resolver_->answered() == 2; }, 5000));
  EXPECT_FALSE(called);
}

TEST_F(IceServerNames, PeerConnectionRefusesAMalformedUrl) {
  Configuration bad;
  bad.context = context_;
  bad.ice_servers = {IceServer{{"stun:"}, "", ""}};
  auto refused = PeerConnection::create(bad);
  ASSERT_FALSE(refused.ok()) << "a malformed ICE server URL must be an error";
  EXPECT_EQ(refused.error().kind, ErrorKind::InvalidArgument);
  EXPECT_NE(refused.error().message.find("stun:"), std::string::npos) << refused.error().message;
}

TEST_F(IceServerNames, PeerConnectionReportsAnUnresolvableHost) {
  script({}, 0);
  Configuration unresolvable;
  unresolvable.context = context_;
  unresolvable.ice_servers = {IceServer{{"turn:nowhere.lk.test:3478"}, "user", "pass"}};
  auto pc = PeerConnection::create(unresolvable);
  ASSERT_TRUE(pc.ok()) << pc.error().message;
  std::vector<std::string> errors;
  (*pc)->on_ice_server_error = [&](const lk::Error& e) { errors.push_back(e.message); };
  ASSERT_TRUE(run_until([&] { return !errors.empty(); }, 5000)) << "no on_ice_server_error";
  EXPECT_NE(errors[0].find("TURN server nowhere.lk.test:3478 did not resolve"), std::string::npos) << errors[0];
}

}  // namespace
}  // namespace lk::rtc
