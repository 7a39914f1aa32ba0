// Runs a fuzz target without libFuzzer, for trees built without clang (the
// gcc tree): every file of the seed corpus, then a fixed number of
// deterministic mutations of each (bytes flipped, cut, duplicated). Not a
// search for new inputs, but the targets' own checks (abort on a wrong
// frame, a bad round trip) run on every build.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s <corpus directory> <mutations per input>\n", argv[0]);
    return 2;
  }
  const int mutations = std::atoi(argv[2]);
  std::mt19937 rng(20261130);
  size_t runs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(argv[1])) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::vector<uint8_t> seed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(seed.data(), seed.size());
    ++runs;
    for (int m = 0; m < mutations; ++m) {
      std::vector<uint8_t> input = seed;
      for (int edits = 1 + rng() % 4; edits > 0; --edits) {
        size_t at = input.empty() ? 0 : rng() % input.size();
        switch (rng() % 3) {
          case 0: if (!input.empty()) input[at] ^= static_cast<uint8_t>(1 + rng() % 255); break;
          case 1: input.resize(at); break;
          case 2: input.insert(input.begin() + at, input.begin(), input.begin() + at); break;
        }
      }
      LLVMFuzzerTestOneInput(input.data(), input.size());
      ++runs;
    }
  }
  printf("%zu inputs run\n", runs);
  return runs > 0 ? 0 : 1;
}
