// lk::post / lk::post_weak: work runs later, on the context's thread, in order,
// and never on a target that is gone.
#include <gtest/gtest.h>

#include <memory>
#include <thread>
#include <vector>

#include "context.h"
#include "util/post.h"

namespace lk {
namespace {

TEST(Post, RunsLaterOnTheContextInOrder) {
  test::Context context;
  std::vector<int> ran;
  for (int i = 0; i < 3; ++i) post(context.get(), [&ran, i] { ran.push_back(i); });
  EXPECT_TRUE(ran.empty()) << "post never runs the work inside the call";
  ASSERT_TRUE(context.run_until([&] { return ran.size() == 3; }));
  EXPECT_EQ(ran, (std::vector<int>{0, 1, 2}));
}

TEST(Post, WorkFromAnotherThreadRunsOnTheContextThread) {
  test::Context context;
  std::thread::id ran_on;
  bool ran = false;
  std::thread other([&] {
    post(context.get(), [&] {
      ran_on = std::this_thread::get_id();
      ran = true;
    });
  });
  other.join();
  ASSERT_TRUE(context.run_until([&] { return ran; }));
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST(PostWeak, RunsOnATargetStillAlive) {
  test::Context context;
  auto target = std::make_shared<int>(7);
  int seen = 0;
  post_weak<int>(context.get(), target, [&](int& value) { seen = value; });
  ASSERT_TRUE(context.run_until([&] { return seen != 0; }));
  EXPECT_EQ(seen, 7);
}

TEST(PostWeak, SkipsATargetGoneBeforeTheContextRan) {
  test::Context context;
  auto target = std::make_shared<int>(7);
  bool ran = false;
  bool after = false;
  post_weak<int>(context.get(), target, [&](int&) { ran = true; });
  post(context.get(), [&] { after = true; });
  target.reset();
  ASSERT_TRUE(context.run_until([&] { return after; }));
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace lk
