package main

import (
	"encoding/hex"
	"testing"
)

// Vectors printed by tests/interop/wrtc/payload.mjs (pattern, sha256): the Go
// generator must produce the same bytes, or hashes never match across peers.
func TestPatternMatchesTheJavaScriptGenerator(t *testing.T) {
	cases := []struct {
		seed   uint32
		size   int
		prefix string // hex of the first 16 bytes (or fewer)
		sha256 string
	}{
		{0, 16, "193e3ab51f37d0bf39b8eeb4d33cb85f", "315ce6f66522879ae35976a7e0e053f7389dcfb3a528bfcfce782afe96eb4293"},
		{1, 8, "2101c54fd1d01ab2", "8c58cf8e029fb44a0cad5835f09e55749f722fc95d1f9388cad5ca0e88d9f37d"},
		{77, 1200, "6941b0f08f7f122f3e7cdd260ac4368e", "c725e061ef22f848a02f378917e82eefba4035928ab939a935f4069ef559e7af"},
		{0xdeadbeef, 5, "b742583b48", "d488aeda7fb3b79c36b8d76dbdc0cd650800cb03bbd7cbe7b8ba8c0886b09675"},
	}
	for _, c := range cases {
		b := pattern(c.seed, c.size)
		n := min(len(b), 16)
		if got := hex.EncodeToString(b[:n]); got != c.prefix {
			t.Errorf("pattern(%d, %d) starts %s, want %s", c.seed, c.size, got, c.prefix)
		}
		if got := sha256Hex(b); got != c.sha256 {
			t.Errorf("sha256(pattern(%d, %d)) = %s, want %s", c.seed, c.size, got, c.sha256)
		}
	}
}

func TestBurstIndexRoundTripsBigEndian(t *testing.T) {
	b := pattern(5, 1200)
	stampIndex(b, 0x01020304)
	if hex.EncodeToString(b[:4]) != "01020304" {
		t.Fatalf("index stamped as %x", b[:4])
	}
	if i, ok := burstIndex(b); !ok || i != 0x01020304 {
		t.Fatalf("burstIndex = %x, %v", i, ok)
	}
	short := []byte{1, 2, 3}
	stampIndex(short, 7)
	if _, ok := burstIndex(short); ok || short[0] != 1 {
		t.Fatal("a message under four bytes carries no index")
	}
}
