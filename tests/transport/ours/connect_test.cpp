// ours <-> ours over libnice/DTLS/usrsctp in one process (inside a netns).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <gio/gio.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <utility>

#include "pair.h"
#include "scripted_resolver.h"

namespace lk::rtc::test {
namespace {

std::vector<uint8_t> pattern(size_t size, uint8_t seed) {
  std::vector<uint8_t> v(size);
  for (size_t i = 0; i < size; ++i) v[i] = static_cast<uint8_t>(seed + i * 31 + (i >> 8));
  return v;
}

struct Received {
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


// Opens `label` on a, waits for both ends; returns {local, remote}.
std::pair<std::shared_ptr<DataChannel>, std::shared_ptr<DataChannel>> open_channel(Pair& p, const std::string& label,
                                                                                   DataChannelInit init = {}) {
  auto ch = p.a.pc->create_data_channel(label, init);
  EXPECT_TRUE(ch.ok());
  if (!ch.ok()) return {};
  size_t before = p.b.remote_channels.size();
  EXPECT_TRUE(p.loop.run_until([&] {
    for (size_t i = before; i < p.b.remote_channels.size(); ++i)
      if (p.b.remote_channels[i]->label() == label) return (*ch)->is_open();
    return false;
  }));
  for (auto& r : p.b.remote_channels)
    if (r->label() == label) return {*ch, r};
  return {*ch, nullptr};
}

const std::vector<size_t> kSizes = {0, 1, 1200, 16000, 65536, 262144};

void exchange_all_sizes(Pair& p, DataChannel& a, DataChannel& b, bool ordered) {
  Received at_a, at_b;
  at_a.attach(a);
  at_b.attach(b);
  for (size_t i = 0; i < kSizes.size(); ++i) {
    ASSERT_TRUE(a.send(pattern(kSizes[i], static_cast<uint8_t>(i))).ok()) << kSizes[i];
    ASSERT_TRUE(b.send(pattern(kSizes[i], static_cast<uint8_t>(100 + i))).ok()) << kSizes[i];
  }
  ASSERT_TRUE(p.loop.run_until(
      [&] { return at_a.messages.size() == kSizes.size() && at_b.messages.size() == kSizes.size(); }))
      << "a got " << at_a.messages.size() << ", b got " << at_b.messages.size();
  auto check = [&](Received& got, uint8_t seed_base) {
    std::vector<std::vector<uint8_t>> m = got.messages;
    if (!ordered)  // sizes are distinct: sort to compare
      std::sort(m.begin(), m.end(), [](auto& x, auto& y) { return x.size() < y.size(); });
    for (size_t i = 0; i < kSizes.size(); ++i) {
      EXPECT_EQ(m[i].size(), kSizes[i]);
      EXPECT_TRUE(m[i] == pattern(kSizes[i], static_cast<uint8_t>(seed_base + i))) << "message " << i << " differs";
    }
    for (bool binary : got.binary) EXPECT_TRUE(binary);
  };
  check(at_b, 0);
  check(at_a, 100);
}

TEST(OursToOurs, ReliableOrderedMessagesFromEmptyTo256KiBBothWays) {
  Pair p;
  ASSERT_TRUE(p.connect());
  auto [a, b] = open_channel(p, "reliable");
  ASSERT_TRUE(a && b);
  exchange_all_sizes(p, *a, *b, true);
}

TEST(OursToOurs, UnorderedNoRetransmitMessagesFromEmptyTo256KiBBothWays) {
  Pair p;
  ASSERT_TRUE(p.connect());
  DataChannelInit init;
  init.ordered = false;
  init.max_retransmits = 0;
  auto [a, b] = open_channel(p, "lossy", init);
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(b->init().ordered);
  ASSERT_TRUE(b->init().max_retransmits.has_value());
  EXPECT_EQ(*b->init().max_retransmits, 0);
  exchange_all_sizes(p, *a, *b, false);
}

// Descriptions carry no candidate at all; every candidate is trickled, and
// only after both descriptions are set: the working pair must come from one
// of those.
TEST(OursToOurs, ConnectsOnCandidatesTrickledAfterTheDescriptions) {
  Pair p;
  p.relay = false;
  std::vector<std::pair<bool, std::string>> held;  // (for b?, candidate)
  bool deliver = false;
  auto route = [&](bool to_b, const std::string& c, const std::string& mid) {
    if (!deliver) return held.emplace_back(to_b, c), void();
    Peer& peer = to_b ? p.b : p.a;
    if (c.empty()) peer.pc->add_remote_end_of_candidates();
    else EXPECT_TRUE(peer.pc->add_remote_candidate(c, mid).ok());
  };
  p.a.pc->on_local_candidate = [&](const std::string& c, const std::string& mid) { route(true, c, mid); };
  p.b.pc->on_local_candidate = [&](const std::string& c, const std::string& mid) { route(false, c, mid); };
  auto strip = [](std::string sdp) {
    for (const char* prefix : {"a=candidate:", "a=end-of-candidates"})
      for (size_t at; (at = sdp.find(prefix)) != std::string::npos;) sdp.erase(at, sdp.find("\r\n", at) + 2 - at);
    return sdp;
  };
  auto offer = p.a.pc->create_offer();
  ASSERT_TRUE(offer.ok());
  ASSERT_TRUE(p.b.pc->set_remote_description("offer", strip(*offer)).ok());
  auto answer = p.b.pc->create_answer();
  ASSERT_TRUE(answer.ok());
  ASSERT_TRUE(p.a.pc->set_remote_description("answer", strip(*answer)).ok());
  p.loop.run_for(300);  // candidates gathered meanwhile are held
  EXPECT_NE(p.a.state(), PeerState::Connected);
  deliver = true;
  for (auto& [to_b, c] : std::exchange(held, {})) route(to_b, c, "0");
  ASSERT_TRUE(p.loop.run_until([&] { return p.a.state() == PeerState::Connected && p.b.state() == PeerState::Connected; }))
      << to_string(p.a.state()) << " / " << to_string(p.b.state());
  auto [a, b] = open_channel(p, "trickled");
  ASSERT_TRUE(a && b);
}

TEST(OursToOurs, ChannelOpenedBeforeConnectingAndByTheAnswererAfter) {
  Pair p;
  auto early = p.a.pc->create_data_channel("early");
  ASSERT_TRUE(early.ok());
  EXPECT_EQ((*early)->id(), DataChannel::kNoId);
  ASSERT_TRUE(p.connect());
  DataChannelInit with_protocol;
  with_protocol.protocol = "proto-x";
  auto late = p.b.pc->create_data_channel("from-answerer", with_protocol);
  ASSERT_TRUE(late.ok());
  bool late_opened = false;  // set after create(): on_open must still fire
  (*late)->on_open = [&] { late_opened = true; };
  ASSERT_TRUE(p.loop.run_until([&] {
    return p.a.remote_channels.size() == 1 && p.b.remote_channels.size() == 1 && late_opened;
  }));
  EXPECT_EQ(p.a.remote_channels[0]->label(), "from-answerer");
  EXPECT_EQ(p.a.remote_channels[0]->protocol(), "proto-x");
  EXPECT_EQ((*late)->id() % 2, 0) << "the answerer is the DTLS client: even ids";
  EXPECT_EQ((*early)->id() % 2, 1) << "the offerer is the DTLS server: odd ids";
  Received got;
  got.attach(*p.a.remote_channels[0]);
  ASSERT_TRUE((*late)->send_text("hello").ok());
  ASSERT_TRUE((*late)->send_text("").ok());
  ASSERT_TRUE(p.loop.run_until([&] { return got.messages.size() == 2; }));
  EXPECT_EQ(std::string(got.messages[0].begin(), got.messages[0].end()), "hello");
  EXPECT_FALSE(got.binary[0]);
  EXPECT_TRUE(got.messages[1].empty());
  EXPECT_FALSE(got.binary[1]) << "an empty string stays a string (PPID 56)";
}

TEST(OursToOurs, PreNegotiatedChannelOpensWithoutDcep) {
  Pair p;
  DataChannelInit init;
  init.negotiated = true;
  init.id = 7;
  auto a = p.a.pc->create_data_channel("neg", init);
  auto b = p.b.pc->create_data_channel("neg", init);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(p.connect());
  ASSERT_TRUE(p.loop.run_until([&] { return (*a)->is_open() && (*b)->is_open(); }));
  EXPECT_TRUE(p.b.remote_channels.empty()) << "no DCEP OPEN for a negotiated channel";
  Received got;
  got.attach(**b);
  ASSERT_TRUE((*a)->send(pattern(5000, 9)).ok());
  ASSERT_TRUE(p.loop.run_until([&] { return got.messages.size() == 1; }));
  EXPECT_TRUE(got.messages[0] == pattern(5000, 9));
}

TEST(OursToOurs, MessageAboveRemoteMaxMessageSizeIsAnErrorNotAClose) {
  Configuration small;
  small.max_message_size = 1000;  // both advertise 1000
  Pair p(small);
  ASSERT_TRUE(p.connect());
  auto [a, b] = open_channel(p, "x");
  ASSERT_TRUE(a && b);
  auto r = a->send(pattern(1001, 1));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("max-message-size"), std::string::npos) << r.error().message;
  EXPECT_TRUE(a->is_open());
  Received got;
  got.attach(*b);
  ASSERT_TRUE(a->send(pattern(1000, 2)).ok());
  ASSERT_TRUE(p.loop.run_until([&] { return got.messages.size() == 1; }));
}

// Each side advertises a different a=max-message-size: each may send up to
// the other's, which is not its own.
TEST(OursToOurs, EachSideSendsUpToThePeersMaxMessageSizeNotItsOwn) {
  Configuration big, small;
  big.max_message_size = 300000;
  small.max_message_size = 100000;
  Pair p(big, small);
  ASSERT_TRUE(p.connect());
  auto [a, b] = open_channel(p, "sizes");
  ASSERT_TRUE(a && b);
  Received at_a, at_b;
  at_a.attach(*a);
  at_b.attach(*b);
  auto to_b = a->send(pattern(100001, 1));
  ASSERT_FALSE(to_b.ok()) << "a sent more than b advertises";
  EXPECT_NE(to_b.error().message.find("100000"), std::string::npos) << to_b.error().message;
  EXPECT_FALSE(b->send(pattern(300001, 2)).ok()) << "b sent more than a advertises";
  ASSERT_TRUE(a->send(pattern(100000, 3)).ok());
  ASSERT_TRUE(b->send(pattern(300000, 4)).ok()) << "b may send a's limit, above its own";
  ASSERT_TRUE(p.loop.run_until([&] { return at_a.messages.size() == 1 && at_b.messages.size() == 1; }));
  EXPECT_EQ(at_b.messages[0], pattern(100000, 3));
  EXPECT_EQ(at_a.messages[0], pattern(300000, 4));
  EXPECT_EQ(p.a.state(), PeerState::Connected);
  EXPECT_EQ(p.b.state(), PeerState::Connected);
}

// Sending without waiting for on_buffered_amount_low: once SCTP is full the
// channel queues up to Configuration::max_buffered_amount, then send() fails
// with an error that says so; everything accepted arrives.
TEST(OursToOurs, SendQueueIsBoundedWithAnErrorTheCallerSees) {
  Configuration config;
  config.max_buffered_amount = 1 << 20;
  Pair p(config);
  ASSERT_TRUE(p.connect());
  auto [a, b] = open_channel(p, "flood");
  ASSERT_TRUE(a && b);
  Received got;
  got.attach(*b);
  constexpr size_t kSize = 64 << 10;
  size_t accepted = 0;
  lk::Result<void> refused = lk::ok();
  for (int i = 0; i < 400 && refused.ok(); ++i) {  // 25 MiB offered, the loop not running
    refused = a->send(pattern(kSize, static_cast<uint8_t>(i)));
    if (refused.ok()) ++accepted;
  }
  ASSERT_FALSE(refused.ok()) << "25 MiB queued without complaint; buffered " << a->buffered_amount();
  EXPECT_NE(refused.error().message.find("max_buffered_amount"), std::string::npos) << refused.error().message;
  EXPECT_LE(a->buffered_amount(), size_t{1} << 20);
  EXPECT_TRUE(a->is_open());
  ASSERT_TRUE(p.loop.run_until([&] { return got.messages.size() == accepted; }, 30000))
      << "accepted " << accepted << ", got " << got.messages.size();
}

// A message too big for SCTP's send buffer is refused by send() even when it
// would wait in the queue behind others (it used to be accepted, then
// dropped silently at flush).
TEST(OursToOurs, MessageTooBigForSctpIsRefusedEvenBehindAQueue) {
  Configuration big;
  big.max_message_size = 64 << 20;  // both advertise 64 MiB
  Pair p(big);
  ASSERT_TRUE(p.connect());
  auto [a, b] = open_channel(p, "big");
  ASSERT_TRUE(a && b);
  Received got;
  got.attach(*b);
  int accepted = 0;
  while (a->buffered_amount() == 0 && accepted < 1000) {  // fill SCTP until the channel queues
    ASSERT_TRUE(a->send(pattern(256 << 10, 1)).ok());
    ++accepted;
  }
  ASSERT_GT(a->buffered_amount(), 0u);
  auto r = a->send(pattern(5 << 20, 2));
  ASSERT_FALSE(r.ok()) << "a 5 MiB message was queued; SCTP cannot take more than 4 MiB at once";
  EXPECT_NE(r.error().message.find("SCTP send buffer"), std::string::npos) << r.error().message;
  ASSERT_TRUE(p.loop.run_until([&] { return got.messages.size() == size_t(accepted); }, 30000));
}

// transport_status() is what bench/rtc's stall report reads: each layer's
// counters must move by what actually crossed it, on both sides.
TEST(OursToOurs, TransportStatusCountsWhatEachLayerCarried) {
  Pair p;
  auto fresh = p.a.pc->transport_status();
  EXPECT_STREQ(fresh.dtls, "none");
  EXPECT_STREQ(fresh.sctp, "none");
  EXPECT_EQ(fresh.datagrams_out, 0u);
  EXPECT_EQ(fresh.ms_since_receive, -1);
  ASSERT_TRUE(p.connect());
  auto [a, b] = open_channel(p, "counted");
  ASSERT_TRUE(a && b);
  Received got;
  got.attach(*b);
  auto a0 = p.a.pc->transport_status(), b0 = p.b.pc->transport_status();
  constexpr size_t kCount = 50, kSize = 16000;
  for (size_t i = 0; i < kCount; ++i) ASSERT_TRUE(a->send(pattern(kSize, static_cast<uint8_t>(i))).ok());
  ASSERT_TRUE(p.loop.run_until([&] { return got.messages.size() == kCount && p.a.pc->sctp_outstanding_chunks() == 0; }));
  auto a1 = p.a.pc->transport_status(), b1 = p.b.pc->transport_status();
  for (auto* s : {&a1, &b1}) {
    EXPECT_STREQ(s->ice, "connected");
    EXPECT_STREQ(s->dtls, "connected");
    EXPECT_STREQ(s->sctp, "connected");
    EXPECT_GE(s->ms_since_receive, 0);
    EXPECT_EQ(s->datagrams_failed, 0u);
    EXPECT_EQ(s->dtls_write_failures, 0u);
  }
  // At most 1,200 bytes an SCTP packet, one packet a DTLS record, one record a datagram.
  const uint64_t payload = kCount * kSize, packets = payload / 1200;
  EXPECT_GE(a1.sctp_bytes_out - a0.sctp_bytes_out, payload);
  EXPECT_GE(b1.sctp_bytes_in - b0.sctp_bytes_in, payload);
  EXPECT_GE(a1.sctp_packets_out - a0.sctp_packets_out, packets);
  EXPECT_GE(b1.sctp_packets_in - b0.sctp_packets_in, packets);
  EXPECT_GE(a1.datagrams_out - a0.datagrams_out, packets);
  EXPECT_GE(b1.datagrams_in - b0.datagrams_in, packets);
  EXPECT_GE(b1.datagrams_in - b0.datagrams_in, b1.sctp_packets_in - b0.sctp_packets_in);
  // b's SACKs came back: a's association knows b's window and has nothing outstanding.
  EXPECT_GT(b1.sctp_packets_out - b0.sctp_packets_out, 0u);
  EXPECT_GT(a1.association.peer_rwnd, 0u);
  EXPECT_GT(a1.association.cwnd, 0u);
  EXPECT_GT(a1.association.rto_ms, 0u);
  EXPECT_EQ(a1.association.unacked_chunks + a1.association.pending_chunks, 0u);
}

TEST(OursToOurs, BurstOf10000WithBackPressureLosesNothingOnReliable) {
  Pair p;
  ASSERT_TRUE(p.connect());
  auto [a, b] = open_channel(p, "burst");
  ASSERT_TRUE(a && b);
  constexpr int kCount = 10000;
  constexpr size_t kSize = 1000, kHigh = 1 << 20, kLow = 256 << 10;
  std::vector<uint32_t> seen;
  bool corrupt = false;
  b->on_message = [&](std::span<const uint8_t> d, bool) {
    uint32_t n;
    if (d.size() != kSize) corrupt = true;
    memcpy(&n, d.data(), 4);
    seen.push_back(n);
  };
  a->set_buffered_amount_low_threshold(kLow);
  int low_events = 0;
  a->on_buffered_amount_low = [&] { ++low_events; };
  size_t max_buffered = 0;
  for (uint32_t i = 0; i < kCount; ++i) {
    if (a->buffered_amount() > kHigh) {
      int before = low_events;
      ASSERT_TRUE(p.loop.run_until([&] { return low_events > before; })) << "no buffered-amount-low at " << i;
      EXPECT_LE(a->buffered_amount(), kLow);
    }
    std::vector<uint8_t> m(kSize, static_cast<uint8_t>(i));
    memcpy(m.data(), &i, 4);
    ASSERT_TRUE(a->send(m).ok()) << i;
    max_buffered = std::max(max_buffered, a->buffered_amount());
  }
  ASSERT_TRUE(p.loop.run_until([&] { return seen.size() == kCount; }, 30000)) << "got " << seen.size();
  EXPECT_FALSE(corrupt);
  for (uint32_t i = 0; i < kCount; ++i)
    if (seen[i] != i) {
      ADD_FAILURE() << "message " << i << " arrived as " << seen[i];
      break;
    }
  EXPECT_GT(low_events, 0) << "back-pressure never engaged (max buffered " << max_buffered << ")";
  EXPECT_EQ(a->buffered_amount(), 0u);
}

TEST(OursToOurs, TamperedFingerprintIsRefusedWithAClearError) {
  Pair p;
  auto offer = p.a.pc->create_offer();
  ASSERT_TRUE(offer.ok());
  ASSERT_TRUE(p.b.pc->set_remote_description("offer", *offer).ok());
  auto answer = p.b.pc->create_answer();
  ASSERT_TRUE(answer.ok());
  std::string tampered = *answer;
  auto at = tampered.find("a=fingerprint:sha-256 ");
  ASSERT_NE(at, std::string::npos);
  char& digit = tampered[at + strlen("a=fingerprint:sha-256 ")];
  digit = digit == 'A' ? 'B' : 'A';
  ASSERT_TRUE(p.a.pc->set_remote_description("answer", tampered).ok());
  ASSERT_TRUE(p.loop.run_until([&] { return p.a.state() == PeerState::Failed; })) << to_string(p.a.state());
  ASSERT_FALSE(p.a.errors.empty());
  EXPECT_NE(p.a.errors[0].find("DTLS fingerprint mismatch"), std::string::npos) << p.a.errors[0];
  EXPECT_FALSE(p.a.has_state(PeerState::Connected));
  EXPECT_TRUE(p.loop.run_until([&] { return p.b.state() == PeerState::Failed; })) << "the other side sees the alert";
  EXPECT_FALSE(p.b.has_state(PeerState::Connected));
}

// Both ends DTLS servers (the offer says a=setup:active to b, the answer
// says a=setup:active to a): ICE connects and nobody starts the handshake.
// The liveness watchdog is pushed out of reach, as a hostile peer does by
// sending datagrams DTLS discards. Only the connect deadline ends it, with an
// error that says which step did not finish.
TEST(OursToOurs, PeerThatNeverFinishesDtlsFailsAtTheConnectDeadline) {
  Configuration config;
  config.connect_timeout_ms = 3000;
  config.disconnected_timeout_ms = 600000;
  config.failed_timeout_ms = 600000;
  Pair p(config);
  auto offer = p.a.pc->create_offer();
  ASSERT_TRUE(offer.ok());
  auto setup_active = [](std::string sdp) {
    auto at = sdp.find("a=setup:");
    EXPECT_NE(at, std::string::npos);
    sdp.replace(at, sdp.find("\r\n", at) - at, "a=setup:active");
    return sdp;
  };
  ASSERT_TRUE(p.b.pc->set_remote_description("offer", setup_active(*offer)).ok());
  auto answer = p.b.pc->create_answer();
  ASSERT_TRUE(answer.ok());
  ASSERT_NE(answer->find("a=setup:passive"), std::string::npos) << "b must be the DTLS server";
  ASSERT_TRUE(p.a.pc->set_remote_description("answer", setup_active(*answer)).ok());
  ASSERT_TRUE(p.loop.run_until([&] { return p.a.state() == PeerState::Failed && p.b.state() == PeerState::Failed; },
                               20000))
      << to_string(p.a.state()) << " / " << to_string(p.b.state());
  ASSERT_FALSE(p.a.errors.empty());
  EXPECT_NE(p.a.errors[0].find("not connected within 3000 ms"), std::string::npos) << p.a.errors[0];
  EXPECT_NE(p.a.errors[0].find("DTLS handshake did not complete"), std::string::npos) << p.a.errors[0];
  EXPECT_FALSE(p.a.has_state(PeerState::Connected));
}

TEST(OursToOurs, ChannelClosedBySenderDeliversEverythingFirst) {
  Pair p;
  ASSERT_TRUE(p.connect());
  auto [a, b] = open_channel(p, "c");
  ASSERT_TRUE(a && b);
  int got = 0, got_at_close = -1;
  b->on_message = [&](std::span<const uint8_t>, bool) { ++got; };
  b->on_close = [&] { got_at_close = got; };
  bool a_closed = false;
  a->on_close = [&] { a_closed = true; };
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(a->send(pattern(60000, 1)).ok());  // ~18 MB, beyond SCTP's buffer
  a->close();
  EXPECT_FALSE(a->send(pattern(10, 1)).ok()) << "no sending on a closing channel";
  ASSERT_TRUE(p.loop.run_until([&] { return got_at_close >= 0 && a_closed; }, 30000));
  EXPECT_EQ(got_at_close, 300);
  EXPECT_FALSE(b->is_open());
  EXPECT_EQ(p.a.state(), PeerState::Connected) << "closing a channel leaves the connection up";
}

TEST(OursToOurs, ChannelClosedByReceiverSideClosesBoth) {
  Pair p;
  ASSERT_TRUE(p.connect());
  auto [a, b] = open_channel(p, "c");
  ASSERT_TRUE(a && b);
  bool a_closed = false, b_closed = false;
  a->on_close = [&] { a_closed = true; };
  b->on_close = [&] { b_closed = true; };
  b->close();
  ASSERT_TRUE(p.loop.run_until([&] { return a_closed && b_closed; }));
  // The stream can be used again by a new channel.
  auto [a2, b2] = open_channel(p, "again");
  ASSERT_TRUE(a2 && b2);
}

TEST(OursToOurs, PeerConnectionCloseIsSeenByTheOtherSide) {
  Pair p;
  ASSERT_TRUE(p.connect());
  auto [a, b] = open_channel(p, "c");
  ASSERT_TRUE(a && b);
  bool b_channel_closed = false;
  b->on_close = [&] { b_channel_closed = true; };
  p.a.pc->close();
  EXPECT_EQ(p.a.state(), PeerState::Closed);
  EXPECT_FALSE(a->is_open());
  EXPECT_FALSE(a->send(pattern(10, 1)).ok());
  ASSERT_TRUE(p.loop.run_until([&] { return p.b.state() == PeerState::Closed && b_channel_closed; }, 5000))
      << to_string(p.b.state());
}

TEST(OursToOurs, IceRestartKeepsTheChannelsWorking) {
  Pair p;
  ASSERT_TRUE(p.connect());
  auto [a, b] = open_channel(p, "r");
  ASSERT_TRUE(a && b);
  auto ufrag = [](const std::string& sdp) {
    auto at = sdp.find("a=ice-ufrag:");
    return sdp.substr(at + 12, sdp.find("\r\n", at) - at - 12);
  };
  auto first = p.a.pc->create_offer();
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(p.b.pc->set_remote_description("offer", *first).ok()) << "renegotiation without restart";
  auto first_answer = p.b.pc->create_answer();
  ASSERT_TRUE(first_answer.ok());
  ASSERT_TRUE(p.a.pc->set_remote_description("answer", *first_answer).ok());

  p.a.pc->restart_ice();
  auto offer = p.a.pc->create_offer();
  ASSERT_TRUE(offer.ok());
  EXPECT_NE(ufrag(*offer), ufrag(*first)) << "a restart carries new ICE credentials";
  EXPECT_NE(offer->find("a=candidate:"), std::string::npos) << "candidates inline after a restart";
  ASSERT_TRUE(p.b.pc->set_remote_description("offer", *offer).ok());
  auto answer = p.b.pc->create_answer();
  ASSERT_TRUE(answer.ok());
  EXPECT_NE(ufrag(*answer), ufrag(*first_answer)) << "the answerer restarts too";
  ASSERT_TRUE(p.a.pc->set_remote_description("answer", *answer).ok());
  Received got;
  got.attach(*b);
  std::shared_ptr<DataChannel> sender = a;  // clang 14 cannot capture structured bindings
  ASSERT_TRUE(p.loop.run_until([&] {
    if (sender->is_open() && got.messages.empty()) (void)sender->send(pattern(100, 3));
    return !got.messages.empty();
  }));
  EXPECT_EQ(p.a.state(), PeerState::Connected);
  EXPECT_EQ(p.b.state(), PeerState::Connected);
  EXPECT_TRUE(got.messages[0] == pattern(100, 3));
}

TEST(OursToOurs, PartialReliabilityByLifetimeIsNegotiated) {
  Pair p;
  ASSERT_TRUE(p.connect());
  DataChannelInit init;
  init.ordered = false;
  init.max_packet_life_time_ms = 150;
  auto [a, b] = open_channel(p, "timed", init);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(b->init().max_packet_life_time_ms.has_value());
  EXPECT_EQ(*b->init().max_packet_life_time_ms, 150);
  EXPECT_FALSE(b->init().max_retransmits.has_value());
  exchange_all_sizes(p, *a, *b, false);
}

bool run_command(const char* cmd) {
  gint status = -1;
  GError* error = nullptr;
  gboolean ok = g_spawn_command_line_sync(cmd, nullptr, nullptr, &status, &error);
  if (error) g_error_free(error);
  return ok && g_spawn_check_wait_status(status, nullptr);
}

// Drops (or stops dropping) every packet coming in: the network goes black
// (these tests run in their own network namespace).
bool blackout(bool on) {
  const std::string op = on ? "-I" : "-D";
  return run_command(("iptables " + op + " INPUT -j DROP").c_str()) &&
         run_command(("ip6tables " + op + " INPUT -j DROP").c_str());
}

Configuration quick_liveness(unsigned disconnected_timeout_ms, unsigned failed_timeout_ms) {
  Configuration quick;
  quick.disconnected_timeout_ms = disconnected_timeout_ms;
  quick.failed_timeout_ms = failed_timeout_ms;
  return quick;
}

TEST(OursToOurs, VanishedPeerIsDetectedWithinTheLivenessTimeouts) {
  Pair p(quick_liveness(3000, 6000));
  ASSERT_TRUE(p.connect());
  auto [a, b] = open_channel(p, "c");
  ASSERT_TRUE(a && b);
  p.loop.run_for(5000);  // idle but healthy, longer than the 3 s: heartbeats keep it Connected
  EXPECT_EQ(p.a.state(), PeerState::Connected);
  EXPECT_FALSE(p.a.has_state(PeerState::Disconnected));
  ASSERT_TRUE(blackout(true)) << "needs root in a netns (scripts/netns-run.sh)";
  gint64 start = g_get_monotonic_time();
  bool disconnected = p.loop.run_until([&] { return p.a.state() == PeerState::Disconnected; }, 5000);
  gint64 disconnected_ms = (g_get_monotonic_time() - start) / 1000;
  bool failed = p.loop.run_until([&] { return p.a.state() == PeerState::Failed; }, 6000);
  gint64 failed_ms = (g_get_monotonic_time() - start) / 1000;
  blackout(false);
  EXPECT_TRUE(disconnected) << "not Disconnected within 5 s";
  EXPECT_TRUE(failed) << "not Failed within 11 s";
  // Silence counts from the last packet, which may have come a heartbeat
  // interval plus RTO (~0.7 s, more on a busy machine) before the drop.
  EXPECT_GE(disconnected_ms, 2000) << "Disconnected well before the configured 3 s of silence";
  EXPECT_LE(disconnected_ms, 5000);
  EXPECT_LE(failed_ms, 11000);
  EXPECT_TRUE(a->is_open()) << "the association is kept for an ICE restart";
  EXPECT_FALSE(p.a.errors.empty());
  p.a.pc->close();
  EXPECT_FALSE(a->is_open()) << "channels close with the connection";
}

// The path lost long enough for ICE to fail on both sides, then back: an ICE
// restart (new credentials, offer/answer) brings the same DTLS session and
// SCTP association back, and what was sent meanwhile arrives.
TEST(OursToOurs, IceRestartAfterIceFailedKeepsTheChannels) {
  Pair p(quick_liveness(2000, 4000));
  ASSERT_TRUE(p.connect());
  auto [a, b] = open_channel(p, "kept");
  ASSERT_TRUE(a && b);
  Received got;
  got.attach(*b);
  ASSERT_TRUE(blackout(true)) << "needs root in a netns (scripts/netns-run.sh)";
  const bool failed = p.loop.run_until([&] { return p.a.state() == PeerState::Failed && p.b.state() == PeerState::Failed; },
                                       10000);
  std::shared_ptr<DataChannel> sender = a;  // clang 14 cannot capture structured bindings
  const bool queued = sender->send(pattern(5000, 7)).ok();  // while the path is gone
  blackout(false);
  ASSERT_TRUE(failed) << to_string(p.a.state()) << " / " << to_string(p.b.state());
  EXPECT_TRUE(queued) << "a failed path refuses sends";
  EXPECT_TRUE(a->is_open() && b->is_open()) << "ICE failure closed the channels";

  p.a.pc->restart_ice();
  ASSERT_TRUE(p.negotiate());
  // SCTP sends again when its retransmission timer, backed off during the
  // outage up to its 10 s maximum, fires.
  ASSERT_TRUE(p.loop.run_until([&] {
    return p.a.state() == PeerState::Connected && p.b.state() == PeerState::Connected && !got.messages.empty();
  }, 30000)) << to_string(p.a.state()) << " / " << to_string(p.b.state()) << ", " << got.messages.size() << " received";
  EXPECT_TRUE(p.a.has_state(PeerState::Connecting)) << "no Connecting while restarting";
  EXPECT_TRUE(got.messages[0] == pattern(5000, 7)) << "the message sent while failed";
  ASSERT_TRUE(sender->send(pattern(300, 8)).ok());
  ASSERT_TRUE(p.loop.run_until([&] { return got.messages.size() == 2; }));
  EXPECT_TRUE(got.messages[1] == pattern(300, 8));
}

TEST(OursToOurs, IceTcpCandidatesConnectWhenUdpIsBlocked) {
  ASSERT_TRUE(run_command("iptables -I INPUT -p udp -j DROP")) << "needs root in a netns (scripts/netns-run.sh)";
  ASSERT_TRUE(run_command("ip6tables -I INPUT -p udp -j DROP"));
  bool connected, delivered = false;
  {
    Configuration passive;
    passive.ice_tcp_passive = true;  // one side must listen; by default neither does
    Pair p({}, passive);
    connected = p.connect(20000);
    if (connected) {
      auto [a, b] = open_channel(p, "tcp");
      if (a && b) {
        Received got;
        got.attach(*b);
        EXPECT_TRUE(a->send(pattern(20000, 4)).ok());
        delivered = p.loop.run_until([&] { return got.messages.size() == 1; }) && got.messages[0] == pattern(20000, 4);
      }
    }
  }
  run_command("iptables -D INPUT -p udp -j DROP");
  run_command("ip6tables -D INPUT -p udp -j DROP");
  EXPECT_TRUE(connected) << "no connection over ICE-TCP";
  EXPECT_TRUE(delivered);
}

size_t open_fds() {
  size_t n = 0;
  GDir* dir = g_dir_open("/proc/self/fd", 0, nullptr);
  while (dir && g_dir_read_name(dir)) ++n;
  if (dir) g_dir_close(dir);
  return n;
}

// Ports of TCP sockets listening in this network namespace (only this test
// process lives in it): /proc/net/tcp and tcp6, state 0A.
std::vector<uint16_t> listening_tcp_ports() {
  std::vector<uint16_t> ports;
  for (const char* table : {"/proc/self/net/tcp", "/proc/self/net/tcp6"}) {
    gchar* text = nullptr;
    if (!g_file_get_contents(table, &text, nullptr, nullptr)) continue;
    gchar** lines = g_strsplit(text, "\n", -1);
    for (gchar** line = lines + 1; *line; ++line) {
      gchar** f = g_strsplit_set(g_strstrip(*line), " ", -1);
      std::vector<std::string> fields;
      for (gchar** w = f; *w; ++w)
        if (**w) fields.push_back(*w);
      g_strfreev(f);
      if (fields.size() > 3 && fields[3] == "0A")
        ports.push_back(static_cast<uint16_t>(std::stoul(fields[1].substr(fields[1].find(':') + 1), nullptr, 16)));
    }
    g_strfreev(lines);
    g_free(text);
  }
  return ports;
}

// 300 unauthenticated TCP connections to whatever we listen on: libnice keeps
// each one to a passive ICE-TCP candidate open. By default we gather active
// candidates only, so there is nothing to connect to and no fd is pinned.
size_t fds_pinned_by_300_connections(Configuration config, std::vector<std::string>& candidates) {
  Loop loop;
  config.context = loop.context();
  Peer peer(loop.context(), config);
  bool gathered = false;
  peer.pc->on_local_candidate = [&](const std::string& c, const std::string&) {
    if (c.empty()) gathered = true;
    else candidates.push_back(c);
  };
  EXPECT_TRUE(peer.pc->create_offer().ok());
  EXPECT_TRUE(loop.run_until([&] { return gathered; }));
  size_t before = open_fds();
  std::vector<int> clients;
  for (uint16_t port : listening_tcp_ports())
    for (int i = 0; i < 300; ++i) {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      sockaddr_in to{};
      to.sin_family = AF_INET;
      to.sin_port = htons(port);
      inet_pton(AF_INET, "10.99.0.1", &to.sin_addr);
      connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to);
      clients.push_back(fd);
      if (i % 10 == 9) loop.run_for(20);  // libnice accepts what is pending (its backlog is short)
    }
  loop.run_for(500);
  size_t pinned = open_fds() - before - clients.size();
  for (int fd : clients) close(fd);
  printf("%zu fds at the start, %zu pinned by %zu connections\n", before, pinned, clients.size());
  return pinned;
}

TEST(OursToOurs, PassiveIceTcpIsOffByDefaultAndPinsNoDescriptors) {
  std::vector<std::string> by_default, with_passive;
  EXPECT_EQ(fds_pinned_by_300_connections({}, by_default), 0u);
  bool active = false;
  for (auto& c : by_default) {
    EXPECT_EQ(c.find("tcptype passive"), std::string::npos) << c;
    active |= c.find("tcptype active") != std::string::npos;
  }
  EXPECT_TRUE(active) << "active ICE-TCP candidates are still gathered";
  bool udp = false;
  for (auto& c : by_default) udp |= c.find(" UDP ") != std::string::npos || c.find(" udp ") != std::string::npos;
  EXPECT_TRUE(udp) << "UDP host candidates are still gathered";
  // The opt-in listener is what the count sees (so the zero above means something).
  Configuration passive;
  passive.ice_tcp_passive = true;
  EXPECT_GT(fds_pinned_by_300_connections(passive, with_passive), 0u);
}

// coturn (Debian package coturn) inside the test's network namespace.
class TurnServer {
 public:
  TurnServer(Loop& loop, bool tls) : dir_(g_dir_make_tmp("lk-turn-XXXXXX", nullptr)) {
    std::vector<std::string> args = {"turnserver", "-n", "--listening-ip=10.99.0.1", "--relay-ip=10.99.0.1",
                                     "--listening-port=3478", "--lt-cred-mech", "--user=lkuser:lkpass",
                                     "--realm=lk.test", "--no-dtls", "--no-cli", "--no-stdout-log",
                                     "--min-port=49160", "--max-port=49200", "--log-file=" + std::string(dir_) + "/turn.log"};
    if (tls) {
      std::string cert = std::string(dir_) + "/cert.pem", key = std::string(dir_) + "/key.pem";
      std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=lk.test "
                        "-keyout " + key + " -out " + cert;
      ok_ = run_command(cmd.c_str());
      args.push_back("--tls-listening-port=5349");
      args.push_back("--cert=" + cert);
      args.push_back("--pkey=" + key);
    } else {
      args.push_back("--no-tls");
    }
    std::vector<const char*> argv;
    for (auto& a : args) argv.push_back(a.c_str());
    argv.push_back(nullptr);
    GError* error = nullptr;
    process_ = g_subprocess_newv(argv.data(), G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error);
    if (error) {
      ADD_FAILURE() << "turnserver: " << error->message << " (apt package coturn)";
      g_error_free(error);
      ok_ = false;
    }
    loop.run_for(700);  // listening sockets up
  }
  ~TurnServer() {
    if (process_) {
      g_subprocess_force_exit(process_);
      g_subprocess_wait(process_, nullptr, nullptr);
      g_object_unref(process_);
    }
    gchar* cmd = g_strdup_printf("rm -rf %s", dir_);
    run_command(cmd);
    g_free(cmd);
    g_free(dir_);
  }
  bool ok() const { return ok_ && process_; }

 private:
  gchar* dir_;
  GSubprocess* process_ = nullptr;
  bool ok_ = true;
};

// Both sides relay-only through TURN: candidates are all "typ relay".
void connect_through_turn(const std::string& url, bool tls) {
  Loop outer;  // only for the server's start-up wait
  TurnServer turn(outer, tls);
  ASSERT_TRUE(turn.ok());
  Configuration config;
  config.relay_only = true;
  config.ice_servers = {IceServer{{url}, "lkuser", "lkpass"}};
  Pair p(config);
  std::vector<std::string> seen;
  auto relay_a = p.a.pc->on_local_candidate;
  p.a.pc->on_local_candidate = [&, relay_a](const std::string& c, const std::string& mid) {
    seen.push_back(c);
    relay_a(c, mid);
  };
  ASSERT_TRUE(p.connect(20000)) << "no connection through " << url;
  bool only_relay = !seen.empty();
  for (auto& c : seen)
    if (!c.empty() && c.find("typ relay") == std::string::npos) only_relay = false;
  EXPECT_TRUE(only_relay) << "relay_only must announce relay candidates only";
  auto [a, b] = open_channel(p, "via-turn");
  ASSERT_TRUE(a && b);
  exchange_all_sizes(p, *a, *b, true);
}

TEST(OursToOurs, ConnectsThroughTurnOverUdp) { connect_through_turn("turn:10.99.0.1:3478?transport=udp", false); }
TEST(OursToOurs, ConnectsThroughTurnOverTcp) { connect_through_turn("turn:10.99.0.1:3478?transport=tcp", false); }

// turns: is not supported yet: the server is skipped with an error that
// says so, and nothing reaches its port. Before, libnice spoke plain TCP to
// it (coturn accepts that on its TLS port, so a "TURN over TLS" test passed
// without TLS): here a bare listener stands on the port and must stay
// untouched.
TEST(OursToOurs, TurnsIsSkippedWithAClearErrorAndNoPlaintextReachesIt) {
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_port = htons(5349);
  inet_pton(AF_INET, "10.99.0.1", &at.sin_addr);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&at), sizeof at), 0);
  ASSERT_EQ(listen(listener, 16), 0);

  Configuration config;
  config.relay_only = true;
  config.ice_servers = {IceServer{{"turns:10.99.0.1:5349"}, "lkuser", "lkpass"}};
  Pair p(config);
  std::vector<std::string> server_errors;
  p.a.pc->on_ice_server_error = [&](const lk::Error& e) { server_errors.push_back(e.message); };
  bool gathered = false;
  auto relay_a = p.a.pc->on_local_candidate;
  p.a.pc->on_local_candidate = [&, relay_a](const std::string& c, const std::string& mid) {
    if (c.empty()) gathered = true;
    relay_a(c, mid);
  };
  ASSERT_TRUE(p.a.pc->create_offer().ok());
  ASSERT_TRUE(p.loop.run_until([&] { return gathered; }, 30000)) << "gathering never finished";
  EXPECT_EQ(server_errors.size(), 1u) << "no error for the skipped turns: server";
  for (auto& e : server_errors) EXPECT_NE(e.find("TURN over TLS is not supported"), std::string::npos) << e;

  // Gathering is over: a TURN allocation, had one been tried, has been sent.
  int conn = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK);
  uint8_t first[2] = {};
  ssize_t got = conn >= 0 ? recv(conn, first, sizeof first, 0) : -1;
  EXPECT_LT(conn, 0) << "something connected to the turns: port" << (got == 2 && first[0] == 0 && first[1] == 3
                                                                          ? " and sent a plaintext STUN Allocate"
                                                                          : "");
  if (conn >= 0) close(conn);
  close(listener);
}

// The TURN server by name, looked up in the background: relay-only, so the
// connection also proves that gathering waited for the answer.
TEST(OursToOurs, ConnectsThroughTurnNamedByItsHost) {
  lk::test::ScriptedResolver dns({{"turn.lk.test", "10.99.0.1"}}, 200);
  connect_through_turn("turn:turn.lk.test:3478?transport=udp", false);
}

// "a=ice-pwd:..." of an SDP.
std::string ice_pwd(const std::string& sdp) {
  auto at = sdp.find("a=ice-pwd:");
  if (at == std::string::npos) return {};
  at += strlen("a=ice-pwd:");
  return sdp.substr(at, sdp.find("\r\n", at) - at);
}

std::string hex(std::string_view bytes) {
  std::string out;
  char two[3];
  for (unsigned char c : bytes) {
    snprintf(two, sizeof two, "%02x", c);
    out += two;
  }
  return out;
}

// Every debug domain on (ours, libnice's, its STUN and verbose ones,
// usrsctp's), a connection through TURN, stdout and stderr captured: none of
// the secrets in play may appear, as text or as hex (libnice's STUN code
// prints keys as "key : 0x...").
TEST(OursToOurs, NoSecretInTheLogsWithEveryDebugDomainOn) {
  g_setenv("G_MESSAGES_DEBUG", "all", TRUE);
  g_setenv("NICE_DEBUG", "all", TRUE);
  Loop outer;
  TurnServer turn(outer, false);
  ASSERT_TRUE(turn.ok());
  const std::string user = "lkuser", password = "lkpass";
  gchar* log_path = nullptr;
  int log_fd = g_file_open_tmp("lk-log-XXXXXX", &log_path, nullptr);
  ASSERT_GE(log_fd, 0);
  fflush(stdout);
  fflush(stderr);
  int saved_stdout = dup(1), saved_stderr = dup(2);  // GLib writes debug lines to stdout
  dup2(log_fd, 1);
  dup2(log_fd, 2);
  std::string offer, answer;
  bool connected;
  {
    Configuration config;
    config.relay_only = true;
    config.ice_servers = {IceServer{{"turn:10.99.0.1:3478?transport=udp"}, user, password}};
    Pair p(config);
    auto o = p.a.pc->create_offer();
    auto set_offer = o.ok() ? p.b.pc->set_remote_description("offer", *o) : lk::Result<void>(o.error());
    auto a = set_offer.ok() ? p.b.pc->create_answer() : lk::Result<std::string>(set_offer.error());
    if (a.ok()) (void)p.a.pc->set_remote_description("answer", *a);
    offer = o.ok() ? *o : "";
    answer = a.ok() ? *a : "";
    connected = p.loop.run_until(
        [&] { return p.a.state() == PeerState::Connected && p.b.state() == PeerState::Connected; }, 20000);
  }
  fflush(stdout);
  fflush(stderr);
  dup2(saved_stdout, 1);
  dup2(saved_stderr, 2);
  close(saved_stdout);
  close(saved_stderr);
  close(log_fd);
  gchar* contents = nullptr;
  gsize length = 0;
  ASSERT_TRUE(g_file_get_contents(log_path, &contents, &length, nullptr));
  std::string log(contents, length);
  g_free(contents);
  g_unlink(log_path);
  g_free(log_path);
  ASSERT_TRUE(connected) << "no connection through TURN";
  ASSERT_GT(log.size(), 10000u) << "debug logging did not come on";
  printf("%zu bytes of debug output checked\n", log.size());
  std::vector<std::pair<std::string, std::string>> secrets = {
      {"TURN password", password}, {"offerer's ICE password", ice_pwd(offer)}, {"answerer's ICE password", ice_pwd(answer)}};
  for (auto& [what, secret] : secrets) {
    ASSERT_GE(secret.size(), 6u) << what;
    for (const std::string& form : {secret, hex(secret)}) {
      auto at = log.find(form);
      EXPECT_EQ(at, std::string::npos) << what << " in the log: ..."
                                       << log.substr(at > 120 ? at - 120 : 0, 240) << "...";
    }
  }
}

TEST(OursToOurs, OfferWithAudioAndVideoIsAnsweredWithThemRejected) {
  Pair p;
  auto ch = p.a.pc->create_data_channel("data");
  ASSERT_TRUE(ch.ok());
  auto offer = p.a.pc->create_offer();
  ASSERT_TRUE(offer.ok());
  // Make it look like a browser's offer: audio and video sections first, bundled.
  std::string with_media = *offer;
  std::string media =
      "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:a\r\na=recvonly\r\na=rtpmap:111 opus/48000/2\r\n"
      "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:v\r\na=recvonly\r\na=rtpmap:96 VP8/90000\r\n";
  with_media.insert(with_media.find("m=application"), media);
  with_media.replace(with_media.find("a=group:BUNDLE 0"), 16, "a=group:BUNDLE a v 0");
  ASSERT_TRUE(p.b.pc->set_remote_description("offer", with_media).ok());
  auto answer = p.b.pc->create_answer();
  ASSERT_TRUE(answer.ok());
  EXPECT_NE(answer->find("m=audio 0 UDP/TLS/RTP/SAVPF 111\r\n"), std::string::npos) << *answer;
  EXPECT_NE(answer->find("m=video 0 UDP/TLS/RTP/SAVPF 96\r\n"), std::string::npos) << *answer;
  EXPECT_NE(answer->find("a=mid:a\r\n"), std::string::npos);
  EXPECT_NE(answer->find("a=group:BUNDLE 0\r\n"), std::string::npos);
  ASSERT_TRUE(p.a.pc->set_remote_description("answer", *answer).ok());
  ASSERT_TRUE(p.loop.run_until([&] { return (*ch)->is_open() && p.b.remote_channels.size() == 1; }));
}

TEST(OursToOurs, BadRemoteDescriptionsAreErrors) {
  Loop loop;
  Peer a(loop.context());
  EXPECT_FALSE(a.pc->set_remote_description("offer", "").ok());
  EXPECT_FALSE(a.pc->set_remote_description("offer", "garbage\r\n\x01\x02").ok());
  EXPECT_FALSE(a.pc->set_remote_description("pranswer", "v=0\r\n").ok());
  EXPECT_FALSE(a.pc->set_remote_description("answer", "v=0\r\n").ok()) << "answer without an offer";
  EXPECT_FALSE(a.pc->create_answer().ok()) << "answer without a remote offer";
  EXPECT_FALSE(a.pc->add_remote_candidate("not a candidate", "0").ok());
  EXPECT_EQ(a.state(), PeerState::New);
}

// Configuration::sctp_mtu above the safe default (for known paths such as
// loopback): every size still arrives byte-exact, on both kinds of channel.
TEST(OursToOurs, LargerSctpMtuCarriesAllSizesByteExact) {
  Configuration config;
  config.sctp_mtu = 16384;  // the largest allowed
  Pair p(config);
  ASSERT_TRUE(p.connect());
  auto [a, b] = open_channel(p, "reliable-big-mtu");
  ASSERT_TRUE(a && b);
  exchange_all_sizes(p, *a, *b, true);
  DataChannelInit lossy;
  lossy.ordered = false;
  lossy.max_retransmits = 0;
  auto [c, d] = open_channel(p, "lossy-big-mtu", lossy);
  ASSERT_TRUE(c && d);
  exchange_all_sizes(p, *c, *d, false);
}

TEST(OursToOurs, SctpMtuOutsideItsRangeIsAClearError) {
  for (unsigned mtu : {1199u, 16385u}) {
    Configuration config;
    config.sctp_mtu = mtu;
    Pair p(config);
    ASSERT_TRUE(p.negotiate());
    // Whichever side finishes the DTLS handshake first refuses to start SCTP.
    ASSERT_TRUE(p.loop.run_until([&] { return !p.a.errors.empty() || !p.b.errors.empty(); })) << mtu;
    const std::string& error = p.a.errors.empty() ? p.b.errors[0] : p.a.errors[0];
    EXPECT_NE(error.find("SCTP MTU " + std::to_string(mtu) + " is outside 1200..16384"), std::string::npos) << error;
    EXPECT_FALSE(p.a.has_state(PeerState::Connected) || p.b.has_state(PeerState::Connected));
  }
}

}  // namespace
}  // namespace lk::rtc::test
