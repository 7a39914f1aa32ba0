// The kernel's own limit for the transport's rows: 1,200-byte UDP datagrams
// over loopback in this namespace, one sender thread and one receiver thread
// (recvmmsg), sent three ways.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace lk::bench {

enum class UdpSendMode {
  OnePerCall,  // sendto, one datagram a call (what a plain UDP sender does)
  Mmsg,        // sendmmsg, 64 datagrams a call
  Gso,         // UDP_SEGMENT, 54 datagrams a call
};

struct UdpResult {
  int64_t sent = 0, received = 0;  // datagrams
  double seconds = 0;              // first to last datagram received
  double sender_cpu_s = 0, receiver_cpu_s = 0;
  std::string error;
};

constexpr size_t kUdpDatagramBytes = 1200;

const char* to_string(UdpSendMode mode);
UdpResult measure_udp(UdpSendMode mode, unsigned duration_ms);

}  // namespace lk::bench
