#include "e2ee/key_ring.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <optional>
#include <string>

namespace lk::e2ee {

using lk::ErrorKind;
using lk::make_error;

std::vector<uint8_t> derive(std::span<const uint8_t> secret, size_t length) {
  std::vector<uint8_t> out(length);
  // Cannot fail for these arguments (SHA-256, positive lengths).
  PKCS5_PBKDF2_HMAC(reinterpret_cast<const char*>(secret.data()), int(secret.size()),
                    reinterpret_cast<const unsigned char*>(kSalt.data()), int(kSalt.size()), int(kPbkdf2Iterations),
                    EVP_sha256(), int(length), out.data());
  return out;
}

namespace {

struct CipherDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using Cipher = std::unique_ptr<EVP_CIPHER_CTX, CipherDeleter>;

// A context keyed once: each frame then only sets its IV.
Cipher keyed_cipher(const std::vector<uint8_t>& key, bool encrypt) {
  Cipher ctx(EVP_CIPHER_CTX_new());
  if (ctx && EVP_CipherInit_ex(ctx.get(), EVP_aes_128_gcm(), nullptr, key.data(), nullptr, encrypt ? 1 : 0) != 1) {
    ctx.reset();
  }
  return ctx;
}

}  // namespace

// One key: its secret (what ratchets) and the AES contexts derived from it.
struct KeyRing::Key {
  std::vector<uint8_t> secret;
  Cipher sealer, opener;

  explicit Key(std::vector<uint8_t> s) : secret(std::move(s)) {
    auto aes = derive(secret, kKeySize);
    sealer = keyed_cipher(aes, true);
    opener = keyed_cipher(aes, false);
  }
  bool ok() const { return sealer && opener; }
  Key next() const { return Key(derive(secret, kChainSize)); }
};

// A ring slot: the key in use and, once a receiver has needed them, the next
// ratchet steps (derived once, not per failing frame).
struct KeyRing::Slot {
  Key key;
  std::vector<Key> ahead;
};

KeyRing::KeyRing(unsigned ratchet_window) : ratchet_window_(ratchet_window) {}
KeyRing::~KeyRing() = default;

lk::Result<void> KeyRing::set_key(std::span<const uint8_t> secret, uint8_t index) {
  if (index >= kKeyRingSize) {
    return make_error(ErrorKind::InvalidArgument,
                      "E2EE key index " + std::to_string(index) + " is past the key ring (0.." +
                          std::to_string(kKeyRingSize - 1) + ")");
  }
  if (secret.empty()) return make_error(ErrorKind::InvalidArgument, "an empty E2EE key");
  auto slot = std::make_unique<Slot>(Slot{Key({secret.begin(), secret.end()}), {}});
  if (!slot->key.ok()) return make_error(ErrorKind::Internal, "OpenSSL could not set up AES-128-GCM");
  std::lock_guard lock(mutex_);
  slots_[index] = std::move(slot);
  current_ = index;
  return lk::ok();
}

lk::Result<void> KeyRing::use_key(uint8_t index) {
  std::lock_guard lock(mutex_);
  if (index >= kKeyRingSize || !slots_[index]) {
    return make_error(ErrorKind::NotFound, "no E2EE key at index " + std::to_string(index));
  }
  current_ = index;
  return lk::ok();
}

lk::Result<void> KeyRing::ratchet(uint8_t index) {
  auto ratcheted = ratchet_slot(index);
  if (!ratcheted) return ratcheted.error();
  return lk::ok();
}

lk::Result<uint8_t> KeyRing::ratchet_current() { return ratchet_slot(std::nullopt); }

// `index`, or the current slot when none. The step is derived without the
// mutex; should the slot change meanwhile (another ratchet, a new key), the
// step is taken again from what the slot then holds.
lk::Result<uint8_t> KeyRing::ratchet_slot(std::optional<uint8_t> wanted) {
  std::unique_lock lock(mutex_);
  for (;;) {
    const uint8_t index = wanted.value_or(current_);
    if (index >= kKeyRingSize || !slots_[index]) {
      return make_error(ErrorKind::NotFound, "no E2EE key at index " + std::to_string(index) + " to ratchet");
    }
    Slot& slot = *slots_[index];
    if (!slot.ahead.empty()) {  // a receiver derived it already
      slot.key = std::move(slot.ahead.front());
      slot.ahead.erase(slot.ahead.begin());
      return index;
    }
    const std::vector<uint8_t> secret = slot.key.secret;
    lock.unlock();
    Key next(derive(secret, kChainSize));
    lock.lock();
    Slot* now = slots_[index].get();
    if (now && now->ahead.empty() && now->key.secret == secret && wanted.value_or(current_) == index) {
      now->key = std::move(next);
      return index;
    }
  }
}

uint8_t KeyRing::current_index() const {
  std::lock_guard lock(mutex_);
  return current_;
}

lk::Result<datatrack::E2eeExtension> KeyRing::encrypt(std::span<const uint8_t> plaintext,
                                                      std::vector<uint8_t>& sealed) {
  std::lock_guard lock(mutex_);
  if (!slots_[current_]) return make_error(ErrorKind::NotFound, "no E2EE key set");
  datatrack::E2eeExtension extension;
  extension.key_index = current_;
  // Any IV unique per key will do for receivers. Random 96 bits keep it
  // unique across every sender sharing the passphrase, without coordination.
  if (RAND_bytes(extension.iv.data(), int(extension.iv.size())) != 1) {
    return make_error(ErrorKind::Internal, "no random bytes for the E2EE IV");
  }
  EVP_CIPHER_CTX* ctx = slots_[current_]->key.sealer.get();
  sealed.resize(plaintext.size() + kTagSize);
  int written = 0, final_bytes = 0;
  bool ok = EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, extension.iv.data()) == 1 &&
            EVP_EncryptUpdate(ctx, sealed.data(), &written, plaintext.data(), int(plaintext.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx, sealed.data() + written, &final_bytes) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, int(kTagSize), sealed.data() + plaintext.size()) == 1;
  if (!ok) return make_error(ErrorKind::Internal, "AES-GCM encryption failed");
  return extension;
}

lk::Result<std::vector<uint8_t>> KeyRing::open_locked(Slot& slot, std::span<const uint8_t> sealed,
                                                      const datatrack::E2eeExtension& extension) {
  auto try_key = [&](Key& key) -> std::optional<std::vector<uint8_t>> {
    EVP_CIPHER_CTX* ctx = key.opener.get();
    const size_t length = sealed.size() - kTagSize;
    std::vector<uint8_t> plain(length);
    int written = 0, final_bytes = 0;
    std::array<uint8_t, kTagSize> tag;
    std::copy(sealed.end() - kTagSize, sealed.end(), tag.begin());
    bool ok = EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, extension.iv.data()) == 1 &&
              EVP_DecryptUpdate(ctx, plain.data(), &written, sealed.data(), int(length)) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, int(kTagSize), tag.data()) == 1 &&
              EVP_DecryptFinal_ex(ctx, plain.data() + written, &final_bytes) == 1;
    if (!ok) return std::nullopt;
    return plain;
  };
  if (auto plain = try_key(slot.key)) return std::move(*plain);
  for (size_t step = 0; step < ratchet_window_; ++step) {
    if (step == slot.ahead.size()) {
      slot.ahead.push_back((step == 0 ? slot.key : slot.ahead.back()).next());
    }
    if (auto plain = try_key(slot.ahead[step])) {
      // The publisher ratcheted: follow it, as the official receivers do.
      slot.key = std::move(slot.ahead[step]);
      slot.ahead.erase(slot.ahead.begin(), slot.ahead.begin() + long(step) + 1);
      return std::move(*plain);
    }
  }
  return make_error(ErrorKind::Malformed, "E2EE authentication failed (wrong key, or altered bytes)");
}

lk::Result<std::vector<uint8_t>> KeyRing::decrypt(std::span<const uint8_t> sealed,
                                                  const datatrack::E2eeExtension& extension) {
  if (sealed.size() < kTagSize) {
    return make_error(ErrorKind::Malformed, "an encrypted frame of " + std::to_string(sealed.size()) +
                                                " bytes is shorter than its 16-byte tag");
  }
  std::lock_guard lock(mutex_);
  if (extension.key_index >= kKeyRingSize || !slots_[extension.key_index]) {
    return make_error(ErrorKind::NotFound, "no E2EE key at index " + std::to_string(extension.key_index));
  }
  return open_locked(*slots_[extension.key_index], sealed, extension);
}

}  // namespace lk::e2ee
