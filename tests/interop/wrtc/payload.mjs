// Deterministic payloads shared by the wrtc peer and its tests; the C++ tests
// and the pion peer implement the same generator (tests/transport/wrtc/payload.h,
// tests/interop/pion/payload.go, whose Go test holds vectors from this one).
import crypto from 'node:crypto';

// xorshift32 byte stream; seed 0 is replaced because xorshift never leaves 0.
export function pattern(seed, size) {
  let s = (seed >>> 0) || 0x9e3779b9;
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    out[i] = s & 0xff;
  }
  return out;
}

export function sha256(bytes) {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}
