// UdpPath and SendBatch (rtc/udp_batch.h) over loopback UDP: what a batch
// holds leaves when the outermost batch ends, in order (also against other
// threads), each datagram with its own boundaries and bytes, whatever runs of
// sizes GSO groups.
#include <gio/gio.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "rtc/udp_batch.h"

namespace lk::rtc {
namespace {

struct Loopback {
  Loopback() {
    for (GSocket** s : {&tx, &rx}) {
      *s = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, nullptr);
      GInetAddress* lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
      GSocketAddress* any_port = g_inet_socket_address_new(lo, 0);
      EXPECT_TRUE(g_socket_bind(*s, any_port, FALSE, nullptr));
      g_object_unref(any_port);
      g_object_unref(lo);
    }
    g_socket_set_option(rx, SOL_SOCKET, SO_RCVBUF, 4 << 20, nullptr);
    g_socket_set_timeout(rx, 2);
    GSocketAddress* to = g_socket_get_local_address(rx, nullptr);
    sockaddr_storage native{};
    g_socket_address_to_native(to, &native, sizeof native, nullptr);
    path = std::make_shared<UdpPath>(tx, native, static_cast<socklen_t>(g_socket_address_get_native_size(to)));
    g_object_unref(to);
  }
  ~Loopback() {
    path.reset();
    g_object_unref(tx);
    g_object_unref(rx);
  }
  // The next datagram, or none if nothing is waiting.
  std::vector<uint8_t> next(bool wait = true) {
    std::vector<uint8_t> buffer(70000);
    g_socket_set_blocking(rx, wait);
    gssize n = g_socket_receive(rx, reinterpret_cast<gchar*>(buffer.data()), buffer.size(), nullptr, nullptr);
    buffer.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return buffer;
  }

  GSocket *tx = nullptr, *rx = nullptr;
  std::shared_ptr<UdpPath> path;
};

std::vector<uint8_t> datagram(size_t size, uint32_t index) {
  std::vector<uint8_t> d(size);
  for (size_t i = 0; i < size; ++i) d[i] = static_cast<uint8_t>(index * 7 + i);
  return d;
}

TEST(UdpBatch, WithoutABatchEachDatagramLeavesAtOnce) {
  Loopback lo;
  ASSERT_TRUE(lo.path->send(datagram(1200, 1)));
  EXPECT_EQ(lo.next(), datagram(1200, 1));
  EXPECT_EQ(lo.path->sent(), 1u);
  EXPECT_EQ(lo.path->batched(), 0u);
}

TEST(UdpBatch, NestedBatchesHoldEverythingUntilTheOutermostEnds) {
  Loopback lo;
  {
    SendBatch outer;
    {
      SendBatch inner;
      ASSERT_TRUE(lo.path->send(datagram(100, 1)));
    }
    ASSERT_TRUE(lo.path->send(datagram(100, 2)));
    EXPECT_TRUE(lo.next(false).empty()) << "a datagram left before the outermost batch ended";
  }
  EXPECT_EQ(lo.next(), datagram(100, 1));
  EXPECT_EQ(lo.next(), datagram(100, 2));
  EXPECT_EQ(lo.path->batched(), 2u);
}

// Runs of equal sizes (GSO groups them), a shorter datagram closing a run, a
// longer one after a shorter one (which must not join its run), sizes from 1
// to 16 KiB, and more datagrams than one sendmmsg takes.
TEST(UdpBatch, ABatchDeliversEveryDatagramInOrderWithItsBoundariesAndBytes) {
  Loopback lo;
  std::vector<size_t> sizes;
  for (int i = 0; i < 70; ++i) sizes.push_back(1229);
  for (size_t size : {600, 1229, 1229, 80, 1229, 1, 16384, 16384, 1300, 1229}) sizes.push_back(size);
  for (int i = 0; i < 60; ++i) sizes.push_back(i % 3 ? 1229 : 700);
  {
    SendBatch batch;
    for (size_t i = 0; i < sizes.size(); ++i) ASSERT_TRUE(lo.path->send(datagram(sizes[i], static_cast<uint32_t>(i))));
  }
  for (size_t i = 0; i < sizes.size(); ++i) ASSERT_EQ(lo.next(), datagram(sizes[i], static_cast<uint32_t>(i))) << "datagram " << i;
  EXPECT_TRUE(lo.next(false).empty());
  EXPECT_EQ(lo.path->sent(), sizes.size());
  EXPECT_EQ(lo.path->batched(), sizes.size());
  EXPECT_EQ(lo.path->failed(), 0u);
}

// DTLS drops a record that comes 64 behind the newest: what one thread holds
// in a batch must not be overtaken by what another thread sends after it.
TEST(UdpBatch, WhatOneThreadHoldsLeavesBeforeWhatAnotherThreadSendsAfterIt) {
  Loopback lo;
  {
    SendBatch batch;
    for (uint32_t i = 0; i < 3; ++i) ASSERT_TRUE(lo.path->send(datagram(1200, i)));
    std::thread other([&] { EXPECT_TRUE(lo.path->send(datagram(1200, 3))); });  // no batch there: goes now
    other.join();
    EXPECT_EQ(lo.next(), datagram(1200, 0)) << "another thread's datagram overtook the held ones";
    EXPECT_EQ(lo.next(), datagram(1200, 1));
    EXPECT_EQ(lo.next(), datagram(1200, 2));
    EXPECT_EQ(lo.next(), datagram(1200, 3));
    ASSERT_TRUE(lo.path->send(datagram(1200, 4)));
  }
  EXPECT_EQ(lo.next(), datagram(1200, 4));
  EXPECT_TRUE(lo.next(false).empty());
}

// An IceTransport may be destroyed off its context's thread, ending the batch
// it holds open there.
TEST(UdpBatch, ABatchEndedOnAnotherThreadSendsWhatItsThreadQueued) {
  Loopback lo;
  auto batch = std::make_unique<SendBatch>();
  ASSERT_TRUE(lo.path->send(datagram(300, 9)));
  std::thread([&] { batch.reset(); }).join();
  EXPECT_EQ(lo.next(), datagram(300, 9));
  ASSERT_TRUE(lo.path->send(datagram(300, 10)));  // this thread has no batch open any more
  EXPECT_EQ(lo.next(false), datagram(300, 10));
}

TEST(UdpBatch, ABatchStillQueuedKeepsItsPathAliveAfterItsOwnerLetsGo) {
  Loopback lo;
  {
    SendBatch batch;
    ASSERT_TRUE(lo.path->send(datagram(500, 3)));
    lo.path.reset();  // IceTransport replacing the path mid-batch
  }
  EXPECT_EQ(lo.next(), datagram(500, 3));
}

}  // namespace
}  // namespace lk::rtc
