// The data channels of one peer connection, keyed by SCTP stream: DCEP
// handshake, stream-id choice by DTLS role, per-channel send queues with
// buffered amount, and close by stream reset. Owner-thread API except the
// DataChannel entry points (send/buffered_amount), which lock mutex_.
#pragma once

#include <glib.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "rtc/data_channel.h"
#include "rtc/dcep.h"
#include "rtc/sctp_transport.h"
#include "rtc/sdp.h"
#include "util/result.h"

namespace lk::rtc {

class DataChannelRegistry : public std::enable_shared_from_this<DataChannelRegistry> {
 public:
  // Channels the peer may have open at once (LiveKit opens three).
  static constexpr size_t kMaxRemoteChannels = 64;

  DataChannelRegistry() = default;

  lk::Result<std::shared_ptr<DataChannel>> create(std::string label, DataChannelInit init);
  // SCTP association is up: assign ids, open pending channels.
  void attach(SctpTransport* sctp, bool dtls_client, size_t remote_max_message_size);
  // SCTP gone: every channel closes.
  void detach();
  // Most bytes one channel may queue while SCTP is full.
  void set_max_buffered_amount(size_t bytes);

  void handle_message(uint16_t stream, uint32_t ppid, std::span<const uint8_t> data);
  void handle_stream_reset(uint16_t stream);
  void handle_writable();

  std::function<void(std::shared_ptr<DataChannel>)> on_remote_channel;
  // Runs a callback later on the owner's context: on_open of a channel
  // created on a live association must come after create() returns.
  std::function<void(std::function<void()>)> defer;

  // Entry points of DataChannel.
  lk::Result<void> send(DataChannel& channel, std::span<const uint8_t> data, bool binary);
  size_t buffered_amount(const DataChannel& channel);
  void set_low_threshold(DataChannel& channel, size_t bytes);
  void close(DataChannel& channel);

 private:
  using Callbacks = std::vector<std::function<void()>>;
  lk::Result<uint16_t> pick_id_locked();
  void open_locked(const std::shared_ptr<DataChannel>& channel, Callbacks& later);
  bool flush_locked(const std::shared_ptr<DataChannel>& channel, Callbacks& later);  // false: SCTP would block
  // Why an OPEN from the peer on `stream` is refused, or nullptr.
  const char* refuse_open_locked(uint16_t stream, const dcep::Open& open) const;
  void finish_close_locked(const std::shared_ptr<DataChannel>& channel, Callbacks& later);
  static void run(Callbacks& callbacks);

  std::mutex mutex_;
  SctpTransport* sctp_ = nullptr;
  bool dtls_client_ = false;
  size_t remote_max_message_size_ = sdp::kUnadvertisedMaxMessageSize;
  size_t max_buffered_ = 16 * 1024 * 1024;
  std::map<uint16_t, std::shared_ptr<DataChannel>> by_stream_;
  std::vector<std::shared_ptr<DataChannel>> pending_;  // created before the association was up
};

}  // namespace lk::rtc
