// Command pion_peer is a pion/webrtc v4 peer (the versions livekit-server
// v1.13.5 builds with) driven by JSON lines: one command per stdin line, one
// event per stdout line. It speaks exactly the protocol of the libwebrtc peer
// in tests/interop/wrtc/peer.mjs (commands, events, payload pattern, burst
// semantics), so the C++ tests and bench/rtc can use either.
//
// LK_PION_LITE=1 makes it an ICE-lite agent (SettingEngine.SetLite), as
// livekit-server can be configured; the other side must then control.
// LK_PION_READ_LIKE_LIVEKIT=1 reads channels as livekit-server v1.13.5 does:
// detached, each message into a 65,535-byte buffer, closing the channel when
// a read fails (a bigger message).
package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/pion/webrtc/v4"
)

// Burst back-pressure marks, the same as peer.mjs: pion queues without limit.
const (
	burstHighWater = 1 << 20
	burstLowWater  = 256 * 1024
	pollInterval   = 5 * time.Millisecond
	// livekit-server v1.13.5's dataChannelBufferSize (pkg/rtc/transport.go).
	livekitReadBuffer = 65535
)

var readLikeLivekit = os.Getenv("LK_PION_READ_LIKE_LIVEKIT") == "1"

var start = time.Now()

func nowMs() float64 { return float64(time.Since(start).Nanoseconds()) / 1e6 }

// out serialises events: pion calls back from many goroutines.
var out struct {
	sync.Mutex
	w *bufio.Writer
}

type event map[string]any

func emit(e event) {
	line, err := json.Marshal(e)
	if err != nil {
		line = []byte(fmt.Sprintf(`{"ev":"error","cmd":"","message":%q}`, err.Error()))
	}
	out.Lock()
	defer out.Unlock()
	out.w.Write(line)
	out.w.WriteByte('\n')
	out.w.Flush()
}

// optional turns pion's "unset" nil pointers into JSON null.
func optional(p *uint16) any {
	if p == nil {
		return nil
	}
	return *p
}

// record is what we know of one channel; counters are touched by pion's read
// goroutine and by commands, hence the lock.
type record struct {
	ch *webrtc.DataChannel
	mu sync.Mutex

	countOnly           bool // report mode "count": no message events
	count, bytes        int64
	firstMs, lastMs     float64
	nextSeq             uint32
	seqGaps             int64
	firstGap            event
	openSent, closeSent bool
	lowWater            chan struct{} // signalled by OnBufferedAmountLow during a burst
}

type peer struct {
	pc *webrtc.PeerConnection

	mu       sync.Mutex
	channels map[string]*record
	// Candidates wait until our SDP is out: pion may gather before
	// SetLocalDescription returns, and the other side cannot add a candidate
	// before it has our description.
	sdpSent bool
	pending []event
}

func newPeer() (*peer, error) {
	var se webrtc.SettingEngine
	// The test network namespace is IPv4 only; our side gathers UDP only.
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	if os.Getenv("LK_PION_LITE") == "1" {
		se.SetLite(true)
	}
	if readLikeLivekit {
		se.DetachDataChannels()
	}
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	p := &peer{pc: pc, channels: map[string]*record{}}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		e := event{"ev": "candidate", "candidate": "", "sdpMid": ""}
		if c != nil {
			init := c.ToJSON()
			e["candidate"] = init.Candidate
			if init.SDPMid != nil {
				e["sdpMid"] = *init.SDPMid
			}
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.sdpSent {
			p.pending = append(p.pending, e)
			return
		}
		emit(e)
	})
	state := func() {
		emit(event{"ev": "state", "connection": pc.ConnectionState().String(),
			"ice": pc.ICEConnectionState().String()})
	}
	pc.OnConnectionStateChange(func(webrtc.PeerConnectionState) { state() })
	pc.OnICEConnectionStateChange(func(webrtc.ICEConnectionState) { state() })
	pc.OnDataChannel(func(ch *webrtc.DataChannel) {
		emit(event{"ev": "channel", "label": ch.Label(), "id": optional(ch.ID()), "ordered": ch.Ordered(),
			"maxRetransmits": optional(ch.MaxRetransmits()), "maxPacketLifeTime": optional(ch.MaxPacketLifeTime()),
			"protocol": ch.Protocol(), "negotiated": ch.Negotiated()})
		p.track(ch)
	})
	return p, nil
}

func (p *peer) track(ch *webrtc.DataChannel) *record {
	r := &record{ch: ch, lowWater: make(chan struct{}, 1)}
	p.mu.Lock()
	p.channels[ch.Label()] = r
	p.mu.Unlock()
	closed := func() {
		r.mu.Lock()
		first := !r.closeSent
		r.closeSent = true
		r.mu.Unlock()
		if first {
			emit(event{"ev": "close", "label": ch.Label()})
		}
	}
	ch.OnOpen(func() {
		r.mu.Lock()
		first := !r.openSent
		r.openSent = true
		r.mu.Unlock()
		if !first {
			return
		}
		emit(event{"ev": "open", "label": ch.Label(), "id": optional(ch.ID())})
		if readLikeLivekit {
			go r.readDetached(closed)
		}
	})
	ch.OnClose(closed)
	ch.OnError(func(err error) {
		emit(event{"ev": "error", "cmd": "channel", "label": ch.Label(), "message": err.Error()})
	})
	ch.OnMessage(func(m webrtc.DataChannelMessage) { r.received(m.Data, !m.IsString) })
	ch.OnBufferedAmountLow(func() {
		select {
		case r.lowWater <- struct{}{}:
		default:
		}
	})
	return r
}

// readDetached is livekit-server's read loop: one fixed buffer, and the
// channel closed on the first failed read.
func (r *record) readDetached(closed func()) {
	raw, err := r.ch.Detach()
	if err != nil {
		emit(event{"ev": "error", "cmd": "detach", "label": r.ch.Label(), "message": err.Error()})
		return
	}
	defer closed()
	defer raw.Close()
	buffer := make([]byte, livekitReadBuffer)
	for {
		n, isString, err := raw.ReadDataChannel(buffer)
		if err != nil {
			emit(event{"ev": "error", "cmd": "read", "label": r.ch.Label(), "message": err.Error()})
			return
		}
		r.received(buffer[:n], !isString)
	}
}

func (r *record) received(data []byte, binary bool) {
	t := nowMs()
	r.mu.Lock()
	if r.count == 0 {
		r.firstMs = t
	}
	r.lastMs = t
	r.count++
	r.bytes += int64(len(data))
	if seq, ok := burstIndex(data); ok {
		if seq != r.nextSeq {
			if r.seqGaps == 0 {
				r.firstGap = event{"expected": r.nextSeq, "got": seq, "atMs": nowMs() - r.firstMs}
			}
			r.seqGaps++
		}
		r.nextSeq = seq + 1
	}
	countOnly := r.countOnly
	r.mu.Unlock()
	if !countOnly {
		emit(event{"ev": "message", "label": r.ch.Label(), "size": len(data), "hash": sha256Hex(data), "binary": binary})
	}
}

func (p *peer) channel(label string) (*record, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.channels[label]
	if !ok {
		return nil, fmt.Errorf("no channel labelled %q", label)
	}
	return r, nil
}

// command is every field any command may carry; absent numbers stay nil.
type command struct {
	Cmd               string   `json:"cmd"`
	Label             string   `json:"label"`
	Ordered           *bool    `json:"ordered"`
	MaxRetransmits    *uint16  `json:"maxRetransmits"`
	MaxPacketLifeTime *uint16  `json:"maxPacketLifeTime"`
	Negotiated        *bool    `json:"negotiated"`
	ID                *uint16  `json:"id"`
	Protocol          *string  `json:"protocol"`
	Type              string   `json:"type"`
	SDP               string   `json:"sdp"`
	Candidate         string   `json:"candidate"`
	SDPMid            *string  `json:"sdpMid"`
	Size              int      `json:"size"`
	Seed              uint32   `json:"seed"`
	Data              *string  `json:"data"`
	Text              bool     `json:"text"`
	Count             *float64 `json:"count"`
	DurationMs        float64  `json:"durationMs"`
	Mode              string   `json:"mode"`
}

func (p *peer) emitSDP(d *webrtc.SessionDescription) {
	p.mu.Lock()
	defer p.mu.Unlock()
	emit(event{"ev": "sdp", "type": d.Type.String(), "sdp": d.SDP})
	p.sdpSent = true
	for _, e := range p.pending {
		emit(e)
	}
	p.pending = nil
}

func (p *peer) createChannel(c *command) error {
	init := &webrtc.DataChannelInit{Ordered: c.Ordered, MaxRetransmits: c.MaxRetransmits,
		MaxPacketLifeTime: c.MaxPacketLifeTime, Negotiated: c.Negotiated, ID: c.ID, Protocol: c.Protocol}
	ch, err := p.pc.CreateDataChannel(c.Label, init)
	if err != nil {
		return err
	}
	p.track(ch)
	return nil
}

func (p *peer) createOffer() error {
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	if err := p.pc.SetLocalDescription(offer); err != nil {
		return err
	}
	p.emitSDP(p.pc.LocalDescription())
	return nil
}

func (p *peer) setRemote(c *command) error {
	d := webrtc.SessionDescription{Type: webrtc.NewSDPType(c.Type), SDP: c.SDP}
	if err := p.pc.SetRemoteDescription(d); err != nil {
		return err
	}
	if d.Type != webrtc.SDPTypeOffer {
		return nil
	}
	answer, err := p.pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	if err := p.pc.SetLocalDescription(answer); err != nil {
		return err
	}
	p.emitSDP(p.pc.LocalDescription())
	return nil
}

func (p *peer) candidate(c *command) error {
	if c.Candidate == "" {
		return nil // end of candidates: nothing to add
	}
	mid := "0"
	if c.SDPMid != nil {
		mid = *c.SDPMid
	}
	return p.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: &mid})
}

func (p *peer) send(c *command) error {
	r, err := p.channel(c.Label)
	if err != nil {
		return err
	}
	var b []byte
	if c.Data != nil {
		if b, err = base64.StdEncoding.DecodeString(*c.Data); err != nil {
			return err
		}
	} else {
		b = pattern(c.Seed, c.Size)
	}
	if c.Text {
		return r.ch.SendText(string(b))
	}
	return r.ch.Send(b)
}

// burst sends count messages (or as many as fit in durationMs) as fast as the
// channel drains, then reports "drained" once pion's queue is empty. It runs
// on its own goroutine so that later commands (stats) are answered meanwhile.
func (p *peer) burst(c *command) error {
	r, err := p.channel(c.Label)
	if err != nil {
		return err
	}
	count := int64(math.MaxInt64)
	if c.Count != nil {
		count = int64(*c.Count)
	}
	deadline := time.Duration(math.MaxInt64)
	if c.DurationMs > 0 {
		deadline = time.Duration(c.DurationMs * float64(time.Millisecond))
	}
	ch := r.ch
	ch.SetBufferedAmountLowThreshold(burstLowWater)
	go func() {
		msg := pattern(c.Seed, c.Size) // pion copies on Send, so msg is reused
		t0 := time.Now()
		var i int64
		pumps := 0
		done := false
		for {
			pumps++
			if ch.ReadyState() != webrtc.DataChannelStateOpen {
				emit(event{"ev": "error", "cmd": "burst", "label": c.Label,
					"message": fmt.Sprintf("channel %s after %d messages", ch.ReadyState(), i)})
				return
			}
			for !done && ch.BufferedAmount() < burstHighWater {
				if i == count || (i%64 == 0 && time.Since(t0) >= deadline) {
					done = true
					break
				}
				stampIndex(msg, uint32(i))
				if err := ch.Send(msg); err != nil {
					emit(event{"ev": "error", "cmd": "burst", "label": c.Label,
						"message": fmt.Sprintf("send %d: %v", i, err)})
					return
				}
				i++
			}
			if done && ch.BufferedAmount() == 0 {
				emit(event{"ev": "drained", "label": c.Label, "count": i,
					"ms": float64(time.Since(t0).Nanoseconds()) / 1e6, "pumps": pumps})
				return
			}
			select { // the low-water event, or a poll in case it never comes
			case <-r.lowWater:
			case <-time.After(pollInterval):
			}
		}
	}()
	return nil
}

func (p *peer) report(c *command) error {
	r, err := p.channel(c.Label)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.countOnly = c.Mode == "count"
	r.count, r.bytes, r.firstMs, r.lastMs, r.nextSeq, r.seqGaps, r.firstGap = 0, 0, 0, 0, 0, 0, nil
	return nil
}

func cpuMicros() int64 {
	var u syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &u) != nil {
		return 0
	}
	return u.Utime.Nano()/1000 + u.Stime.Nano()/1000
}

func (p *peer) stats(c *command) error {
	r, err := p.channel(c.Label)
	if err != nil {
		return err
	}
	r.mu.Lock()
	e := event{"ev": "stats", "label": c.Label, "count": r.count, "bytes": r.bytes, "firstMs": r.firstMs,
		"lastMs": r.lastMs, "seqGaps": r.seqGaps, "firstGap": nil}
	if r.firstGap != nil {
		e["firstGap"] = r.firstGap
	}
	r.mu.Unlock()
	e["cpuUs"] = cpuMicros()
	e["bufferedAmount"] = r.ch.BufferedAmount()
	emit(e)
	return nil
}

// diag reports every layer's state and counters for bench/rtc's stall
// report, under the keys ours_peer uses, with the channel's when there is one
// of that label.
func (p *peer) diag(c *command) {
	e := event{"ev": "diag", "pc": p.pc.ConnectionState().String(), "ice": p.pc.ICEConnectionState().String(),
		"dtls": "none", "sctp": "none"}
	if sctp := p.pc.SCTP(); sctp != nil {
		e["sctp"] = sctp.State().String()
		e["dtls"] = sctp.Transport().State().String()
	}
	var in, out uint32 // datagrams carried for DTLS, over every candidate pair
	for _, s := range p.pc.GetStats() {
		switch s := s.(type) {
		case webrtc.ICECandidatePairStats:
			in += s.PacketsReceived
			out += s.PacketsSent
		case webrtc.SCTPTransportStats:
			e["sctpBytesIn"], e["sctpBytesOut"] = s.BytesReceived, s.BytesSent
			e["peerRwnd"], e["unackedChunks"], e["cwnd"] = s.ReceiverWindow, s.UNACKData, s.CongestionWindow
		}
	}
	e["datagramsIn"], e["datagramsOut"] = in, out
	if r, err := p.channel(c.Label); err == nil {
		r.mu.Lock()
		e["messagesIn"] = r.count
		r.mu.Unlock()
		e["channel"] = r.ch.ReadyState().String()
		e["bufferedAmount"] = r.ch.BufferedAmount()
	}
	emit(e)
}

func (p *peer) close(c *command) error {
	r, err := p.channel(c.Label)
	if err != nil {
		return err
	}
	return r.ch.Close()
}

func (p *peer) closePc() error {
	err := p.pc.Close()
	emit(event{"ev": "state", "connection": "closed", "ice": "closed"})
	return err
}

var errExit = errors.New("exit")

func (p *peer) run(c *command) error {
	switch c.Cmd {
	case "createChannel":
		return p.createChannel(c)
	case "createOffer":
		return p.createOffer()
	case "setRemote":
		return p.setRemote(c)
	case "candidate":
		return p.candidate(c)
	case "send":
		return p.send(c)
	case "burst":
		return p.burst(c)
	case "report":
		return p.report(c)
	case "stats":
		return p.stats(c)
	case "diag":
		p.diag(c)

		return nil
	case "close":
		return p.close(c)
	case "closePc":
		return p.closePc()
	case "exit":
		return errExit
	}
	return fmt.Errorf("unknown command %q", c.Cmd)
}

func main() {
	out.w = bufio.NewWriter(os.Stdout)
	p, err := newPeer()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pion_peer:", err)
		os.Exit(1)
	}
	emit(event{"ev": "ready", "pid": os.Getpid()})
	// Commands run one after another in arrival order, as in peer.mjs.
	in := bufio.NewReader(os.Stdin)
	for {
		line, readErr := in.ReadBytes('\n')
		if len(line) > 0 && len(bytes.TrimSpace(line)) > 0 {
			var c command
			if err := json.Unmarshal(line, &c); err != nil {
				emit(event{"ev": "error", "cmd": "", "message": "bad JSON: " + err.Error()})
			} else if err := p.run(&c); errors.Is(err, errExit) {
				break
			} else if err != nil {
				emit(event{"ev": "error", "cmd": c.Cmd, "message": err.Error()})
			}
		}
		if readErr != nil { // the driver went away (or closed our stdin): leave with it
			break
		}
	}
	_ = p.pc.Close()
	os.Exit(0)
}
