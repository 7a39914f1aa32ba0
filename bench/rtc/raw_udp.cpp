#include "raw_udp.h"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103  // linux/udp.h
#endif

namespace lk::bench {
namespace {

constexpr unsigned kMmsgBatch = 64;
constexpr unsigned kGsoSegments = 54;  // 54 x 1,200 fits one 65,507-byte UDP payload
constexpr int kBufferBytes = 32 * 1024 * 1024;

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void big_buffer(int fd, int force, int plain) {
  if (setsockopt(fd, SOL_SOCKET, force, &kBufferBytes, sizeof kBufferBytes) != 0)
    setsockopt(fd, SOL_SOCKET, plain, &kBufferBytes, sizeof kBufferBytes);
}

// Sends until the deadline; returns datagrams handed to the kernel.
int64_t blast(int fd, const sockaddr_in& to, UdpSendMode mode, double deadline) {
  std::vector<uint8_t> payload(kUdpDatagramBytes * kGsoSegments, 0x5a);
  int64_t sent = 0;
  std::vector<iovec> iov(kMmsgBatch);
  std::vector<mmsghdr> msgs(kMmsgBatch);
  for (unsigned i = 0; i < kMmsgBatch; ++i) {
    iov[i] = {payload.data(), kUdpDatagramBytes};
    msgs[i].msg_hdr = {};
    msgs[i].msg_hdr.msg_name = const_cast<sockaddr_in*>(&to);
    msgs[i].msg_hdr.msg_namelen = sizeof to;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(uint16_t))] = {};
  iovec gso_iov{payload.data(), payload.size()};
  msghdr gso{};
  gso.msg_name = const_cast<sockaddr_in*>(&to);
  gso.msg_namelen = sizeof to;
  gso.msg_iov = &gso_iov;
  gso.msg_iovlen = 1;
  gso.msg_control = control;
  gso.msg_controllen = sizeof control;
  cmsghdr* cm = CMSG_FIRSTHDR(&gso);
  cm->cmsg_level = SOL_UDP;
  cm->cmsg_type = UDP_SEGMENT;
  cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
  uint16_t segment = kUdpDatagramBytes;
  std::memcpy(CMSG_DATA(cm), &segment, sizeof segment);

  for (unsigned round = 0;; ++round) {
    if (round % 64 == 0 && now_s() >= deadline) break;
    switch (mode) {
      case UdpSendMode::OnePerCall:
        if (sendto(fd, payload.data(), kUdpDatagramBytes, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) > 0)
          ++sent;
        break;
      case UdpSendMode::Mmsg:
        if (int n = sendmmsg(fd, msgs.data(), kMmsgBatch, 0); n > 0) sent += n;
        break;
      case UdpSendMode::Gso:
        if (sendmsg(fd, &gso, 0) < 0) return errno == EIO || errno == EINVAL ? -1 : sent;
        sent += kGsoSegments;
        break;
    }
  }
  return sent;
}

}  // namespace

const char* to_string(UdpSendMode mode) {
  switch (mode) {
    case UdpSendMode::OnePerCall: return "udp-sendto";
    case UdpSendMode::Mmsg: return "udp-sendmmsg";
    case UdpSendMode::Gso: return "udp-gso";
  }
  return "?";
}

UdpResult measure_udp(UdpSendMode mode, unsigned duration_ms) {
  UdpResult result;
  int rx = socket(AF_INET, SOCK_DGRAM, 0), tx = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof to;
  if (rx < 0 || tx < 0 || bind(rx, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0 ||
      getsockname(rx, reinterpret_cast<sockaddr*>(&to), &len) != 0) {
    result.error = std::string("UDP socket: ") + strerror(errno);
    if (rx >= 0) close(rx);
    if (tx >= 0) close(tx);
    return result;
  }
  big_buffer(rx, SO_RCVBUFFORCE, SO_RCVBUF);
  big_buffer(tx, SO_SNDBUFFORCE, SO_SNDBUF);

  std::atomic<bool> sending{true};
  double first = 0, last = 0;
  std::thread receiver([&] {
    double cpu0 = thread_cpu_s();
    std::vector<uint8_t> buffers(kMmsgBatch * 2048);
    std::vector<iovec> iov(kMmsgBatch);
    std::vector<mmsghdr> msgs(kMmsgBatch);
    for (unsigned i = 0; i < kMmsgBatch; ++i) {
      iov[i] = {buffers.data() + i * 2048, 2048};
      msgs[i].msg_hdr = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    pollfd p{rx, POLLIN, 0};
    // Until the sender is done and nothing came for 200 ms.
    while (poll(&p, 1, 200) > 0 || sending) {
      int n = recvmmsg(rx, msgs.data(), kMmsgBatch, MSG_DONTWAIT, nullptr);
      if (n <= 0) continue;
      last = now_s();
      if (result.received == 0) first = last;
      result.received += n;
    }
    result.receiver_cpu_s = thread_cpu_s() - cpu0;
  });
  double cpu0 = thread_cpu_s();
  int64_t sent = blast(tx, to, mode, now_s() + duration_ms / 1000.0);
  result.sender_cpu_s = thread_cpu_s() - cpu0;
  sending = false;
  receiver.join();
  close(rx);
  close(tx);
  if (sent < 0) {
    result.error = "UDP_SEGMENT refused (no UDP GSO here)";
    return result;
  }
  result.sent = sent;
  result.seconds = last - first;
  return result;
}

}  // namespace lk::bench
