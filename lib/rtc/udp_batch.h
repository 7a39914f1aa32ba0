// Sending datagrams below libnice, many per system call.
//
// UdpPath is the ICE selected pair seen as a plain UDP socket and a remote
// address: IceTransport makes one while the pair is a direct UDP one (not
// TURN, not ICE-TCP) and libnice still has consent to send on it, and drops
// it otherwise. libnice keeps the agent (checks, consent, keepalives) and
// keeps reading the socket; we only write to it.
//
// SendBatch marks a stretch of code on one thread (SctpTransport opens one
// around each usrsctp call): datagrams sent through a UdpPath on that thread
// meanwhile are copied into a queue and handed to the kernel together when
// the outermost SendBatch ends (sendmmsg, and equal-size runs as UDP GSO
// segments where the kernel has it). Outside a SendBatch a datagram goes at
// once. A batch may end on another thread than the one that made it.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>

typedef struct _GSocket GSocket;

namespace lk::rtc {

class UdpPath : public std::enable_shared_from_this<UdpPath> {
 public:
  // Holds a reference to socket. Made as a shared_ptr (a queue holds it).
  UdpPath(GSocket* socket, const sockaddr_storage& remote, socklen_t remote_len);
  ~UdpPath();
  UdpPath(const UdpPath&) = delete;
  UdpPath& operator=(const UdpPath&) = delete;

  // Thread-safe. Queued while a SendBatch is open on this thread, else sent
  // now. False when the kernel refused it (full buffer, unreachable).
  bool send(std::span<const uint8_t> datagram);

  uint64_t sent() const { return sent_.load(std::memory_order_relaxed); }      // datagrams the kernel took
  uint64_t batched() const { return batched_.load(std::memory_order_relaxed); } // of those, sent in batches
  uint64_t failed() const { return failed_.load(std::memory_order_relaxed); }

 private:
  friend class SendQueue;
  bool send_now(std::span<const uint8_t> datagram);
  void count_sent(size_t datagrams, bool batched);

  GSocket* socket_;
  int fd_;
  sockaddr_storage remote_;
  socklen_t remote_len_;
  std::atomic<uint64_t> sent_{0}, batched_{0}, failed_{0};
  std::atomic<bool> gso_{true};  // until the kernel refuses UDP_SEGMENT here
};

class SendQueue;

class SendBatch {
 public:
  SendBatch();
  ~SendBatch();  // the outermost one of its thread sends what was queued
  SendBatch(const SendBatch&) = delete;
  SendBatch& operator=(const SendBatch&) = delete;

 private:
  std::shared_ptr<SendQueue> queue_;  // of the thread that made it
};

}  // namespace lk::rtc
