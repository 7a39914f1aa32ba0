// DCEP OPENs a hostile peer may send, against a DataChannelRegistry on one
// end of two SctpTransports back to back (tests/unit/rtc/sctp_pair.h); the
// other end sends raw DCEP.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "rtc/channel_registry.h"
#include "rtc/dcep.h"
#include "sctp_pair.h"

using namespace lk::rtc;
using lk::rtc::test::BackToBack;

namespace {

struct Fixture {
  BackToBack pair{1200};
  std::shared_ptr<DataChannelRegistry> registry = std::make_shared<DataChannelRegistry>();
  std::vector<std::shared_ptr<DataChannel>> opened;
  int acks = 0, resets = 0;

  Fixture() {
    // b is ours, the DTLS client: we open even streams, the peer odd ones.
    registry->on_remote_channel = [this](std::shared_ptr<DataChannel> c) { opened.push_back(c); };
    pair.b().on_message = [this](uint16_t stream, uint32_t ppid, std::span<const uint8_t> d) {
      registry->handle_message(stream, ppid, d);
    };
    pair.a().on_message = [this](uint16_t, uint32_t ppid, std::span<const uint8_t> d) {
      if (ppid == dcep::kPpidControl && dcep::is_ack(d)) ++acks;
    };
    pair.a().on_stream_reset = [this](uint16_t) { ++resets; };
    EXPECT_TRUE(pair.connect());
    registry->attach(&pair.b(), true, 65536);
  }
  ~Fixture() { registry->detach(); }

  void open(uint16_t stream, std::string label, std::string protocol = {}) {
    dcep::Open o;
    o.label = std::move(label);
    o.protocol = std::move(protocol);
    SctpTransport::SendParams p;
    p.stream = stream;
    p.ppid = dcep::kPpidControl;
    EXPECT_EQ(pair.a().send(p, dcep::encode(o)), SctpTransport::SendStatus::Sent);
  }
  // Until every OPEN sent so far is answered, by an ACK or a stream reset.
  bool settle(int expected) {
    return pair.run_until([&] { return acks + resets >= expected; });
  }
};

TEST(ChannelRegistry, OpenOnOurParityIsRefusedAndTheIdStaysOurs) {
  Fixture f;
  f.open(2, "squatter");  // even: ours
  f.open(3, "fine");
  ASSERT_TRUE(f.settle(2));
  ASSERT_EQ(f.opened.size(), 1u);
  EXPECT_EQ(f.opened[0]->id(), 3);
  EXPECT_EQ(f.resets, 1) << "the squatter's stream is reset so its channel closes";
  auto mine = f.registry->create("mine", {});
  ASSERT_TRUE(mine.ok());
  EXPECT_EQ((*mine)->id(), 0);
  auto next = f.registry->create("next", {});
  ASSERT_TRUE(next.ok());
  EXPECT_EQ((*next)->id(), 2) << "stream 2 is still free for us";
}

TEST(ChannelRegistry, RemoteChannelsAndLabelLengthsAreCapped) {
  Fixture f;
  const int offered = int(DataChannelRegistry::kMaxRemoteChannels) + 10;
  for (int i = 0; i < offered; ++i) f.open(static_cast<uint16_t>(1 + 2 * i), "c" + std::to_string(i));
  f.open(501, std::string(dcep::kMaxRemoteLabelBytes + 1, 'l'));
  f.open(503, "p", std::string(dcep::kMaxRemoteProtocolBytes + 1, 'p'));
  ASSERT_TRUE(f.settle(offered + 2));
  EXPECT_EQ(f.opened.size(), DataChannelRegistry::kMaxRemoteChannels);
  EXPECT_EQ(f.resets, 12);
  for (auto& c : f.opened) EXPECT_LE(c->label().size(), dcep::kMaxRemoteLabelBytes);
}

TEST(ChannelRegistry, LabelsAreEscapedForLogs) {
  EXPECT_EQ(dcep::printable("_data_track"), "_data_track");
  EXPECT_EQ(dcep::printable("a\nb\x1b[31m'\\\xff"), "a\\x0ab\\x1b[31m\\x27\\x5c\\xff");
  EXPECT_EQ(dcep::printable(std::string(100, 'x'), 4), "xxxx...");
}

}  // namespace
