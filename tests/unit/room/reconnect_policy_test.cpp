// When the room connection reconnects after a fault and when it gives up.
#include "room/reconnect_policy.h"

#include <gtest/gtest.h>

namespace lk::room {
namespace {

TEST(ReconnectPolicy, TheFirstAttemptIsImmediateAndLaterOnesWaitLonger) {
  ReconnectPolicy policy(60000);
  auto first = policy.on_fault(Fault::SignalLost, 1000);
  EXPECT_FALSE(first.give_up);
  EXPECT_EQ(first.attempt, 1u);
  EXPECT_EQ(first.delay_ms, 0u);
  unsigned last = 0;
  for (unsigned n = 2; n <= 8; ++n) {
    auto step = policy.on_fault(Fault::AttemptFailed, 1000 + n);
    EXPECT_EQ(step.attempt, n);
    EXPECT_GT(step.delay_ms, n == 2 ? 0u : last - 1) << n;
    EXPECT_LE(step.delay_ms, 5000u);
    last = step.delay_ms;
  }
  EXPECT_EQ(last, 5000u);  // capped
}

TEST(ReconnectPolicy, ItGivesUpOnceTheTimeoutSinceTheOutageBeganWouldPass) {
  ReconnectPolicy policy(10000);
  EXPECT_FALSE(policy.on_fault(Fault::TransportLost, 0).give_up);
  // Later faults of the same outage count from its start, not from themselves.
  EXPECT_FALSE(policy.on_fault(Fault::AttemptFailed, 9000).give_up);  // attempt 2 waits 300 ms: 9,300 < 10,000
  EXPECT_TRUE(policy.on_fault(Fault::AttemptFailed, 9500).give_up);   // attempt 3 would start at 10,700
}

TEST(ReconnectPolicy, ConnectingEndsTheOutageAndTheNextFaultStartsAFreshOne) {
  ReconnectPolicy policy(5000);
  policy.on_fault(Fault::SignalLost, 0);
  policy.on_fault(Fault::AttemptFailed, 100);
  EXPECT_TRUE(policy.in_outage());
  EXPECT_EQ(policy.on_connected(2500), 2500);
  EXPECT_FALSE(policy.in_outage());
  auto step = policy.on_fault(Fault::LeaveReconnect, 60000);
  EXPECT_FALSE(step.give_up);
  EXPECT_EQ(step.attempt, 1u);
  EXPECT_EQ(step.delay_ms, 0u);
  EXPECT_EQ(policy.on_connected(60100), 100);
}

TEST(ReconnectPolicy, ALeaveDisconnectOrATimeoutOfZeroEndsAtOnce) {
  ReconnectPolicy policy(60000);
  EXPECT_TRUE(policy.on_fault(Fault::LeaveDisconnect, 0).give_up);
  ReconnectPolicy never(0);
  EXPECT_TRUE(never.on_fault(Fault::SignalLost, 0).give_up);
  EXPECT_TRUE(never.on_fault(Fault::LeaveReconnect, 0).give_up);
}

TEST(ReconnectPolicy, EveryOtherFaultReconnects) {
  for (Fault f : {Fault::SignalLost, Fault::TransportLost, Fault::LeaveResume, Fault::LeaveReconnect, Fault::AttemptFailed}) {
    ReconnectPolicy policy(1000);
    EXPECT_FALSE(policy.on_fault(f, 0).give_up) << to_string(f);
  }
}

TEST(ReconnectPolicy, RepublishRetriesBackOffAndStop) {
  EXPECT_FALSE(ReconnectPolicy::republish_delay(0));
  EXPECT_EQ(ReconnectPolicy::republish_delay(1), 250u);
  EXPECT_EQ(ReconnectPolicy::republish_delay(2), 500u);
  EXPECT_EQ(ReconnectPolicy::republish_delay(5), 4000u);
  EXPECT_EQ(ReconnectPolicy::republish_delay(ReconnectPolicy::kMaxRepublishAttempts), 4000u);
  EXPECT_FALSE(ReconnectPolicy::republish_delay(ReconnectPolicy::kMaxRepublishAttempts + 1));
}

}  // namespace
}  // namespace lk::room
