#include "rtc/udp_batch.h"

#include <gio/gio.h>
#include <netinet/in.h>
#include <netinet/udp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103  // linux/udp.h, Linux 4.18
#endif

namespace lk::rtc {
namespace {

// At most this much waits in a path's queue; then it goes.
constexpr size_t kMaxDatagrams = 64;
constexpr size_t kMaxBytes = 1 << 20;
// One GSO send: at most 64 segments (UDP_MAX_SEGMENTS on older kernels)
// in one UDP payload (65,507 bytes over IPv4).
constexpr size_t kMaxSegments = 64;
constexpr size_t kMaxGsoBytes = 65000;

}  // namespace

struct UdpPath::Control {
  alignas(cmsghdr) char bytes[CMSG_SPACE(sizeof(uint16_t))];
};

// How many SendBatch are open on one thread, and the paths holding what it
// queued. Locked and shared so that a batch may end on another thread, and
// outlive its thread.
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
    std::vector<std::shared_ptr<UdpPath>> paths;
    {
      std::lock_guard lock(mutex_);
      if (--depth_ > 0) return;
      paths.swap(paths_);
    }
    for (auto& path : paths) path->flush();
  }
  // False when no batch is open here; else path is flushed when it closes.
  bool hold(UdpPath& path) {
    std::lock_guard lock(mutex_);
    if (depth_ == 0) return false;
    if (std::none_of(paths_.begin(), paths_.end(), [&](const auto& p) { return p.get() == &path; }))
      paths_.push_back(path.shared_from_this());
    return true;
  }

 private:
  std::mutex mutex_;
  int depth_ = 0;
  std::vector<std::shared_ptr<UdpPath>> paths_;  // a path also keeps its socket open
};

UdpPath::UdpPath(GSocket* socket, const sockaddr_storage& remote, socklen_t remote_len)
    : socket_(G_SOCKET(g_object_ref(socket))), fd_(g_socket_get_fd(socket)), remote_(remote), remote_len_(remote_len) {}

UdpPath::~UdpPath() { g_object_unref(socket_); }

bool UdpPath::send(std::span<const uint8_t> datagram) {
  bool batched = SendQueue::mine()->hold(*this);
  std::lock_guard lock(mutex_);
  bytes_.insert(bytes_.end(), datagram.begin(), datagram.end());
  ends_.push_back(bytes_.size());
  if (!batched) return flush_locked();
  batched_.fetch_add(1, std::memory_order_relaxed);
  if (ends_.size() >= kMaxDatagrams || bytes_.size() >= kMaxBytes) flush_locked();
  return true;
}

void UdpPath::flush() {
  std::lock_guard lock(mutex_);
  flush_locked();
}

std::span<const uint8_t> UdpPath::queued(size_t i) const {
  size_t begin = i ? ends_[i - 1] : 0;
  return {bytes_.data() + begin, ends_[i] - begin};
}

bool UdpPath::flush_locked() {
  if (ends_.empty()) return true;
  plan_locked(gso_.load(std::memory_order_relaxed));
  uint64_t failed_before = failed_.load(std::memory_order_relaxed);
  for (size_t done = 0; done < messages_.size();) {
    int n = sendmmsg(fd_, headers_.data() + done, static_cast<unsigned>(messages_.size() - done), 0);
    if (n > 0) {
      for (int i = 0; i < n; ++i) sent_.fetch_add(messages_[done + i].count, std::memory_order_relaxed);
      done += static_cast<size_t>(n);
    } else if (errno == EINTR) {
      continue;
    } else if (messages_[done].count > 1 && (errno == EIO || errno == EINVAL || errno == EMSGSIZE)) {
      // No UDP GSO on this path (old kernel, a device without checksum
      // offload, datagrams above the MTU): these go one by one, and so does
      // everything after.
      gso_.store(false, std::memory_order_relaxed);
      for (size_t i = 0; i < messages_[done].count; ++i) send_one(queued(messages_[done].first + i));
      ++done;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {  // buffer full: the rest is lost, like any UDP loss
      for (; done < messages_.size(); ++done) failed_.fetch_add(messages_[done].count, std::memory_order_relaxed);
    } else {  // this one refused (e.g. a pending ICMP error): go on after it
      failed_.fetch_add(messages_[done++].count, std::memory_order_relaxed);
    }
  }
  bytes_.clear();
  ends_.clear();
  return failed_.load(std::memory_order_relaxed) == failed_before;
}

// One sendmmsg entry per datagram, or, with GSO, per run of datagrams of one
// size (the last of a run may be shorter): the kernel cuts them apart.
void UdpPath::plan_locked(bool gso) {
  messages_.clear();
  for (size_t i = 0; i < ends_.size();) {
    size_t size = queued(i).size(), count = 1, bytes = size;
    while (gso && i + count < ends_.size() && count < kMaxSegments && bytes + queued(i + count).size() <= kMaxGsoBytes &&
           queued(i + count - 1).size() == size && queued(i + count).size() <= size)
      bytes += queued(i + count++).size();
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
    h.msg_name = &remote_;
    h.msg_namelen = remote_len_;
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

bool UdpPath::send_one(std::span<const uint8_t> datagram) {
  ssize_t n;
  do {
    n = sendto(fd_, datagram.data(), datagram.size(), 0, reinterpret_cast<const sockaddr*>(&remote_), remote_len_);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(datagram.size())) {
    sent_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  failed_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

SendBatch::SendBatch() : queue_(SendQueue::mine()) { queue_->open(); }
SendBatch::~SendBatch() { queue_->close(); }

}  // namespace lk::rtc
