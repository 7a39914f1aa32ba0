package main

// Data-track packets (docs/protocol.md §6) and the splitting and reassembly of
// frames into them (§7), written for this client: no extensions are sent, and
// received extension blocks are skipped.

import (
	"encoding/binary"
	"errors"
)

const (
	maxPacketSize   = 16000 // header included (§7)
	headerSize      = 12    // without extensions
	maxFramePackets = 128   // a longer frame is dropped (§7)

	flagStart      = 0x10
	flagFinal      = 0x08
	flagExtensions = 0x04
)

type packetHeader struct {
	start, final bool
	handle       uint16
	sequence     uint16
	frame        uint16
	timestamp    uint32
}

// packetizer numbers the packets and frames of one published track.
type packetizer struct {
	handle   uint16
	sequence uint16
	frame    uint16
}

// packets calls send with each packet of one frame, in order; buf is reused
// between calls, so send must not keep it. An empty frame sends nothing but
// uses up a frame number, as §7 says.
func (p *packetizer) packets(payload []byte, timestamp uint32, buf []byte, send func([]byte) error) error {
	defer func() { p.frame++ }()
	const room = maxPacketSize - headerSize
	for offset := 0; offset < len(payload); offset += room {
		end := min(offset+room, len(payload))
		var flags byte
		if offset == 0 {
			flags |= flagStart
		}
		if end == len(payload) {
			flags |= flagFinal
		}
		buf = append(buf[:0], flags, 0)
		buf = binary.BigEndian.AppendUint16(buf, p.handle)
		buf = binary.BigEndian.AppendUint16(buf, p.sequence)
		buf = binary.BigEndian.AppendUint16(buf, p.frame)
		buf = binary.BigEndian.AppendUint32(buf, timestamp)
		buf = append(buf, payload[offset:end]...)
		p.sequence++
		if err := send(buf); err != nil {
			return err
		}
	}
	return nil
}

var errMalformed = errors.New("malformed data-track packet")

// parsePacket reads a packet's header and returns its payload (which aliases b).
func parsePacket(b []byte) (packetHeader, []byte, error) {
	if len(b) < headerSize || b[0]>>5 != 0 {
		return packetHeader{}, nil, errMalformed
	}
	h := packetHeader{
		start:     b[0]&flagStart != 0,
		final:     b[0]&flagFinal != 0,
		handle:    binary.BigEndian.Uint16(b[2:]),
		sequence:  binary.BigEndian.Uint16(b[4:]),
		frame:     binary.BigEndian.Uint16(b[6:]),
		timestamp: binary.BigEndian.Uint32(b[8:]),
	}
	if h.handle == 0 {
		return packetHeader{}, nil, errMalformed
	}
	payloadAt := headerSize
	if b[0]&flagExtensions != 0 {
		if len(b) < headerSize+2 {
			return packetHeader{}, nil, errMalformed
		}
		payloadAt += 4 * (int(binary.BigEndian.Uint16(b[headerSize:])) + 1)
		if payloadAt > len(b) {
			return packetHeader{}, nil, errMalformed
		}
	}
	return h, b[payloadAt:], nil
}

// reassembler rebuilds the frames of one subscribed track. One partial frame
// is open at a time; a frame with a missing packet is dropped whole.
type reassembler struct {
	open  bool
	frame uint16
	first uint16
	parts map[uint16][]byte // by sequence number; a duplicate replaces
	size  int
}

// add takes one packet's header and payload (copied when kept) and returns a
// whole frame when this packet completes one, else nil.
func (r *reassembler) add(h packetHeader, payload []byte) []byte {
	if h.start && h.final {
		r.open = false
		return append([]byte(nil), payload...)
	}
	if h.start {
		r.open, r.frame, r.first, r.size = true, h.frame, h.sequence, 0
		clear(r.parts)
		if r.parts == nil {
			r.parts = make(map[uint16][]byte)
		}
	} else if !r.open || h.frame != r.frame {
		return nil // a packet of no open frame
	}
	if old, dup := r.parts[h.sequence]; dup {
		r.size -= len(old)
	}
	r.parts[h.sequence] = append([]byte(nil), payload...)
	r.size += len(payload)
	if len(r.parts) > maxFramePackets {
		r.open = false
		return nil
	}
	if !h.final {
		return nil
	}
	r.open = false
	count := int(h.sequence-r.first) + 1 // wraps with the sequence
	if count != len(r.parts) {
		return nil // a packet is missing (or one from outside the frame came)
	}
	frame := make([]byte, 0, r.size)
	for i := 0; i < count; i++ {
		part, ok := r.parts[r.first+uint16(i)]
		if !ok {
			return nil
		}
		frame = append(frame, part...)
	}
	return frame
}
