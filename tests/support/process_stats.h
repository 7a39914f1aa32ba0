// This process's resident memory, open file descriptors and threads, read
// from /proc/self: what a soak or a flood must leave flat.
#pragma once

#include <dirent.h>

#include <fstream>
#include <string>

namespace lk::test {

inline int entries_in(const char* dir) {
  int n = 0;
  if (DIR* d = opendir(dir)) {
    while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
    closedir(d);
  }
  return n;
}

struct ProcessStats {
  long rss_kb = 0;
  int fds = 0, threads = 0;

  static ProcessStats now() {
    ProcessStats s;
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("VmRSS:", 0) == 0) s.rss_kb = std::stol(line.substr(6));
    }
    s.fds = entries_in("/proc/self/fd") - 1;  // minus the one opendir holds
    s.threads = entries_in("/proc/self/task");
    return s;
  }
};

}  // namespace lk::test
