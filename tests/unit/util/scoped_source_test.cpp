// lk::ScopedSource: callbacks run while it is held, never after it lets go,
// and it may reset or replace itself from inside its own callback.
#include <gtest/gtest.h>

#include <utility>

#include "context.h"
#include "util/post.h"
#include "util/scoped_source.h"

namespace lk {
namespace {

TEST(ScopedSource, TimeoutRepeatsUntilItsCallbackSaysDone) {
  test::Context context;
  int ticks = 0;
  auto source = ScopedSource::timeout(context.get(), 1, [&] { return ++ticks < 3; });
  ASSERT_TRUE(context.run_until([&] { return ticks == 3; }));
  bool later = false;
  auto marker = ScopedSource::timeout(context.get(), 20, [&] {
    later = true;
    return false;
  });
  ASSERT_TRUE(context.run_until([&] { return later; }));
  EXPECT_EQ(ticks, 3);
}

TEST(ScopedSource, IdleRunsOnceWhenItsCallbackSaysDone) {
  test::Context context;
  int runs = 0;
  auto source = ScopedSource::idle(context.get(), [&] {
    ++runs;
    return false;
  });
  EXPECT_EQ(runs, 0) << "attaching never runs the callback";
  bool after = false;
  post(context.get(), [&] { after = true; });
  ASSERT_TRUE(context.run_until([&] { return after; }));
  EXPECT_EQ(runs, 1);
}

TEST(ScopedSource, DestroyedBeforeItFiresNeverRuns) {
  test::Context context;
  bool ran = false;
  {
    auto dropped = ScopedSource::idle(context.get(), [&] {
      ran = true;
      return false;
    });
  }
  auto reset = ScopedSource::idle(context.get(), [&] {
    ran = true;
    return false;
  });
  reset.reset();
  EXPECT_FALSE(reset);
  bool after = false;
  post(context.get(), [&] { after = true; });
  ASSERT_TRUE(context.run_until([&] { return after; }));
  EXPECT_FALSE(ran);
}

TEST(ScopedSource, MoveHandsTheSourceOverOnce) {
  test::Context context;
  int runs = 0;
  auto first = ScopedSource::idle(context.get(), [&] {
    ++runs;
    return false;
  });
  ScopedSource second = std::move(first);
  EXPECT_FALSE(first);
  EXPECT_TRUE(second);
  ScopedSource third;
  third = std::move(second);
  ASSERT_TRUE(context.run_until([&] { return runs == 1; }));
  third.reset();
}

TEST(ScopedSource, CallbackMayResetOrReplaceItsOwnSource) {
  test::Context context;
  ScopedSource source;
  int generation = 0;
  std::function<bool()> rearm = [&] {
    ++generation;
    if (generation < 3) source = ScopedSource::timeout(context.get(), 1, rearm);  // replaces the running one
    else source.reset();
    return false;
  };
  source = ScopedSource::timeout(context.get(), 1, rearm);
  ASSERT_TRUE(context.run_until([&] { return generation == 3; }));
  EXPECT_FALSE(source);
}

}  // namespace
}  // namespace lk
