package main

import (
	"crypto/sha256"
	"encoding/hex"
)

// pattern is the deterministic payload shared with tests/interop/wrtc/payload.mjs
// and tests/transport/wrtc/payload.h: an xorshift32 byte stream, low byte of
// each step. Seed 0 is replaced because xorshift never leaves 0.
func pattern(seed uint32, size int) []byte {
	s := seed
	if s == 0 {
		s = 0x9e3779b9
	}
	out := make([]byte, size)
	for i := range out {
		s ^= s << 13
		s ^= s >> 17
		s ^= s << 5
		out[i] = byte(s)
	}
	return out
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// stampIndex writes burst message index i big-endian into the first four
// bytes, as the other peers do; shorter messages carry no index.
func stampIndex(b []byte, i uint32) {
	if len(b) < 4 {
		return
	}
	b[0], b[1], b[2], b[3] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
}

// burstIndex reads it back; ok is false for messages shorter than four bytes.
func burstIndex(b []byte) (uint32, bool) {
	if len(b) < 4 {
		return 0, false
	}
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), true
}
