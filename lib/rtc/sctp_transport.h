// SCTP (usrsctp, AF_CONN) over DTLS. One association, many streams.
// usrsctp calls back on its own threads; this class turns those callbacks into
// events dispatched on the owner's GMainContext (on_state, on_message,
// on_stream_reset, on_writable). send() and reset_stream() are thread-safe;
// receive(), start() and the destructor run on the owner thread.
#pragma once

#include <glib.h>

#include <atomic>
#include <cstdlib>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "util/result.h"
#include "util/scoped_source.h"

struct socket;
union sctp_sockstore;
struct sctp_rcvinfo;

namespace lk::rtc {

class SctpTransport {
 public:
  enum class State { Connecting, Connected, Closed };
  enum class SendStatus { Sent, WouldBlock, TooBig, Failed };

  struct SendParams {
    uint16_t stream = 0;
    uint32_t ppid = 0;
    bool unordered = false;
    std::optional<uint16_t> max_retransmits;
    std::optional<uint16_t> max_packet_life_time_ms;
  };

  using SendPacket = std::function<bool(std::span<const uint8_t>)>;

  // kMaxMtu: one DTLS record carries at most 16384 bytes.
  static constexpr uint32_t kMinMtu = 1200, kMaxMtu = 16384;
  static constexpr uint32_t kCommonHeaderBytes = 12;  // SCTP common header
  static constexpr size_t kDefaultMaxMessageSize = 262144;
  // usrsctp refuses (TooBig) a message larger than its send buffer.
  static constexpr int kSendBufferBytes = 4 * 1024 * 1024;
  // mtu: largest SCTP packet sent, in [kMinMtu, kMaxMtu].
  // max_message_size: largest message we accept (our a=max-message-size). A
  // peer that sends more, in one message or in unfinished messages across
  // streams, gets on_error and nothing more is delivered: we hold at most
  // this many bytes of partial messages, whatever the peer sends.
  static lk::Result<std::unique_ptr<SctpTransport>> create(GMainContext* context, uint16_t local_port,
                                                           uint16_t remote_port, uint32_t mtu, SendPacket send_packet,
                                                           size_t max_message_size = kDefaultMaxMessageSize);
  ~SctpTransport();  // aborts the association if still up
  SctpTransport(const SctpTransport&) = delete;
  SctpTransport& operator=(const SctpTransport&) = delete;

  lk::Result<void> start();                          // simultaneous-open connect
  void receive(std::span<const uint8_t> packet);     // decrypted DTLS payload
  // DATA chunks queued or in flight and not yet acknowledged (SCTP_STATUS):
  // 0 once everything sent has reached the peer or been abandoned.
  size_t outstanding_chunks();
  // The association as usrsctp sees it (SCTP_STATUS; zeros when it cannot
  // say) and how often usrsctp said the send buffer has room again.
  struct Status {
    uint32_t peer_rwnd = 0, unacked_chunks = 0, pending_chunks = 0, cwnd = 0, srtt_ms = 0, rto_ms = 0;
    unsigned writable_events = 0, dry_events = 0;
  };
  Status status();
  SendStatus send(const SendParams& params, std::span<const uint8_t> data);
  bool reset_stream(uint16_t stream);                // outgoing direction
  State state() const { return state_; }
  uint16_t max_streams() const { return max_streams_.load(); }
  // Most bytes of unfinished messages held at once (for tests and benchmarks).
  size_t reassembly_peak() const { return reassembly_peak_.load(); }

  std::function<void(State)> on_state;
  std::function<void(uint16_t stream, uint32_t ppid, std::span<const uint8_t> data)> on_message;
  std::function<void(uint16_t stream)> on_stream_reset;  // the peer reset its outgoing stream
  std::function<void()> on_writable;                     // send buffer has room again
  // The peer broke the rules (e.g. a message over our max_message_size):
  // nothing more is delivered; the owner should drop the association.
  std::function<void(const lk::Error&)> on_error;

 private:
  struct Event {
    enum class Kind { State, Message, StreamReset, Writable, Error };
    explicit Event(Kind k) : kind(k) {}
    Kind kind;
    State state = State::Connecting;
    uint16_t stream = 0;
    uint32_t ppid = 0;
    std::vector<uint8_t> data;  // a reassembled message, or
    std::unique_ptr<uint8_t, decltype(&free)> whole{nullptr, &free};  // usrsctp's own buffer (no copy)
    size_t whole_size = 0;
    std::string error;  // Kind::Error
  };

  SctpTransport(GMainContext* context, uint16_t local_port, uint16_t remote_port, uint32_t mtu, SendPacket send_packet,
                size_t max_message_size);
  lk::Result<void> open_socket();
  void post(Event&& event);  // any thread
  void log_status();
  void dispatch_events();    // owner thread (idle source, or the end of receive())
  // Takes ownership of data (malloc'd by usrsctp).
  void handle_data(uint16_t stream, uint32_t ppid, uint32_t tsn, int flags, uint8_t* data, size_t len);
  void handle_notification(const uint8_t* data, size_t len);  // under partial_mutex_
  void drop_partial_locked(uint16_t stream);                   // under partial_mutex_
  // Under partial_mutex_: drops every partial message; nothing more is delivered.
  void refuse_locked(std::string reason);

  static int on_output(void* addr, void* buffer, size_t length, uint8_t tos, uint8_t set_df);
  static int on_usrsctp_receive(struct socket* sock, union sctp_sockstore addr, void* data, size_t len,
                                struct sctp_rcvinfo info, int flags, void* ulp);
  static int on_usrsctp_send_space(struct socket* sock, uint32_t sb_free, void* ulp);
  friend struct UsrsctpLibrary;

  GMainContext* context_;
  uint16_t local_port_, remote_port_;
  uint32_t mtu_;
  size_t max_message_size_;
  SendPacket send_packet_;
  struct socket* sock_ = nullptr;
  std::atomic<State> state_{State::Connecting};
  std::atomic<uint16_t> max_streams_{0};
  std::shared_ptr<std::atomic<bool>> alive_ = std::make_shared<std::atomic<bool>>(true);

  // usrsctp's sendv and conninput race inside usrsctp on one association;
  // this lock serialises them. Never held while calling back to the owner.
  std::mutex usrsctp_mutex_;

  // Partial deliveries, filled from usrsctp's threads.
  std::mutex partial_mutex_;
  struct Partial {
    uint32_t tsn = 0;  // of the message's first chunk: the same on every piece
    std::vector<uint8_t> data;
  };
  std::map<uint16_t, Partial> partial_;
  size_t partial_bytes_ = 0;  // sum over partial_, at most max_message_size_
  bool refused_ = false;      // the peer broke the size limit: drop all data
  std::atomic<size_t> reassembly_peak_{0};
  std::vector<uint8_t> partial_notification_;

  std::mutex events_mutex_;
  std::deque<Event> events_;
  lk::ScopedSource dispatch_source_;  // pending dispatch, under events_mutex_
  lk::ScopedSource status_timer_;     // debug log of the association, once a second
  std::atomic<bool> writable_pending_{false};
  std::atomic<unsigned> send_space_calls_{0}, dry_events_{0};  // for status()
};

const char* to_string(SctpTransport::State state);

// The streams a usrsctp SCTP_STREAM_RESET_EVENT notification says the peer
// reset (its outgoing, our incoming direction); none when the notification
// is about our own reset, was denied, or is truncated or inconsistent.
std::vector<uint16_t> incoming_reset_streams(std::span<const uint8_t> notification);

}  // namespace lk::rtc
