// Sending datagrams below libnice, many per system call.
//
// UdpPath is the ICE selected pair seen as a plain UDP socket and a remote
// address: IceTransport makes one while the pair is a direct UDP one (not
// TURN, not ICE-TCP) and libnice still has consent to send on it, and drops
// it otherwise. libnice keeps the agent (checks, consent, keepalives) and
// keeps reading the socket; we only write to it.
//
// SendBatch marks a stretch of code on one thread (SctpTransport opens one
// around each usrsctp call): datagrams that thread sends through a UdpPath
// meanwhile wait in the path's queue and go to the kernel together when the
// thread's outermost SendBatch ends (sendmmsg, and equal-size runs as UDP GSO
// segments where the kernel has it). The queue is the path's, not the
// thread's: datagrams leave in the order they were queued, whichever thread
// queued them, and a thread sending outside a batch sends what waits before
// its own. DTLS needs that order: a record that arrives 64 records behind
// the newest is dropped as a replay. A batch may end on another thread than
// the one that made it.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

typedef struct _GSocket GSocket;

namespace lk::rtc {

class SendQueue;

class UdpPath : public std::enable_shared_from_this<UdpPath> {
 public:
  // Holds a reference to socket. Made as a shared_ptr (a batch holds it).
  UdpPath(GSocket* socket, const sockaddr_storage& remote, socklen_t remote_len);
  ~UdpPath();
  UdpPath(const UdpPath&) = delete;
  UdpPath& operator=(const UdpPath&) = delete;

  // Thread-safe. Queued while a SendBatch is open on this thread, else sent
  // now with whatever waits before it. False when the kernel refused it
  // (full buffer, unreachable).
  bool send(std::span<const uint8_t> datagram);

  uint64_t sent() const { return sent_.load(std::memory_order_relaxed); }       // datagrams the kernel took
  uint64_t batched() const { return batched_.load(std::memory_order_relaxed); } // datagrams queued in a batch
  uint64_t failed() const { return failed_.load(std::memory_order_relaxed); }

 private:
  friend class SendQueue;
  struct Message {
    size_t first, count;  // datagrams
    uint16_t segment;     // their size (GSO)
  };
  struct Control;

  void flush();
  bool flush_locked();  // false if any datagram was refused
  void plan_locked(bool gso);
  std::span<const uint8_t> queued(size_t i) const;
  bool send_one(std::span<const uint8_t> datagram);

  GSocket* socket_;
  int fd_;
  sockaddr_storage remote_;
  socklen_t remote_len_;
  std::atomic<uint64_t> sent_{0}, batched_{0}, failed_{0};
  std::atomic<bool> gso_{true};  // until the kernel refuses UDP_SEGMENT here

  std::mutex mutex_;            // the queue, and the order datagrams leave in
  std::vector<uint8_t> bytes_;  // queued datagrams back to back
  std::vector<size_t> ends_;    // where each ends in bytes_
  std::vector<Message> messages_;
  std::vector<struct iovec> iovecs_;
  std::vector<struct mmsghdr> headers_;
  std::vector<Control> controls_;
};

class SendBatch {
 public:
  SendBatch();
  ~SendBatch();  // the outermost one of its thread sends what it queued
  SendBatch(const SendBatch&) = delete;
  SendBatch& operator=(const SendBatch&) = delete;

 private:
  std::shared_ptr<SendQueue> queue_;  // of the thread that made it
};

}  // namespace lk::rtc
