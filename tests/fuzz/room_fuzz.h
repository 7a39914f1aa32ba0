// What the room fuzzers share: input records and quiet logs.
#pragma once

#include <glib.h>
#include <google/protobuf/stubs/logging.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

// Splits a fuzz input into records: [kind: 1 byte][length: 2 bytes, big
// endian][bytes], the last one cut short where the input ends.
template <typename F>
void for_each_record(std::span<const uint8_t> input, F&& on_record) {
  size_t i = 0;
  while (i + 3 <= input.size()) {
    const uint8_t kind = input[i];
    const size_t length = std::min<size_t>(size_t(input[i + 1]) << 8 | input[i + 2], input.size() - i - 3);
    on_record(kind, input.subspan(i + 3, length));
    i += 3 + length;
  }
}

// The room logs a line when a session ends, protobuf one per string that is
// not UTF-8: fuzzers make thousands.
inline void silence_room_logs() {
  static const bool once = [] {
    g_log_set_handler("livekit-room", G_LOG_LEVEL_MASK, [](const gchar*, GLogLevelFlags, const gchar*, gpointer) {},
                      nullptr);
    google::protobuf::SetLogHandler([](google::protobuf::LogLevel, const char*, int, const std::string&) {});
    return true;
  }();
  (void)once;
}
