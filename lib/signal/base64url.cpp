#include "signal/base64url.h"

#include <glib.h>

namespace lk::signal::base64url {

std::string encode(std::span<const uint8_t> bytes, Padding padding) {
  gchar* standard = g_base64_encode(bytes.data(), bytes.size());
  std::string text(standard);
  g_free(standard);
  for (char& c : text) {
    if (c == '+') c = '-';
    else if (c == '/') c = '_';
  }
  if (padding == Padding::Strip) text.erase(text.find_last_not_of('=') + 1);
  return text;
}

std::optional<std::vector<uint8_t>> decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;  // no byte count encodes to 4n+1 chars
  std::string standard;
  standard.reserve(text.size() + 3);
  for (char c : text) {
    if (c == '-') standard += '+';
    else if (c == '_') standard += '/';
    else if (g_ascii_isalnum(c)) standard += c;
    else return std::nullopt;  // g_base64_decode would skip it silently
  }
  standard.append((4 - standard.size() % 4) % 4, '=');
  gsize length = 0;
  guchar* raw = g_base64_decode(standard.c_str(), &length);
  std::vector<uint8_t> bytes(raw, raw + length);
  g_free(raw);
  return bytes;
}

}  // namespace lk::signal::base64url
