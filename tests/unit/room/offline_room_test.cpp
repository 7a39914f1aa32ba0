// The room's handling of server messages and packets, without a network
// (room/offline_room.h): joins, participant updates, subscriber handles,
// forged handles and leave.
#include <gtest/gtest.h>

#include "datatrack/packetizer.h"
#include "payload.h"
#include "room/offline_room.h"
#include "room_messages.h"

namespace lk::room {
namespace {

using namespace lk::test;

class OfflineRoomTest : public ::testing::Test {
 protected:
  // Joined as bob while alice publishes "telemetry" (TR_1); bob subscribes
  // and the server grants it as handle 7.
  std::shared_ptr<DataTrackSubscription> subscribed(const SubscribeOptions& options = {}) {
    room_.receive(join_response("bob", {participant("alice", 1, {{"TR_1", "telemetry"}})}));
    EXPECT_TRUE(room_.joined());
    auto sub = room_.subscribe("alice", "telemetry", options);
    EXPECT_EQ(subscribed_sids(room_.take_sent()), std::vector<std::string>{"TR_1"});
    room_.receive(subscriber_handles({{7, "TR_1"}}));
    EXPECT_TRUE(sub->wait_active(0));
    return sub;
  }

  void send_frame(uint16_t handle, const std::vector<uint8_t>& payload) {
    for (const auto& packet : packets_of(handle, payload)) room_.receive_packet(packet);
  }

  OfflineRoom room_;
};

TEST_F(OfflineRoomTest, AGrantedHandleDeliversFramesByteExact) {
  auto sub = subscribed();
  const auto payload = pattern(3, 40000);  // three packets
  send_frame(7, payload);
  auto frame = sub->read(0);
  ASSERT_TRUE(frame) << frame.error().message;
  EXPECT_EQ(frame->payload, payload);
}

TEST_F(OfflineRoomTest, AFullQueueDropsTheOldestByCountOrBytesAndKeepsTheNewest) {
  SubscribeOptions by_bytes;
  by_bytes.queue_bytes = 25000;  // two 10,000-byte frames fit, a third does not
  auto sub = subscribed(by_bytes);
  for (uint8_t i = 1; i <= 5; ++i) send_frame(7, pattern(i, 10000));
  send_frame(7, pattern(6, 30000));  // larger than the bound: still kept, alone
  auto frame = sub->read(0);
  ASSERT_TRUE(frame) << frame.error().message;
  EXPECT_EQ(frame->payload, pattern(6, 30000));
  EXPECT_FALSE(sub->read(0));
  EXPECT_EQ(sub->stats().dropped_queue_overflow, 5u);
  for (uint8_t i = 7; i <= 9; ++i) send_frame(7, pattern(i, 10000));
  EXPECT_EQ(sub->read(0)->payload, pattern(8, 10000));
  EXPECT_EQ(sub->read(0)->payload, pattern(9, 10000));
}

// What a reader not scheduled for a quarter of a second leaves unread of a
// burst of 100-byte frames at 60,000 a second (bench/e2e's burst): with 1,024
// frames the queue lost part of every burst on a busy machine.
TEST_F(OfflineRoomTest, ABurstOfSmallFramesFitsTheDefaultQueue) {
  constexpr int kBurst = 15000;
  auto sub = subscribed();
  for (int i = 0; i < kBurst; ++i) send_frame(7, pattern(uint8_t(i), 100));
  EXPECT_EQ(sub->stats().dropped_queue_overflow, 0u);
  for (int i = 0; i < kBurst; ++i) {
    auto frame = sub->read(0);
    ASSERT_TRUE(frame) << i;
    EXPECT_EQ(frame->payload, pattern(uint8_t(i), 100));
  }
}

// read_batch takes the frames waiting, in order, up to its bounds: the count,
// the payload bytes (the first frame always, whatever its size), and never
// waits for more than the first.
TEST_F(OfflineRoomTest, ReadBatchTakesWhatWaitsInOrderWithinItsBounds) {
  auto sub = subscribed();
  std::vector<ReceivedFrame> batch;
  for (uint8_t i = 1; i <= 5; ++i) send_frame(7, pattern(i, 100));
  ASSERT_TRUE(sub->read_batch(0, 3, 1 << 20, batch));
  ASSERT_EQ(batch.size(), 3u) << "the count bound";
  for (uint8_t i = 0; i < 3; ++i) EXPECT_EQ(batch[i].payload, pattern(uint8_t(i + 1), 100));
  ASSERT_TRUE(sub->read_batch(0, 64, 1 << 20, batch));
  ASSERT_EQ(batch.size(), 2u) << "what was left, without waiting for more";
  EXPECT_EQ(batch[0].payload, pattern(4, 100));
  EXPECT_EQ(batch[1].payload, pattern(5, 100));

  send_frame(7, pattern(6, 3000));  // over the byte bound: taken alone
  send_frame(7, pattern(7, 100));
  send_frame(7, pattern(8, 100));
  ASSERT_TRUE(sub->read_batch(0, 64, 250, batch));
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0].payload, pattern(6, 3000));
  ASSERT_TRUE(sub->read_batch(0, 64, 250, batch));
  EXPECT_EQ(batch.size(), 2u) << "200 of 250 bytes";
  auto none = sub->read_batch(0, 64, 250, batch);
  ASSERT_FALSE(none) << "nothing waits";
  EXPECT_EQ(none.error().kind, ErrorKind::Timeout);
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(sub->stats().frames_received, 8u);
}

// Frames 2 and 3 lose every packet, frame 4 its Start: two missing (a gap in
// frame numbers), one dropped in reassembly, the rest delivered.
TEST_F(OfflineRoomTest, FramesThatLostEveryPacketAreCountedMissing) {
  auto sub = subscribed();
  datatrack::Packetizer packetizer(7, 0, [] { return uint64_t(0); });
  for (uint32_t f = 0; f < 8; ++f) {
    std::vector<std::vector<uint8_t>> packets;
    auto done = packetizer.packetize(pattern(f, f % 2 ? 100 : 20000), {},
                                     [&](std::span<const uint8_t> p) { packets.emplace_back(p.begin(), p.end()); });
    ASSERT_TRUE(done.ok());
    if (f == 2 || f == 3) continue;
    if (f == 4) packets.erase(packets.begin());  // two packets: the Final alone is a drop
    for (const auto& p : packets) room_.receive_packet(p);
  }
  const auto stats = sub->stats();
  EXPECT_EQ(stats.frames_received, 5u);
  EXPECT_EQ(stats.frames_missing, 2u);
  EXPECT_EQ(stats.dropped_reassembly, 1u);
}

TEST_F(OfflineRoomTest, AForgedHandleIsCountedAndDeliversNothing) {
  auto sub = subscribed();
  send_frame(8, pattern(4, 100));
  send_frame(0xFFFF, pattern(5, 100));
  EXPECT_FALSE(sub->read(0));
  EXPECT_EQ(room_.stats().unknown_handle_packets, 2u);
  room_.receive_packet(std::vector<uint8_t>{0xFF, 0x00, 0x01});
  EXPECT_EQ(room_.stats().malformed_packets, 1u);
}

TEST_F(OfflineRoomTest, AHandleTakenAwayByTheNextSnapshotDeliversNothing) {
  auto sub = subscribed();
  room_.receive(subscriber_handles({{9, "TR_other"}}));
  send_frame(7, pattern(6, 100));
  EXPECT_FALSE(sub->read(0));
  EXPECT_EQ(room_.stats().unknown_handle_packets, 1u);
}

TEST_F(OfflineRoomTest, AnUpdateWithoutTheTrackEndsTheSubscriptionAndItsHandle) {
  auto sub = subscribed();
  room_.receive(participant_update({participant("alice", 2, {})}));
  EXPECT_EQ(sub->end(), SubscriptionEnd::Unpublished);
  send_frame(7, pattern(7, 100));
  EXPECT_EQ(room_.stats().unknown_handle_packets, 1u);
}

TEST_F(OfflineRoomTest, AStaleUpdateChangesNothing) {
  auto sub = subscribed();
  room_.receive(participant_update({participant("alice", 2, {{"TR_1", "telemetry"}})}));
  room_.receive(participant_update({participant("alice", 1, {})}));  // older than version 2
  EXPECT_EQ(sub->end(), SubscriptionEnd::None);
  send_frame(7, pattern(8, 10));
  EXPECT_TRUE(sub->read(0));
}

TEST_F(OfflineRoomTest, ATrackAnnouncedLaterIsRequestedThen) {
  room_.receive(join_response("bob", {}));
  auto sub = room_.subscribe("alice", "telemetry");
  EXPECT_TRUE(subscribed_sids(room_.take_sent()).empty());
  room_.receive(participant_update({participant("alice", 1, {{"TR_2", "telemetry"}})}));
  EXPECT_EQ(subscribed_sids(room_.take_sent()), std::vector<std::string>{"TR_2"});
}

TEST_F(OfflineRoomTest, ASecondJoinResponseChangesNothing) {
  auto sub = subscribed();
  room_.receive(join_response("bob", {}));  // would forget alice's track
  room_.receive(participant_update({participant("alice", 2, {{"TR_1", "telemetry"}})}));
  EXPECT_EQ(sub->end(), SubscriptionEnd::None);
  send_frame(7, pattern(10, 10));
  EXPECT_TRUE(sub->read(0));
}

TEST_F(OfflineRoomTest, UndecodableBytesAreCountedAndChangeNothing) {
  auto sub = subscribed();
  const std::vector<uint8_t> garbage = {0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F};  // join, length past the end
  EXPECT_FALSE(room_.receive_bytes(garbage));
  EXPECT_EQ(room_.stats().malformed_signal_messages, 1u);
  EXPECT_TRUE(room_.status());
  EXPECT_EQ(sub->end(), SubscriptionEnd::None);
}

TEST_F(OfflineRoomTest, ALeaveEndsTheSessionAndEverySubscription) {
  auto sub = subscribed();
  livekit::SignalResponse leave;
  leave.mutable_leave()->set_reason(livekit::ROOM_DELETED);
  room_.receive(leave);
  EXPECT_FALSE(room_.status());
  EXPECT_EQ(sub->end(), SubscriptionEnd::Disconnected);
  send_frame(7, pattern(9, 10));  // after the end: ignored
  EXPECT_FALSE(sub->read(0));
}

}  // namespace
}  // namespace lk::room
