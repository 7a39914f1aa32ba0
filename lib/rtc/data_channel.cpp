#include "rtc/data_channel.h"

#include "rtc/channel_registry.h"
#include "rtc/data_channel_state.h"
#include "rtc/dcep.h"

namespace lk::rtc {

DataChannel::DataChannel(std::string label, DataChannelInit init)
    : label_(std::move(label)), init_(std::move(init)), state_(std::make_unique<State>()) {}

DataChannel::~DataChannel() = default;

uint16_t DataChannel::id() const { return state_->id; }
bool DataChannel::is_open() const { return state_->phase == Phase::Open; }

lk::Result<void> DataChannel::send(std::span<const uint8_t> data, bool binary) {
  auto registry = state_->registry.lock();
  if (!registry) return make_error(ErrorKind::Closed, "data channel '" + label_ + "' belongs to a closed peer connection");
  return registry->send(*this, data, binary);
}

lk::Result<void> DataChannel::send_text(std::string_view text) {
  return send({reinterpret_cast<const uint8_t*>(text.data()), text.size()}, false);
}

size_t DataChannel::buffered_amount() const {
  auto registry = state_->registry.lock();
  return registry ? registry->buffered_amount(*this) : 0;
}

void DataChannel::set_buffered_amount_low_threshold(size_t bytes) {
  if (auto registry = state_->registry.lock()) registry->set_low_threshold(*this, bytes);
  else state_->low_threshold = bytes;
}

size_t DataChannel::buffered_amount_low_threshold() const { return state_->low_threshold; }

void DataChannel::close() {
  if (auto registry = state_->registry.lock()) registry->close(*this);
}

dcep::Open dcep_open_for(const std::string& label, const DataChannelInit& init) {
  dcep::Open o;
  o.label = label;
  o.protocol = init.protocol;
  if (init.max_retransmits) {
    o.channel_type = dcep::kPartialReliableRexmit;
    o.reliability = *init.max_retransmits;
  } else if (init.max_packet_life_time_ms) {
    o.channel_type = dcep::kPartialReliableTimed;
    o.reliability = *init.max_packet_life_time_ms;
  }
  if (!init.ordered) o.channel_type |= dcep::kUnorderedBit;
  return o;
}

DataChannelInit init_from_dcep_open(const dcep::Open& open, uint16_t stream) {
  DataChannelInit init;
  init.ordered = !(open.channel_type & dcep::kUnorderedBit);
  uint8_t kind = open.channel_type & ~dcep::kUnorderedBit;
  uint16_t value = open.reliability > 0xffff ? 0xffff : static_cast<uint16_t>(open.reliability);
  if (kind == dcep::kPartialReliableRexmit) init.max_retransmits = value;
  if (kind == dcep::kPartialReliableTimed) init.max_packet_life_time_ms = value;
  init.protocol = open.protocol;
  init.id = stream;
  return init;
}

}  // namespace lk::rtc
