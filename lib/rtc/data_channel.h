// A WebRTC data channel (RFC 8831/8832) on one SCTP stream pair.
//
// Threads: send(), buffered_amount(), is_open() and the threshold setter may
// be called from any thread. Everything else, and every callback, runs on the
// owning PeerConnection's GMainContext thread. Set callbacks before the event
// can happen (for remote channels: inside PeerConnection::on_data_channel).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "util/result.h"

namespace lk::rtc {

struct DataChannelInit {
  bool ordered = true;
  std::optional<uint16_t> max_retransmits;          // partial reliability by count
  std::optional<uint16_t> max_packet_life_time_ms;  // partial reliability by time
  std::string protocol;
  bool negotiated = false;    // true: no DCEP, both sides create it with the same id
  std::optional<uint16_t> id; // required when negotiated; otherwise chosen by DTLS role
};

namespace dcep {
struct Open;
}

// The DCEP OPEN (RFC 8832) that announces a channel, and the init of a channel
// the peer announced on `stream`.
dcep::Open dcep_open_for(const std::string& label, const DataChannelInit& init);
DataChannelInit init_from_dcep_open(const dcep::Open& open, uint16_t stream);

class DataChannelRegistry;

class DataChannel {
 public:
  static constexpr uint16_t kNoId = 0xffff;  // id() before the DTLS role is known

  ~DataChannel();
  DataChannel(const DataChannel&) = delete;
  DataChannel& operator=(const DataChannel&) = delete;

  const std::string& label() const { return label_; }
  const std::string& protocol() const { return init_.protocol; }
  const DataChannelInit& init() const { return init_; }
  uint16_t id() const;
  bool is_open() const;

  // Queues one whole message. Fails (never truncates, never closes the channel)
  // when the channel is not open or the message exceeds the remote
  // a=max-message-size. binary=false sends it as a UTF-8 string (PPID 51/56).
  lk::Result<void> send(std::span<const uint8_t> data, bool binary = true);
  lk::Result<void> send_text(std::string_view text);

  // Bytes accepted by send() but not yet handed to SCTP.
  size_t buffered_amount() const;
  // on_buffered_amount_low fires when buffered_amount drops to <= threshold.
  void set_buffered_amount_low_threshold(size_t bytes);
  size_t buffered_amount_low_threshold() const;

  // Sends what is queued, then resets the stream (RFC 8831 close).
  void close();

  std::function<void()> on_open;
  std::function<void()> on_close;
  std::function<void()> on_buffered_amount_low;
  std::function<void(std::span<const uint8_t> data, bool binary)> on_message;

 private:
  friend class DataChannelRegistry;
  DataChannel(std::string label, DataChannelInit init);

  struct State;
  std::string label_;
  DataChannelInit init_;
  std::unique_ptr<State> state_;
};

}  // namespace lk::rtc
