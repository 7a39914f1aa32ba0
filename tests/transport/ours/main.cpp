// gtest main that fails when a --gtest_filter selects no test, so a renamed
// scenario cannot pass silently as a meson test.
#include <gtest/gtest.h>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  int rc = RUN_ALL_TESTS();
  if (::testing::UnitTest::GetInstance()->test_to_run_count() == 0) {
    fprintf(stderr, "no test matches the filter\n");
    return 1;
  }
  return rc;
}
