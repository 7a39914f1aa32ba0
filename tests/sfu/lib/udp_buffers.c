/* Preloaded into the test server: gives every UDP socket libwebrtc opens 8 MiB kernel
 * buffers. With the default 208 KiB, a burst of 16 KB data-track packets overflows the
 * receive buffer on loopback/veth and packets are lost before SCTP sees them; libwebrtc
 * offers no knob for it and the namespaced sysctls are read-only. libwebrtc also sets
 * SO_RCVBUF/SO_SNDBUF itself after creating a socket (256 KiB / 64 KiB), so those calls
 * are raised to the same floor instead of shrinking the buffers again. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>

static const int kBufferBytes = 8 << 20;

typedef int (*setsockopt_fn)(int, int, int, const void *, socklen_t);

static setsockopt_fn real_setsockopt(void) {
  static setsockopt_fn fn;
  if (!fn) fn = (setsockopt_fn)dlsym(RTLD_NEXT, "setsockopt");
  return fn;
}

static int is_udp(int fd) {
  int type = 0, domain = 0;
  socklen_t len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_DGRAM) return 0;
  len = sizeof domain;
  return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 &&
         (domain == AF_INET || domain == AF_INET6);
}

/* FORCE variants pass net.core.*mem_max (needs CAP_NET_ADMIN; plain ones cap at max). */
static int set_buffer(int fd, int force_opt, int opt, int bytes) {
  if (real_setsockopt()(fd, SOL_SOCKET, force_opt, &bytes, sizeof bytes) == 0) return 0;
  return real_setsockopt()(fd, SOL_SOCKET, opt, &bytes, sizeof bytes);
}

/* The server runs as a child of server.js: die with it. */
__attribute__((constructor)) static void exit_with_parent(void) {
  prctl(PR_SET_PDEATHSIG, SIGTERM);
}

int socket(int domain, int type, int protocol) {
  static int (*real_socket)(int, int, int);
  if (!real_socket) real_socket = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
  int fd = real_socket(domain, type, protocol);
  if (fd >= 0 && (domain == AF_INET || domain == AF_INET6) && (type & 0xff) == SOCK_DGRAM) {
    set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, kBufferBytes);
    set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, kBufferBytes);
  }
  return fd;
}

int setsockopt(int fd, int level, int optname, const void *optval, socklen_t optlen) {
  if (level == SOL_SOCKET && (optname == SO_RCVBUF || optname == SO_SNDBUF) &&
      optlen == sizeof(int) && *(const int *)optval < kBufferBytes && is_udp(fd)) {
    return set_buffer(fd, optname == SO_RCVBUF ? SO_RCVBUFFORCE : SO_SNDBUFFORCE, optname,
                      kBufferBytes);
  }
  return real_setsockopt()(fd, level, optname, optval, optlen);
}
