// libFuzzer: a subscriber opening encrypted frames from a hostile publisher.
// Input: key index (1 byte), IV (12), then the sealed frame. Beyond not
// crashing, an accepted frame is exactly its ciphertext minus the tag.
#include <cstdlib>
#include <string_view>

#include "e2ee/key_ring.h"

using namespace lk::e2ee;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static KeyRing* ring = [] {
    auto* r = new KeyRing();
    constexpr std::string_view passphrase = "correct horse battery staple";  // the seed's key
    if (!r->set_key(std::span(reinterpret_cast<const uint8_t*>(passphrase.data()), passphrase.size()))) std::abort();
    return r;
  }();
  lk::datatrack::E2eeExtension extension;
  if (size < 1 + extension.iv.size()) return 0;
  extension.key_index = data[0];
  std::copy(data + 1, data + 13, extension.iv.begin());
  const std::span<const uint8_t> sealed(data + 13, size - 13);
  auto plain = ring->decrypt(sealed, extension);
  if (plain && plain->size() + kTagSize != sealed.size()) std::abort();
  return 0;
}
