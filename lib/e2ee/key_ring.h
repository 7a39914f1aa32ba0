// End-to-end encryption of data-track frames as the official LiveKit clients
// do it (docs/protocol.md §13): AES-128-GCM over the whole frame, a 12-byte IV
// and a key index carried in the packet's E2EE extension, keys derived from a
// shared secret with PBKDF2-HMAC-SHA256 and ratcheted the same way.
//
// Threads: every method may be called from any thread (one mutex). Setting or
// ratcheting a key runs PBKDF2 (100,000 iterations, tens of milliseconds)
// outside the mutex, so frames keep being sealed and opened meanwhile; still,
// not per frame.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "datatrack/packet.h"
#include "util/result.h"

namespace lk::e2ee {

inline constexpr std::string_view kSalt = "LKFrameEncryptionKey";
inline constexpr unsigned kPbkdf2Iterations = 100000;
inline constexpr size_t kKeySize = 16;    // AES-128
inline constexpr size_t kChainSize = 32;  // a ratcheted secret
inline constexpr size_t kTagSize = 16;    // appended to every encrypted frame
inline constexpr size_t kKeyRingSize = 16;

// PBKDF2-HMAC-SHA256(secret, kSalt, kPbkdf2Iterations) of `length` bytes:
// the AES key (16 bytes) or the next ratchet secret (32 bytes).
std::vector<uint8_t> derive(std::span<const uint8_t> secret, size_t length);

class KeyRing {
 public:
  // `ratchet_window`: how many ratchet steps a receiver tries on a frame that
  // fails authentication (0 = none, as livekit-client's shared-key provider).
  explicit KeyRing(unsigned ratchet_window = 0);
  ~KeyRing();
  KeyRing(const KeyRing&) = delete;
  KeyRing& operator=(const KeyRing&) = delete;

  // Puts the key derived from `secret` (a passphrase's UTF-8 bytes, or a key
  // file's bytes) in slot `index` and makes it the one frames are sent with.
  // InvalidArgument for an index past the ring or an empty secret.
  lk::Result<void> set_key(std::span<const uint8_t> secret, uint8_t index = 0);
  // Makes slot `index` the one frames are sent with, keeping every slot's
  // key. NotFound for an empty slot (or one past the ring): nothing changes.
  lk::Result<void> use_key(uint8_t index);
  // Advances slot `index` one ratchet step (secret' = derive(secret, 32)),
  // as a publisher rotating its key does. NotFound for an empty slot.
  lk::Result<void> ratchet(uint8_t index);
  // The same for the slot frames are sent with (livekit-client's
  // ratchetKey() without an index); returns that slot's index.
  lk::Result<uint8_t> ratchet_current();
  uint8_t current_index() const;

  // Encrypts `plaintext` with the current key into `sealed` (ciphertext then
  // tag, plaintext.size() + kTagSize bytes); returns the extension to send.
  lk::Result<datatrack::E2eeExtension> encrypt(std::span<const uint8_t> plaintext, std::vector<uint8_t>& sealed);
  // Decrypts a frame sent with `extension`. On failed authentication tries up
  // to ratchet_window ratchet steps of the slot, keeping a step that works.
  // Errors: NotFound (no key in that slot), Malformed (shorter than the tag,
  // or authentication failed: wrong key or altered bytes).
  lk::Result<std::vector<uint8_t>> decrypt(std::span<const uint8_t> sealed,
                                           const datatrack::E2eeExtension& extension);

 private:
  struct Key;
  struct Slot;
  lk::Result<uint8_t> ratchet_slot(std::optional<uint8_t> index);
  lk::Result<std::vector<uint8_t>> open_locked(Slot& slot, std::span<const uint8_t> sealed,
                                               const datatrack::E2eeExtension& extension);

  mutable std::mutex mutex_;
  std::array<std::unique_ptr<Slot>, kKeyRingSize> slots_;
  uint8_t current_ = 0;
  unsigned ratchet_window_;
};

}  // namespace lk::e2ee
