/* Preloaded into the test server: gives every UDP socket libwebrtc opens 8 MiB kernel
 * buffers. With the default 208 KiB, a burst of 16 KB data-track packets overflows the
 * receive buffer on loopback/veth and packets are lost before SCTP sees them; libwebrtc
 * offers no knob for it and the namespaced sysctls are read-only. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>

static const int kBufferBytes = 8 << 20;

/* The server runs as a child of server.js: die with it. */
__attribute__((constructor)) static void exit_with_parent(void) {
  prctl(PR_SET_PDEATHSIG, SIGTERM);
}

int socket(int domain, int type, int protocol) {
  static int (*real_socket)(int, int, int);
  if (!real_socket) real_socket = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
  int fd = real_socket(domain, type, protocol);
  if (fd >= 0 && (domain == AF_INET || domain == AF_INET6) && (type & 0xff) == SOCK_DGRAM) {
    /* FORCE variants pass net.core.*mem_max (needs CAP_NET_ADMIN; plain ones cap at max). */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &kBufferBytes, sizeof kBufferBytes) != 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kBufferBytes, sizeof kBufferBytes);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &kBufferBytes, sizeof kBufferBytes) != 0)
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kBufferBytes, sizeof kBufferBytes);
  }
  return fd;
}
