package main

import (
	"bytes"
	"testing"
)

// packetsOf returns copies of the packets of one frame.
func packetsOf(t *testing.T, p *packetizer, frame []byte) [][]byte {
	t.Helper()
	var out [][]byte
	err := p.packets(frame, 7, nil, func(b []byte) error {
		out = append(out, append([]byte(nil), b...))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func frameOf(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i * 7 / 3)
	}
	return b
}

// feed hands packets to r and returns the frames it completes.
func feed(t *testing.T, r *reassembler, packets [][]byte) [][]byte {
	t.Helper()
	var frames [][]byte
	for _, b := range packets {
		h, payload, err := parsePacket(b)
		if err != nil {
			t.Fatal(err)
		}
		if f := r.add(h, payload); f != nil {
			frames = append(frames, f)
		}
	}
	return frames
}

func TestTheSpecVectorIsWrittenAndRead(t *testing.T) {
	p := packetizer{handle: 101, sequence: 102, frame: 103}
	var got []byte
	p.packets([]byte{0xAB}, 104, nil, func(b []byte) error { got = append([]byte(nil), b...); return nil })
	want := []byte{0x18, 0, 0, 0x65, 0, 0x66, 0, 0x67, 0, 0, 0, 0x68, 0xAB}
	if !bytes.Equal(got, want) {
		t.Fatalf("packet % x, want % x", got, want)
	}
	h, payload, err := parsePacket(got)
	if err != nil || !h.start || !h.final || h.handle != 101 || h.sequence != 102 || h.frame != 103 || h.timestamp != 104 ||
		!bytes.Equal(payload, []byte{0xAB}) {
		t.Fatalf("parsed %+v %x %v", h, payload, err)
	}
}

func TestFramesUpToOneMegabyteGoRoundTrip(t *testing.T) {
	p := packetizer{handle: 3, sequence: 65530} // the sequence wraps inside a frame
	var r reassembler
	for _, size := range []int{1, 15988, 15989, 64000, 1000000} {
		frame := frameOf(size)
		packets := packetsOf(t, &p, frame)
		for _, b := range packets {
			if len(b) > maxPacketSize {
				t.Fatalf("%d-byte packet", len(b))
			}
		}
		last := packets[len(packets)-1][0]
		if last&flagFinal == 0 {
			t.Fatalf("size %d: the last packet has no final flag", size)
		}
		got := feed(t, &r, packets)
		if len(got) != 1 || !bytes.Equal(got[0], frame) {
			t.Fatalf("size %d: %d frames back, or different bytes", size, len(got))
		}
	}
}

func TestAFrameMissingAPacketIsDropped(t *testing.T) {
	p := packetizer{handle: 3}
	var r reassembler
	frame := frameOf(64000) // 5 packets
	for missing := range 5 {
		packets := packetsOf(t, &p, frame)
		packets = append(packets[:missing:missing], packets[missing+1:]...)
		if got := feed(t, &r, packets); len(got) != 0 {
			t.Fatalf("packet %d missing: %d frames delivered", missing, len(got))
		}
	}
	// The next whole frame still arrives.
	if got := feed(t, &r, packetsOf(t, &p, frame)); len(got) != 1 || !bytes.Equal(got[0], frame) {
		t.Fatal("a whole frame after the lost ones was not delivered")
	}
}

func TestExtensionsAreSkippedAndBadPacketsRefused(t *testing.T) {
	// A Single packet with a user-timestamp extension (L = 2: 12 bytes of block).
	b := []byte{0x1C, 0, 0, 9, 0, 1, 0, 1, 0, 0, 0, 1, 0, 2, 2, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0xEE}
	if _, payload, err := parsePacket(b); err != nil || !bytes.Equal(payload, []byte{0xEE}) {
		t.Fatalf("payload %x, %v", payload, err)
	}
	for name, bad := range map[string][]byte{
		"short":             b[:11],
		"version 1":         append([]byte{0x38}, b[1:]...),
		"handle 0":          {0x18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		"extension overrun": {0x1C, 0, 0, 9, 0, 1, 0, 1, 0, 0, 0, 1, 0, 9, 0},
	} {
		if _, _, err := parsePacket(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
