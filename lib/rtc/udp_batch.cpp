#include "rtc/udp_batch.h"

#include <gio/gio.h>
#include <netinet/in.h>
#include <netinet/udp.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103  // linux/udp.h, Linux 4.18
#endif

namespace lk::rtc {

// The datagrams queued on one thread while a SendBatch made there is open.
// Locked, so that a batch may end on another thread (an IceTransport
// destroyed off its context's thread); shared, so that it outlives its thread.
class SendQueue {
 public:
  static const std::shared_ptr<SendQueue>& mine() {
    thread_local std::shared_ptr<SendQueue> queue = std::make_shared<SendQueue>();
    return queue;
  }

  void open() {
    std::lock_guard lock(mutex_);
    ++depth_;
  }
  void close() {
    std::lock_guard lock(mutex_);
    if (--depth_ == 0) flush();
  }

  // False, holding nothing, when no batch is open.
  bool add(UdpPath& path, std::span<const uint8_t> datagram) {
    std::lock_guard lock(mutex_);
    if (depth_ == 0) return false;
    if (path_.get() != &path || ends_.size() == kMaxDatagrams || bytes_.size() + datagram.size() > kMaxBytes) flush();
    if (!path_) path_ = path.shared_from_this();
    bytes_.insert(bytes_.end(), datagram.begin(), datagram.end());
    ends_.push_back(bytes_.size());
    return true;
  }

 private:
  // Few enough that DTLS records another thread sends meanwhile (usrsctp's
  // timers) cannot push ours out of the peer's 64-record replay window;
  // enough that the system call is a small part of a datagram's cost.
  static constexpr size_t kMaxDatagrams = 32;
  static constexpr size_t kMaxBytes = 1 << 20;
  // One GSO send: at most 64 segments (UDP_MAX_SEGMENTS on older kernels)
  // in one UDP payload (65,507 bytes over IPv4).
  static constexpr size_t kMaxSegments = 64;
  static constexpr size_t kMaxGsoBytes = 65000;

  struct Message {
    size_t first, count;  // datagrams
    uint16_t segment;     // their size (GSO)
  };
  struct Control {
    alignas(cmsghdr) char bytes[CMSG_SPACE(sizeof(uint16_t))];
  };

  // Also lets go of the path: a queue that holds it keeps its socket open.
  void flush() {
    std::shared_ptr<UdpPath> held = std::move(path_);
    if (ends_.empty()) return;
    UdpPath& path = *held;
    plan(path, path.gso_.load(std::memory_order_relaxed));
    for (size_t done = 0; done < messages_.size();) {
      int n = sendmmsg(path.fd_, headers_.data() + done, static_cast<unsigned>(messages_.size() - done), 0);
      if (n > 0) {
        for (int i = 0; i < n; ++i) path.count_sent(messages_[done + i].count, true);
        done += static_cast<size_t>(n);
      } else if (errno == EINTR) {
        continue;
      } else if (messages_[done].count > 1 && (errno == EIO || errno == EINVAL || errno == EMSGSIZE)) {
        // No UDP GSO on this path (old kernel, a device without checksum
        // offload, datagrams above the MTU): these go one by one, and so
        // does everything after.
        path.gso_.store(false, std::memory_order_relaxed);
        for (size_t i = 0; i < messages_[done].count; ++i) path.send_now(datagram(messages_[done].first + i));
        ++done;
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {  // buffer full: the rest is lost, like any UDP loss
        for (; done < messages_.size(); ++done) path.failed_.fetch_add(messages_[done].count, std::memory_order_relaxed);
      } else {  // this one refused (e.g. a pending ICMP error): go on after it
        path.failed_.fetch_add(messages_[done++].count, std::memory_order_relaxed);
      }
    }
    bytes_.clear();
    ends_.clear();
  }

  std::span<const uint8_t> datagram(size_t i) const {
    size_t begin = i ? ends_[i - 1] : 0;
    return {bytes_.data() + begin, ends_[i] - begin};
  }

  // One sendmmsg entry per datagram, or, with GSO, per run of datagrams of
  // one size (the last of a run may be shorter): the kernel cuts them apart.
  void plan(const UdpPath& path, bool gso) {
    messages_.clear();
    for (size_t i = 0; i < ends_.size();) {
      size_t size = datagram(i).size(), count = 1, bytes = size;
      while (gso && i + count < ends_.size() && count < kMaxSegments && bytes + datagram(i + count).size() <= kMaxGsoBytes &&
             datagram(i + count - 1).size() == size && datagram(i + count).size() <= size)
        bytes += datagram(i + count++).size();
      messages_.push_back({i, count, static_cast<uint16_t>(size)});
      i += count;
    }
    size_t n = messages_.size();
    iovecs_.resize(n);
    headers_.resize(n);
    controls_.resize(n);
    for (size_t m = 0; m < n; ++m) {
      const Message& message = messages_[m];
      size_t begin = message.first ? ends_[message.first - 1] : 0;
      iovecs_[m] = {bytes_.data() + begin, ends_[message.first + message.count - 1] - begin};
      msghdr& h = headers_[m].msg_hdr;
      h = {};
      h.msg_name = const_cast<sockaddr_storage*>(&path.remote_);
      h.msg_namelen = path.remote_len_;
      h.msg_iov = &iovecs_[m];
      h.msg_iovlen = 1;
      if (message.count > 1) {
        h.msg_control = controls_[m].bytes;
        h.msg_controllen = sizeof controls_[m].bytes;
        cmsghdr* c = CMSG_FIRSTHDR(&h);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        std::memcpy(CMSG_DATA(c), &message.segment, sizeof message.segment);
      }
    }
  }

  std::mutex mutex_;  // guards all below
  int depth_ = 0;
  std::shared_ptr<UdpPath> path_;  // of everything queued, while something is
  std::vector<uint8_t> bytes_;     // the datagrams back to back
  std::vector<size_t> ends_;       // where each ends in bytes_
  std::vector<Message> messages_;
  std::vector<iovec> iovecs_;
  std::vector<mmsghdr> headers_;
  std::vector<Control> controls_;
};

UdpPath::UdpPath(GSocket* socket, const sockaddr_storage& remote, socklen_t remote_len)
    : socket_(G_SOCKET(g_object_ref(socket))), fd_(g_socket_get_fd(socket)), remote_(remote), remote_len_(remote_len) {}

UdpPath::~UdpPath() { g_object_unref(socket_); }

bool UdpPath::send(std::span<const uint8_t> datagram) {
  return SendQueue::mine()->add(*this, datagram) || send_now(datagram);
}

bool UdpPath::send_now(std::span<const uint8_t> datagram) {
  ssize_t n;
  do {
    n = sendto(fd_, datagram.data(), datagram.size(), 0, reinterpret_cast<const sockaddr*>(&remote_), remote_len_);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(datagram.size())) {
    count_sent(1, false);
    return true;
  }
  failed_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

void UdpPath::count_sent(size_t datagrams, bool batched) {
  sent_.fetch_add(datagrams, std::memory_order_relaxed);
  if (batched) batched_.fetch_add(datagrams, std::memory_order_relaxed);
}

SendBatch::SendBatch() : queue_(SendQueue::mine()) { queue_->open(); }
SendBatch::~SendBatch() { queue_->close(); }

}  // namespace lk::rtc
