package main

// bench/e2e/peer_protocol.h's command protocol and frame layout, in Go: one
// command per stdin line, one JSON answer per stdout line.

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	probeFrame      = "lkt-probe"
	frameHeaderSize = 12  // sequence (4) and send time (8)
	fillModulus     = 251 // prime: a frame cut short by whole packets does not match
)

func realtimeMs() float64 { return float64(time.Now().UnixNano()) / 1e6 }

// stdout is shared: fail may be called from pion's and the signalling's goroutines.
var stdout = struct {
	sync.Mutex
	w *bufio.Writer
}{w: bufio.NewWriter(os.Stdout)}

func answer(v any) {
	line, _ := json.Marshal(v)
	stdout.Lock()
	defer stdout.Unlock()
	stdout.w.Write(append(line, '\n'))
	stdout.w.Flush()
}

func fail(format string, args ...any) {
	answer(map[string]any{"ev": "error", "message": fmt.Sprintf(format, args...)})
	os.Exit(1)
}

// forEachCommand calls handle with each stdin line's words until stdin ends.
func forEachCommand(handle func(command string, args []string)) {
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if words := strings.Fields(in.Text()); len(words) > 0 {
			handle(words[0], words[1:])
		}
	}
}

func numbers(args []string, n int) ([]float64, bool) {
	if len(args) != n {
		return nil, false
	}
	out := make([]float64, n)
	for i, a := range args {
		v, err := strconv.ParseFloat(a, 64)
		if err != nil || v < 0 {
			return nil, false
		}
		out[i] = v
	}
	return out, true
}

// fill holds the bytes of frames of one size: byte k of frame seq is
// bytesFor(seq)[k] = (seq + 3 * (size % 251) + k) % 251.
type fill struct {
	size  int
	bytes []byte
}

func (f *fill) bytesFor(seq uint32, size int) []byte {
	if size != f.size || f.bytes == nil {
		f.size = size
		f.bytes = make([]byte, size+fillModulus)
		for i := range f.bytes {
			f.bytes[i] = byte((3*(size%fillModulus) + i) % fillModulus)
		}
	}
	off := int(seq % fillModulus)
	return f.bytes[off : off+size]
}

// serveSender runs the sender's commands; push hands one frame over,
// blocking under back-pressure.
func serveSender(push func([]byte) error) {
	forEachCommand(func(command string, args []string) {
		switch command {
		case "probe":
			if err := push([]byte(probeFrame)); err != nil {
				fail("probe: %v", err)
			}
			answer(map[string]any{"ev": "probed"})
		case "push":
			n, ok := numbers(args, 3)
			if !ok {
				answer(map[string]any{"ev": "error", "message": "usage: push SIZE COUNT RATE"})
				return
			}
			pushFrames(push, int(n[0]), uint32(n[1]), n[2])
		default:
			answer(map[string]any{"ev": "error", "message": "unknown command"})
		}
	})
}

// pushFrames sends count frames at rate a second (0: as fast as push takes
// them), each stamped with its send time when handed over.
func pushFrames(push func([]byte) error, size int, count uint32, rate float64) {
	frame := make([]byte, max(size, frameHeaderSize))
	var f fill
	started := realtimeMs()
	for i := range count {
		if rate > 0 {
			if wait := started + 1e3*float64(i)/rate - realtimeMs(); wait > 0 {
				time.Sleep(time.Duration(wait * 1e6))
			}
		}
		copy(frame[frameHeaderSize:], f.bytesFor(i, len(frame))[frameHeaderSize:])
		binary.BigEndian.PutUint32(frame, i)
		binary.BigEndian.PutUint64(frame[4:], math.Float64bits(realtimeMs()))
		if err := push(frame); err != nil {
			fail("push: %v", err)
		}
	}
	answer(map[string]any{"ev": "pushed", "startedAt": started, "endedAt": realtimeMs()})
}

// arrivals records what has arrived since the last collect.
type arrivals struct {
	mu                           sync.Mutex
	changed                      chan struct{} // closed and replaced on each frame
	probes, received, bytes, bad uint64
	lastAt                       float64
	latencies                    []float64
	fill                         fill
}

func newArrivals() *arrivals { return &arrivals{changed: make(chan struct{})} }

func (a *arrivals) record(frame []byte) {
	now := realtimeMs()
	a.mu.Lock()
	defer a.mu.Unlock()
	if string(frame) == probeFrame {
		a.probes++
		return
	}
	a.received++
	a.bytes += uint64(len(frame))
	a.lastAt = now
	if len(frame) < frameHeaderSize {
		a.bad++
	} else {
		seq := binary.BigEndian.Uint32(frame)
		if string(frame[frameHeaderSize:]) != string(a.fill.bytesFor(seq, len(frame))[frameHeaderSize:]) {
			a.bad++
		}
		a.latencies = append(a.latencies, now-math.Float64frombits(binary.BigEndian.Uint64(frame[4:])))
	}
	close(a.changed)
	a.changed = make(chan struct{})
}

func (a *arrivals) serve() {
	forEachCommand(func(command string, args []string) {
		switch command {
		case "probes":
			a.mu.Lock()
			answer(map[string]any{"ev": "probes", "count": a.probes})
			a.mu.Unlock()
		case "collect":
			n, ok := numbers(args, 3)
			if !ok {
				answer(map[string]any{"ev": "error", "message": "usage: collect COUNT TIMEOUT IDLE"})
				return
			}
			a.collect(uint64(n[0]), time.Duration(n[1])*time.Millisecond, time.Duration(n[2])*time.Millisecond)
		default:
			answer(map[string]any{"ev": "error", "message": "unknown command"})
		}
	})
}

// collect waits for count frames, timeout in all, or idle without a new one,
// answers with what arrived and forgets it.
func (a *arrivals) collect(count uint64, timeout, idle time.Duration) {
	deadline := time.Now().Add(timeout)
	a.mu.Lock()
	seen, lastChange := a.received, time.Now()
	for a.received < count {
		now := time.Now()
		if a.received != seen {
			seen, lastChange = a.received, now
		}
		until := lastChange.Add(idle)
		if deadline.Before(until) {
			until = deadline
		}
		if !now.Before(until) {
			break
		}
		changed := a.changed
		a.mu.Unlock()
		select {
		case <-changed:
		case <-time.After(until.Sub(now)):
		}
		a.mu.Lock()
	}
	sorted := slices.Sorted(slices.Values(a.latencies))
	quantiles := make([]any, 0, 102) // 0, 1, ..., 99, 99.9 and 100 %
	for q := 0; q <= 101; q++ {
		p := float64(q)
		if q == 100 {
			p = 99.9
		} else if q == 101 {
			p = 100
		}
		quantiles = append(quantiles, percentile(sorted, p))
	}
	answer(map[string]any{"ev": "collected", "received": a.received, "bytes": a.bytes, "corrupted": a.bad,
		"lastAt": a.lastAt, "latency": quantiles})
	a.received, a.bytes, a.bad, a.latencies = 0, 0, 0, nil
	a.mu.Unlock()
}

// percentile is nil (JSON null) without samples.
func percentile(sorted []float64, p float64) any {
	if len(sorted) == 0 {
		return nil
	}
	i := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(len(sorted)-1, max(i-1, 0))]
}
