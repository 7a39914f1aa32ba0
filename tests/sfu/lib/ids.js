// LiveKit-style ids: a type prefix and 12 random base62 characters.
import { randomBytes } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function randomId(prefix) {
  let out = prefix;
  for (const b of randomBytes(12)) out += ALPHABET[b % ALPHABET.length];
  return out;
}
