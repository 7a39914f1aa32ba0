// Prints the known answers tests/unit/e2ee/key_ring_test.cpp checks, computed
// with WebCrypto through the same calls livekit-client 2.23 makes
// (src/e2ee/utils.ts: importKey PBKDF2, deriveKey AES-GCM 128 / deriveBits 256
// to ratchet; worker/DataCryptor.ts: AES-GCM encrypt, no additional data).
// Run once with `node tests/unit/e2ee/vectors.mjs`; the output is pasted there.
const { subtle } = globalThis.crypto;
const salt = new TextEncoder().encode('LKFrameEncryptionKey');
const pbkdf2 = { name: 'PBKDF2', salt, hash: 'SHA-256', iterations: 100000 };
const hex = (buf) => Buffer.from(buf).toString('hex');

async function material(bytes) {
  return subtle.importKey('raw', bytes, { name: 'PBKDF2' }, false, ['deriveBits', 'deriveKey']);
}
async function aesKey(m) {
  return subtle.deriveKey(pbkdf2, m, { name: 'AES-GCM', length: 128 }, true, ['encrypt', 'decrypt']);
}

const passphrase = new TextEncoder().encode('correct horse battery staple');
const m0 = await material(passphrase);
const k0 = await aesKey(m0);
console.log('key      ', hex(await subtle.exportKey('raw', k0)));

const iv = Uint8Array.from({ length: 12 }, (_, i) => i + 1);
const frame = new TextEncoder().encode('{"speed":12.5,"heading":270}');
console.log('sealed   ', hex(await subtle.encrypt({ name: 'AES-GCM', iv }, k0, frame)));

const chain = await subtle.deriveBits(pbkdf2, m0, 256);  // ratchet once
console.log('chain    ', hex(chain));
const k1 = await aesKey(await material(chain));
console.log('ratcheted', hex(await subtle.exportKey('raw', k1)));
console.log('sealed1  ', hex(await subtle.encrypt({ name: 'AES-GCM', iv }, k1, frame)));
