// KeyRing: known answers from livekit-client's WebCrypto calls
// (tests/unit/e2ee/vectors.mjs, cross-checked with Python's hashlib and
// cryptography), round trips, key indexes, ratcheting, refusals.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "e2ee/key_ring.h"

namespace lk::e2ee {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes bytes(std::string_view text) { return Bytes(text.begin(), text.end()); }
Bytes from_hex(std::string_view hex) {
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(uint8_t(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

const Bytes kPassphrase = bytes("correct horse battery staple");
const Bytes kFrame = bytes(R"({"speed":12.5,"heading":270})");
// The IV the vectors were sealed with: 01 02 .. 0c.
datatrack::E2eeExtension vector_extension(uint8_t key_index = 0) {
  datatrack::E2eeExtension ext;
  ext.key_index = key_index;
  for (size_t i = 0; i < ext.iv.size(); ++i) ext.iv[i] = uint8_t(i + 1);
  return ext;
}
const Bytes kSealed = from_hex(
    "0965bf35e519a5eefa87b78e05f506c7597c28e47d62c8b8ff7ad1dfb7d14c17d810a9eae2c0b9463eabbd9b");
const Bytes kSealedRatchetedOnce = from_hex(
    "bf7a7bb05a81ec987c4bc2b213a0625703508a7a2807dfc127234d87bdc806e604cf0b1ee170102ce0f5f5fc");

TEST(E2eeDerive, PassphraseKeyAndRatchetSecretMatchLivekitClient) {
  EXPECT_EQ(derive(kPassphrase, kKeySize), from_hex("dee9745ab873685c2579655a7296d1a4"));
  const Bytes chain = derive(kPassphrase, kChainSize);
  EXPECT_EQ(chain, from_hex("dee9745ab873685c2579655a7296d1a47c2d34c778b87d179c4d30df09c7049d"));
  EXPECT_EQ(derive(chain, kKeySize), from_hex("3084c5d31aeec5af1578fe034b3801f3"));
}

TEST(E2eeKeyRing, OpensAFrameSealedByLivekitClient) {
  KeyRing ring;
  ASSERT_TRUE(ring.set_key(kPassphrase).ok());
  auto plain = ring.decrypt(kSealed, vector_extension());
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_EQ(*plain, kFrame);
}

TEST(E2eeKeyRing, RoundTripAddsTheTagAndAFreshIvPerFrame) {
  KeyRing sender, receiver;
  ASSERT_TRUE(sender.set_key(kPassphrase).ok());
  ASSERT_TRUE(receiver.set_key(kPassphrase).ok());
  Bytes first, second;
  auto ext1 = sender.encrypt(kFrame, first);
  auto ext2 = sender.encrypt(kFrame, second);
  ASSERT_TRUE(ext1.ok() && ext2.ok());
  EXPECT_EQ(first.size(), kFrame.size() + kTagSize);
  EXPECT_NE(ext1->iv, ext2->iv);
  EXPECT_NE(first, second);
  EXPECT_EQ(std::search(first.begin(), first.end(), kFrame.begin(), kFrame.end()), first.end());
  auto plain = receiver.decrypt(first, *ext1);
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_EQ(*plain, kFrame);
  // Empty frames are frames too: the tag alone.
  Bytes empty_sealed;
  auto ext3 = sender.encrypt({}, empty_sealed);
  ASSERT_TRUE(ext3.ok());
  EXPECT_EQ(empty_sealed.size(), kTagSize);
  auto empty = receiver.decrypt(empty_sealed, *ext3);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(E2eeKeyRing, RefusesWrongKeysAlteredBytesAndMissingSlots) {
  KeyRing sender, wrong;
  ASSERT_TRUE(sender.set_key(kPassphrase).ok());
  ASSERT_TRUE(wrong.set_key(bytes("not the passphrase")).ok());
  Bytes sealed;
  auto ext = sender.encrypt(kFrame, sealed);
  ASSERT_TRUE(ext.ok());
  auto refused = wrong.decrypt(sealed, *ext);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::Malformed);

  for (size_t at : {size_t(0), sealed.size() - 1}) {  // ciphertext, then tag
    Bytes altered = sealed;
    altered[at] ^= 0x01;
    EXPECT_FALSE(sender.decrypt(altered, *ext).ok()) << "byte " << at;
  }
  auto altered_iv = *ext;
  altered_iv.iv[11] ^= 0x80;
  EXPECT_FALSE(sender.decrypt(sealed, altered_iv).ok());
  EXPECT_FALSE(sender.decrypt(Bytes(kTagSize - 1), *ext).ok());

  auto other_slot = *ext;
  other_slot.key_index = 3;
  auto missing = sender.decrypt(sealed, other_slot);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::NotFound);
  other_slot.key_index = 200;  // past the ring
  EXPECT_FALSE(sender.decrypt(sealed, other_slot).ok());

  KeyRing empty;
  Bytes out;
  EXPECT_FALSE(empty.encrypt(kFrame, out).ok());
  EXPECT_FALSE(empty.set_key({}).ok());
  EXPECT_FALSE(empty.set_key(kPassphrase, uint8_t(kKeyRingSize)).ok());
  EXPECT_FALSE(empty.ratchet(0).ok());
}

TEST(E2eeKeyRing, RotationByKeyIndexKeepsOlderSlotsReadable) {
  KeyRing sender, receiver;
  const Bytes next = bytes("the next passphrase");
  ASSERT_TRUE(sender.set_key(kPassphrase, 0).ok());
  ASSERT_TRUE(receiver.set_key(kPassphrase, 0).ok());
  ASSERT_TRUE(receiver.set_key(next, 1).ok());
  Bytes old_sealed, new_sealed;
  auto old_ext = sender.encrypt(kFrame, old_sealed);
  ASSERT_TRUE(sender.set_key(next, 1).ok());
  EXPECT_EQ(sender.current_index(), 1);
  auto new_ext = sender.encrypt(kFrame, new_sealed);
  ASSERT_TRUE(old_ext.ok() && new_ext.ok());
  EXPECT_EQ(old_ext->key_index, 0);
  EXPECT_EQ(new_ext->key_index, 1);
  EXPECT_TRUE(receiver.decrypt(old_sealed, *old_ext).ok());
  EXPECT_TRUE(receiver.decrypt(new_sealed, *new_ext).ok());

  // use_key goes back to a slot that kept its key; an empty one is refused, changing nothing.
  ASSERT_TRUE(sender.use_key(0).ok());
  old_ext = sender.encrypt(kFrame, old_sealed);
  ASSERT_TRUE(old_ext.ok());
  EXPECT_EQ(old_ext->key_index, 0);
  EXPECT_TRUE(receiver.decrypt(old_sealed, *old_ext).ok());
  for (uint8_t empty : {uint8_t(5), uint8_t(kKeyRingSize)}) {
    auto refused = sender.use_key(empty);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().kind, ErrorKind::NotFound);
    EXPECT_EQ(sender.current_index(), 0);
  }
}

TEST(E2eeKeyRing, RatchetCurrentStepsOnlyTheSlotFramesAreSentWith) {
  KeyRing sender, fixed, following(1);
  const Bytes next = bytes("the next passphrase");
  for (KeyRing* ring : {&sender, &fixed, &following}) {
    ASSERT_TRUE(ring->set_key(kPassphrase, 0).ok());
    ASSERT_TRUE(ring->set_key(next, 3).ok());
  }
  auto ratcheted = sender.ratchet_current();
  ASSERT_TRUE(ratcheted.ok());
  EXPECT_EQ(*ratcheted, 3);
  Bytes sealed;
  auto ext = sender.encrypt(kFrame, sealed);
  ASSERT_TRUE(ext.ok());
  EXPECT_EQ(ext->key_index, 3);
  EXPECT_FALSE(fixed.decrypt(sealed, *ext).ok()) << "slot 3 did not ratchet";
  EXPECT_TRUE(following.decrypt(sealed, *ext).ok());
  ASSERT_TRUE(sender.use_key(0).ok());
  ext = sender.encrypt(kFrame, sealed);
  ASSERT_TRUE(ext.ok());
  EXPECT_TRUE(fixed.decrypt(sealed, *ext).ok()) << "slot 0 ratcheted too";
  KeyRing empty;
  EXPECT_EQ(empty.ratchet_current().error().kind, ErrorKind::NotFound);
}

TEST(E2eeKeyRing, ConcurrentRatchetsEachTakeAStep) {
  KeyRing sender, receiver;
  ASSERT_TRUE(sender.set_key(kPassphrase).ok());
  ASSERT_TRUE(receiver.set_key(kPassphrase).ok());
  std::thread other([&] { EXPECT_TRUE(sender.ratchet_current().ok()); });
  EXPECT_TRUE(sender.ratchet_current().ok());
  other.join();
  ASSERT_TRUE(receiver.ratchet(0).ok());
  ASSERT_TRUE(receiver.ratchet(0).ok());
  Bytes sealed;
  auto ext = sender.encrypt(kFrame, sealed);
  ASSERT_TRUE(ext.ok());
  auto plain = receiver.decrypt(sealed, *ext);
  EXPECT_TRUE(plain.ok()) << "two ratchets, two steps";
}

TEST(E2eeKeyRing, RatchetMatchesLivekitClient) {
  KeyRing ring;
  ASSERT_TRUE(ring.set_key(kPassphrase).ok());
  ASSERT_TRUE(ring.ratchet(0).ok());
  auto plain = ring.decrypt(kSealedRatchetedOnce, vector_extension());
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_EQ(*plain, kFrame);
  EXPECT_FALSE(ring.decrypt(kSealed, vector_extension()).ok()) << "the old key stays behind";
}

TEST(E2eeKeyRing, ReceiverFollowsARatchetWithinItsWindowOnly) {
  KeyRing sender, fixed, following(2);
  ASSERT_TRUE(sender.set_key(kPassphrase).ok());
  ASSERT_TRUE(fixed.set_key(kPassphrase).ok());
  ASSERT_TRUE(following.set_key(kPassphrase).ok());
  ASSERT_TRUE(sender.ratchet(0).ok());
  ASSERT_TRUE(sender.ratchet(0).ok());
  Bytes sealed;
  auto ext = sender.encrypt(kFrame, sealed);
  ASSERT_TRUE(ext.ok());
  EXPECT_FALSE(fixed.decrypt(sealed, *ext).ok()) << "window 0 never ratchets";
  auto plain = following.decrypt(sealed, *ext);
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_EQ(*plain, kFrame);
  // It kept the step: a frame under the original key no longer opens.
  EXPECT_FALSE(following.decrypt(kSealed, vector_extension()).ok());
  // Three more steps are past a window of two.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(sender.ratchet(0).ok());
  ext = sender.encrypt(kFrame, sealed);
  ASSERT_TRUE(ext.ok());
  EXPECT_FALSE(following.decrypt(sealed, *ext).ok());
}

}  // namespace
}  // namespace lk::e2ee
