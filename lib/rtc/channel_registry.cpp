#include "rtc/channel_registry.h"

#include "rtc/data_channel_state.h"
#include "rtc/dcep.h"
#include "rtc/udp_batch.h"

#undef G_LOG_DOMAIN
#define G_LOG_DOMAIN "livekit-rtc-dc"

namespace lk::rtc {

namespace {
SctpTransport::SendParams control_params(uint16_t stream) {
  SctpTransport::SendParams p;
  p.stream = stream;
  p.ppid = dcep::kPpidControl;
  return p;
}

// A user message of `channel`. Until the peer's DCEP ACK, messages go ordered
// (RFC 8832 §6) and reliable: pion (livekit-server's stack) takes the
// stream's order from our OPEN and ignores FORWARD-TSN's skipped stream
// sequence numbers on an unordered channel's stream, so an ordered message
// abandoned there (partial reliability) would hold back every later ordered
// one for good; they fill its receive window and the whole association stops.
SctpTransport::SendParams user_params(const DataChannel& channel, bool awaiting_ack, uint32_t ppid) {
  SctpTransport::SendParams p = control_params(channel.id());
  p.ppid = ppid;
  if (awaiting_ack) return p;
  p.unordered = !channel.init().ordered;
  p.max_retransmits = channel.init().max_retransmits;
  p.max_packet_life_time_ms = channel.init().max_packet_life_time_ms;
  return p;
}
}  // namespace

void DataChannelRegistry::run(Callbacks& callbacks) {
  for (auto& f : callbacks)
    if (f) f();
  callbacks.clear();
}

lk::Result<std::shared_ptr<DataChannel>> DataChannelRegistry::create(std::string label, DataChannelInit init) {
  if (label.size() > 0xffff || init.protocol.size() > 0xffff)
    return make_error(ErrorKind::InvalidArgument, "data channel label/protocol longer than 65535 bytes");
  if (init.max_retransmits && init.max_packet_life_time_ms)
    return make_error(ErrorKind::InvalidArgument, "set max_retransmits or max_packet_life_time_ms, not both");
  if (init.negotiated && !init.id)
    return make_error(ErrorKind::InvalidArgument, "a negotiated data channel needs an id");
  if (init.id && *init.id >= DataChannel::kNoId) return make_error(ErrorKind::InvalidArgument, "data channel id must be < 65535");
  std::shared_ptr<DataChannel> channel(new DataChannel(std::move(label), std::move(init)));
  channel->state_->registry = weak_from_this();
  Callbacks later;
  {
    std::lock_guard lock(mutex_);
    if (channel->init_.id) {
      uint16_t id = *channel->init_.id;
      if (by_stream_.count(id)) return make_error(ErrorKind::InvalidArgument, "data channel id " + std::to_string(id) + " is in use");
      for (auto& p : pending_)
        if (p->init_.id == channel->init_.id)
          return make_error(ErrorKind::InvalidArgument, "data channel id " + std::to_string(id) + " is in use");
    }
    if (sctp_) open_locked(channel, later);
    else pending_.push_back(channel);
  }
  if (defer && !later.empty()) defer([later = std::move(later)]() mutable { run(later); });
  else run(later);
  if (channel->state_->phase == Phase::Closed)
    return make_error(ErrorKind::InvalidArgument, "could not open data channel '" + channel->label_ + "' (no free stream id)");
  return channel;
}

lk::Result<uint16_t> DataChannelRegistry::pick_id_locked() {
  uint16_t limit = sctp_ && sctp_->max_streams() ? sctp_->max_streams() : 1024;
  for (uint32_t id = dtls_client_ ? 0 : 1; id < limit; id += 2)
    if (!by_stream_.count(static_cast<uint16_t>(id))) return static_cast<uint16_t>(id);
  return make_error(ErrorKind::InvalidArgument, "no free SCTP stream for a new data channel");
}

void DataChannelRegistry::open_locked(const std::shared_ptr<DataChannel>& channel, Callbacks& later) {
  auto& st = *channel->state_;
  uint16_t id;
  if (channel->init_.id) {
    id = *channel->init_.id;
  } else {
    auto picked = pick_id_locked();
    if (!picked) {
      g_message("%s", picked.error().message.c_str());
      st.phase = Phase::Closed;
      later.push_back([channel] { if (channel->on_close) channel->on_close(); });
      return;
    }
    id = *picked;
  }
  st.id = id;
  by_stream_[id] = channel;
  if (!channel->init_.negotiated) {
    auto open = dcep::encode(dcep_open_for(channel->label_, channel->init_));
    SctpTransport::SendParams params = control_params(id);
    if (sctp_->send(params, open) != SctpTransport::SendStatus::Sent) {
      st.queue.push_back({dcep::kPpidControl, std::move(open), 0});
    }
    st.awaiting_ack = true;
  }
  g_debug("channel '%s' open on stream %u (%s)", dcep::printable(channel->label_).c_str(), id,
          channel->init_.negotiated ? "negotiated" : "DCEP");
  st.phase = Phase::Open;
  later.push_back([channel] { if (channel->on_open) channel->on_open(); });
}

void DataChannelRegistry::attach(SctpTransport* sctp, bool dtls_client, size_t remote_max_message_size) {
  Callbacks later;
  {
    std::lock_guard lock(mutex_);
    sctp_ = sctp;
    dtls_client_ = dtls_client;
    remote_max_message_size_ = remote_max_message_size;
    auto pending = std::move(pending_);
    pending_.clear();
    // Negotiated ids first so in-band channels do not take them.
    for (auto& c : pending)
      if (c->init_.id) open_locked(c, later);
    for (auto& c : pending)
      if (!c->init_.id && c->state_->phase != Phase::Closed) open_locked(c, later);
  }
  run(later);
}

void DataChannelRegistry::detach() {
  Callbacks later;
  {
    std::lock_guard lock(mutex_);
    sctp_ = nullptr;
    auto all = std::move(by_stream_);
    by_stream_.clear();
    for (auto& c : pending_) all.emplace(static_cast<uint16_t>(0xffff - all.size()), c);
    pending_.clear();
    for (auto& entry : all) {
      std::shared_ptr<DataChannel> c = entry.second;
      c->state_->queue.clear();
      c->state_->buffered = 0;
      if (c->state_->phase.exchange(Phase::Closed) != Phase::Closed)
        later.push_back([c] { if (c->on_close) c->on_close(); });
    }
  }
  run(later);
}

void DataChannelRegistry::handle_message(uint16_t stream, uint32_t ppid, std::span<const uint8_t> data) {
  std::shared_ptr<DataChannel> channel;
  Callbacks later;
  {
    std::lock_guard lock(mutex_);
    auto it = by_stream_.find(stream);
    if (it != by_stream_.end()) channel = it->second;
    if (ppid == dcep::kPpidControl) {
      if (dcep::is_ack(data)) {
        if (channel) channel->state_->awaiting_ack = false;
        return;
      }
      auto open = dcep::decode_open(data);
      if (!open) {
        g_debug("stream %u: %s; dropped", stream, open.error().message.c_str());
        return;
      }
      if (channel || !sctp_) {
        g_debug("DCEP OPEN on stream %u already in use; dropped", stream);
        return;
      }
      if (auto refused = refuse_open_locked(stream, *open)) {
        g_debug("DCEP OPEN for '%s' on stream %u refused: %s", dcep::printable(open->label).c_str(), stream,
                  refused);
        sctp_->reset_stream(stream);  // the peer's channel closes
        return;
      }
      channel.reset(new DataChannel(open->label, init_from_dcep_open(*open, stream)));
      channel->state_->registry = weak_from_this();
      channel->state_->id = stream;
      channel->state_->phase = Phase::Open;
      by_stream_[stream] = channel;
      auto ack = dcep::encode_ack();
      if (sctp_->send(control_params(stream), ack) != SctpTransport::SendStatus::Sent)
        channel->state_->queue.push_back({dcep::kPpidControl, std::move(ack), 0});
      g_debug("remote opened '%s' on stream %u", dcep::printable(open->label).c_str(), stream);
      later.push_back([this, channel] {
        if (on_remote_channel) on_remote_channel(channel);
        if (channel->on_open) channel->on_open();
      });
    } else if (channel) {
      channel->state_->awaiting_ack = false;  // any data implies the peer saw our OPEN
    }
  }
  run(later);
  if (ppid == dcep::kPpidControl || !channel) {
    if (!channel) g_debug("message on unknown stream %u dropped", stream);
    return;
  }
  if (!channel->on_message || channel->state_->phase == Phase::Closed) return;
  switch (ppid) {
    case dcep::kPpidString:
    case dcep::kPpidStringPartial: channel->on_message(data, false); break;
    case dcep::kPpidBinary:
    case dcep::kPpidBinaryPartial: channel->on_message(data, true); break;
    case dcep::kPpidStringEmpty: channel->on_message({}, false); break;
    case dcep::kPpidBinaryEmpty: channel->on_message({}, true); break;
    default: g_debug("stream %u: unknown PPID %u dropped", stream, ppid); break;
  }
}

const char* DataChannelRegistry::refuse_open_locked(uint16_t stream, const dcep::Open& open) const {
  // RFC 8832 §6: the DTLS client opens on even streams, the server on odd.
  // A peer on our parity could squat every id we would pick.
  if ((stream % 2 == 0) == dtls_client_) return "the stream has our parity (RFC 8832 §6)";
  if (open.label.size() > dcep::kMaxRemoteLabelBytes || open.protocol.size() > dcep::kMaxRemoteProtocolBytes)
    return "label or protocol too long";
  size_t remote = 0;
  for (auto& [id, c] : by_stream_)
    if ((id % 2 == 0) != dtls_client_ && !c->init_.negotiated) ++remote;
  if (remote >= kMaxRemoteChannels) return "too many channels opened by the peer";
  return nullptr;
}

void DataChannelRegistry::finish_close_locked(const std::shared_ptr<DataChannel>& channel, Callbacks& later) {
  auto& st = *channel->state_;
  by_stream_.erase(st.id);
  st.queue.clear();
  st.buffered = 0;
  if (st.phase.exchange(Phase::Closed) != Phase::Closed)
    later.push_back([channel] { if (channel->on_close) channel->on_close(); });
}

void DataChannelRegistry::handle_stream_reset(uint16_t stream) {
  Callbacks later;
  {
    std::lock_guard lock(mutex_);
    auto it = by_stream_.find(stream);
    if (it == by_stream_.end()) return;
    auto channel = it->second;
    auto& st = *channel->state_;
    // The peer closed (or answered our close): reset our side too, then done.
    if (!st.reset_sent && sctp_) {
      st.reset_sent = true;
      sctp_->reset_stream(stream);
    }
    g_debug("channel '%s' on stream %u closed", dcep::printable(channel->label_).c_str(), stream);
    finish_close_locked(channel, later);
  }
  run(later);
}

bool DataChannelRegistry::flush_locked(const std::shared_ptr<DataChannel>& channel, Callbacks& later) {
  auto& st = *channel->state_;
  size_t before = st.buffered;
  bool blocked = false;
  while (!st.queue.empty() && sctp_) {
    auto& m = st.queue.front();
    auto params = m.ppid == dcep::kPpidControl ? control_params(st.id) : user_params(*channel, st.awaiting_ack, m.ppid);
    auto status = sctp_->send(params, m.payload);
    if (status == SctpTransport::SendStatus::WouldBlock) {
      blocked = true;
      break;
    }
    if (status != SctpTransport::SendStatus::Sent) g_debug("queued message on stream %u dropped at flush", st.id.load());
    st.buffered -= m.size;
    st.queue.pop_front();
  }
  if (before > st.low_threshold && st.buffered <= st.low_threshold)
    later.push_back([channel] { if (channel->on_buffered_amount_low) channel->on_buffered_amount_low(); });
  if (st.queue.empty() && st.phase == Phase::Closing && !st.reset_sent && sctp_) {
    st.reset_sent = true;  // everything before the reset is in SCTP: the peer gets it all first
    sctp_->reset_stream(st.id);
  }
  return !blocked;
}

void DataChannelRegistry::handle_writable() {
  Callbacks later;
  {
    SendBatch batch;  // the queued messages leave in as few system calls as possible
    std::lock_guard lock(mutex_);
    std::vector<std::shared_ptr<DataChannel>> channels;
    for (auto& [id, c] : by_stream_)
      if (!c->state_->queue.empty()) channels.push_back(c);
    for (auto& c : channels)
      if (!flush_locked(c, later)) break;
  }
  run(later);
}

lk::Result<void> DataChannelRegistry::send(DataChannel& channel, std::span<const uint8_t> data, bool binary) {
  std::lock_guard lock(mutex_);
  auto& st = *channel.state_;
  if (st.phase != Phase::Open || !sctp_)
    return make_error(ErrorKind::Closed, "data channel '" + channel.label_ + "' is not open");
  if (data.size() > remote_max_message_size_)
    return make_error(ErrorKind::InvalidArgument, "message of " + std::to_string(data.size()) +
                                                      " bytes exceeds the largest this peer takes (its max-message-size, or"
                                                      " Configuration::max_send_message_size): " +
                                                      std::to_string(remote_max_message_size_));
  // Checked here, not only by SCTP: a message queued behind others would
  // otherwise be refused at flush, after this send() had returned ok.
  if (data.size() > size_t{SctpTransport::kSendBufferBytes})
    return make_error(ErrorKind::InvalidArgument, "message of " + std::to_string(data.size()) +
                                                      " bytes is larger than the SCTP send buffer (" +
                                                      std::to_string(SctpTransport::kSendBufferBytes) + " bytes)");
  auto queue_full = [&] {
    return make_error(ErrorKind::InvalidArgument,
                      "data channel '" + channel.label_ + "' has " + std::to_string(st.buffered) +
                          " bytes queued; this message of " + std::to_string(data.size()) + " would pass the limit of " +
                          std::to_string(max_buffered_) +
                          " (Configuration::max_buffered_amount): wait for on_buffered_amount_low");
  };
  static const uint8_t kEmptyPayload = 0;  // empty messages travel as one byte (RFC 8831 §6.6)
  uint32_t ppid = data.empty() ? (binary ? dcep::kPpidBinaryEmpty : dcep::kPpidStringEmpty)
                               : (binary ? dcep::kPpidBinary : dcep::kPpidString);
  std::span<const uint8_t> payload = data.empty() ? std::span<const uint8_t>(&kEmptyPayload, 1) : data;
  if (st.queue.empty()) {
    switch (sctp_->send(user_params(channel, st.awaiting_ack, ppid), payload)) {
      case SctpTransport::SendStatus::Sent: return lk::ok();
      case SctpTransport::SendStatus::WouldBlock: break;
      case SctpTransport::SendStatus::TooBig:
        return make_error(ErrorKind::InvalidArgument, "message of " + std::to_string(data.size()) +
                                                          " bytes is larger than the SCTP send buffer");
      case SctpTransport::SendStatus::Failed:
        return make_error(ErrorKind::Network, "SCTP refused the message on channel '" + channel.label_ + "'");
    }
  }
  if (st.buffered + data.size() > max_buffered_) return queue_full();
  st.queue.push_back({ppid, std::vector<uint8_t>(payload.begin(), payload.end()), data.size()});
  st.buffered += data.size();
  return lk::ok();
}

void DataChannelRegistry::set_max_buffered_amount(size_t bytes) {
  std::lock_guard lock(mutex_);
  max_buffered_ = bytes;
}

size_t DataChannelRegistry::buffered_amount(const DataChannel& channel) {
  std::lock_guard lock(mutex_);
  return channel.state_->buffered;
}

void DataChannelRegistry::set_low_threshold(DataChannel& channel, size_t bytes) {
  std::lock_guard lock(mutex_);
  channel.state_->low_threshold = bytes;
}

void DataChannelRegistry::close(DataChannel& channel) {
  Callbacks later;
  {
    std::lock_guard lock(mutex_);
    auto& st = *channel.state_;
    if (st.phase == Phase::Closed || st.phase == Phase::Closing) return;
    std::shared_ptr<DataChannel> self;
    if (auto it = by_stream_.find(st.id); it != by_stream_.end() && it->second.get() == &channel) self = it->second;
    for (auto p = pending_.begin(); p != pending_.end(); ++p)
      if (p->get() == &channel) {
        self = *p;
        pending_.erase(p);
        break;
      }
    if (!self) return;
    if (!sctp_ || st.phase == Phase::Connecting) {
      st.phase = Phase::Closed;
      later.push_back([self] { if (self->on_close) self->on_close(); });
      by_stream_.erase(st.id);
    } else {
      st.phase = Phase::Closing;
      flush_locked(self, later);  // resets the stream once the queue is empty
    }
  }
  run(later);
}

}  // namespace lk::rtc
