// ours <-> ours over libnice/DTLS/usrsctp in one process (inside a netns).
#include <gtest/gtest.h>

#include <numeric>

#include "pair.h"

namespace lk::rtc::test {
namespace {

[[maybe_unused]] std::vector<uint8_t> pattern(size_t size, uint8_t seed) {
  std::vector<uint8_t> v(size);
  for (size_t i = 0; i < size; ++i) v[i] = static_cast<uint8_t>(seed + i * 31 + (i >> 8));
  return v;
}

struct [[maybe_unused]] Received {
  std::vector<std::vector<uint8_t>> messages;
  std::vector<bool> binary;
  void attach(DataChannel& c) {
    c.on_message = [this](std::span<const uint8_t> d, bool b) {
      messages.emplace_back(d.begin(), d.end());
      binary.push_back(b);
    };
  }
};

TEST(OursToOurs, ConnectsAndOpensInBandChannelOnBothSides) {
  Pair p;
  auto ch = p.a.pc->create_data_channel("reliable");
  ASSERT_TRUE(ch.ok());
  bool opened = false;
  (*ch)->on_open = [&] { opened = true; };
  ASSERT_TRUE(p.connect());
  ASSERT_TRUE(p.loop.run_until([&] { return opened && p.b.remote_channels.size() == 1; }));
  auto remote = p.b.remote_channels[0];
  EXPECT_EQ(remote->label(), "reliable");
  EXPECT_EQ(remote->id(), (*ch)->id());
  EXPECT_TRUE(remote->is_open());
  EXPECT_EQ((*ch)->id() % 2, 1) << "the offerer is the DTLS server (answerer picks active) and uses odd ids";
}

}  // namespace
}  // namespace lk::rtc::test
