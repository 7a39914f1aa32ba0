// A DataChannel's state, shared by the channel (data_channel.cpp) and the
// registry that drives it (channel_registry.cpp). Internal to lib/rtc.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "rtc/data_channel.h"

namespace lk::rtc {

class DataChannelRegistry;

enum class Phase { Connecting, Open, Closing, Closed };

struct DataChannel::State {
  struct Outgoing {
    uint32_t ppid;
    std::vector<uint8_t> payload;
    size_t size;  // what counts in buffered_amount (0 for an empty message)
  };

  std::weak_ptr<DataChannelRegistry> registry;
  std::atomic<uint16_t> id{kNoId};
  std::atomic<Phase> phase{Phase::Connecting};
  // Guarded by the registry's mutex:
  bool awaiting_ack = false;  // in-band and opened by us: ordered and reliable until the ACK
  bool reset_sent = false;
  std::deque<Outgoing> queue;
  size_t buffered = 0;
  size_t low_threshold = 0;
};

}  // namespace lk::rtc
