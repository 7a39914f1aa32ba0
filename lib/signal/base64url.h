// Base64 with the URL-safe alphabet (RFC 4648 §5: '-' and '_' for '+' and '/').
// JWTs drop the '=' padding; LiveKit's join_request keeps it (the server
// decodes it with a padded decoder).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lk::signal::base64url {

enum class Padding { Keep, Strip };

std::string encode(std::span<const uint8_t> bytes, Padding padding);

// Accepts text with or without padding; nullopt on any character outside the
// URL-safe alphabet or an impossible length.
std::optional<std::vector<uint8_t>> decode(std::string_view text);

}  // namespace lk::signal::base64url
