// main() of the gtest programs that need a LiveKit server (tests/room): they
// report themselves skipped (77) when the server LKT_SERVER names is missing.
#include <gtest/gtest.h>

#include <iostream>

#include "test_server.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (auto why = lk::test::TestServer::unavailable()) {
    std::cout << "SKIP: " << *why << std::endl;
    return 77;
  }
  return RUN_ALL_TESTS();
}
