// LiveKit access tokens (JWT, HS256) for joining a room: minting one from an
// API key and secret, and reading (not verifying) the claims of one a user
// supplies. Pure code: no threads, no I/O.
//
// A token is a credential: never log one, nor put one in an error message.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "util/result.h"

namespace lk::signal {

struct TokenGrant {
  std::string api_key;     // becomes `iss`; the server looks the secret up by it
  std::string api_secret;  // HMAC key; never leaves this process
  std::string identity;    // becomes `sub`
  std::string room;        // video.room
  std::string name;        // participant name; "" leaves the claim out
  std::chrono::seconds validity = std::chrono::hours(6);  // exp = nbf + validity
  bool can_publish = true;
  bool can_subscribe = true;
  bool can_publish_data = true;  // data-track publishing needs it
};

// Seconds since the UNIX epoch; tests inject a fixed one.
using UnixClock = std::function<int64_t()>;
int64_t system_unix_seconds();

// A signed token with iss, sub, nbf = clock(), exp, optional name and the video
// grant {roomJoin: true, room, canPublish, canSubscribe, canPublishData}.
// Fails (InvalidArgument) on an empty key, secret, identity or room, or a
// validity that is not positive.
lk::Result<std::string> mint_token(const TokenGrant& grant, const UnixClock& clock = system_unix_seconds);

// What a token says about itself, read without checking its signature: for
// logs and for the key of a shared room connection.
struct TokenClaims {
  std::string identity;    // `sub` ("" when absent)
  std::string room;        // `video.room` ("" when absent)
  int64_t expires_at = 0;  // `exp`, UNIX seconds (0 when absent)
};

// Fails (InvalidArgument) when the text is not a JWT with a JSON object as
// payload, or a claim has the wrong type. The message never quotes the token.
lk::Result<TokenClaims> read_token_claims(std::string_view token);

}  // namespace lk::signal
