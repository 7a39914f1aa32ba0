package main

// One LiveKit participant on pion: signalling over the v1 WebSocket (one
// client-offered peer connection, docs/protocol.md §2, §5), one published or
// subscribed data track (§8, §9), and the `_data_track` channel carrying its
// packets both ways.

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"github.com/livekit/protocol/livekit"
	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"
)

const (
	dataTrackLabel = "_data_track"
	// Back-pressure marks of the `_data_track` channel: lib/room's defaults
	// (docs/protocol.md §12); pion itself queues without limit.
	highWater = 1 << 20
	lowWater  = 256 * 1024
	// How long each step of joining may take (livekit-client's timeouts, §2).
	stepTimeout = 15 * time.Second
)

type settings struct {
	url, apiKey, apiSecret, room, identity string
}

type room struct {
	ws      *websocket.Conn
	writeMu sync.Mutex
	closing atomic.Bool

	pc        *webrtc.PeerConnection
	dataTrack *webrtc.DataChannel
	belowLow  chan struct{} // a buffered-amount-low event (capacity 1)

	joined    chan *livekit.JoinResponse
	answered  chan *livekit.SessionDescription
	published chan publishResult

	mu           sync.Mutex
	remoteSet    bool
	heldRemote   []webrtc.ICECandidateInit           // candidates before the answer
	tracks       map[string][]*livekit.DataTrackInfo // by identity
	versions     map[string]uint32
	handles      map[uint32]*livekit.DataTrackSubscriberHandles_PublishedDataTrack
	changed      chan struct{} // closed and replaced when tracks or handles change
	subHandle    atomic.Uint32 // the subscribed track's handle, 0 before
	onFrame      func([]byte)
	reassembling reassembler
}

type publishResult struct {
	info *livekit.DataTrackInfo
	err  error
}

// token is an HS256 JWT for joining s.room (docs/protocol.md §4), made with
// the standard library: livekit/protocol's auth package would bring about 30
// more modules (NATS, Redis, Prometheus) for these few lines.
func token(s settings) (string, error) {
	now := time.Now().Unix()
	claims, err := json.Marshal(map[string]any{"iss": s.apiKey, "sub": s.identity, "nbf": now - 60, "exp": now + 3600,
		"video": map[string]any{"roomJoin": true, "room": s.room}})
	if err != nil {
		return "", err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	unsigned := b64([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + b64(claims)
	mac := hmac.New(sha256.New, []byte(s.apiSecret))
	mac.Write([]byte(unsigned))
	return unsigned + "." + b64(mac.Sum(nil)), nil
}

// joinRequest is the v1 query's join_request: a gzipped JoinRequest in a
// WrappedJoinRequest, base64url with padding (§2).
func joinRequest() (string, error) {
	join := &livekit.JoinRequest{
		ClientInfo:         &livekit.ClientInfo{Sdk: livekit.ClientInfo_GO, Version: "pion_lk", Protocol: 17, Os: "linux"},
		ConnectionSettings: &livekit.ConnectionSettings{AutoSubscribe: false, AutoSubscribeDataTrack: proto.Bool(false)},
	}
	raw, err := proto.Marshal(join)
	if err != nil {
		return "", err
	}
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write(raw)
	zw.Close()
	wrapped, err := proto.Marshal(&livekit.WrappedJoinRequest{
		Compression: livekit.WrappedJoinRequest_GZIP, JoinRequest: zipped.Bytes()})
	if err != nil {
		return "", err
	}
	return base64.URLEncoding.EncodeToString(wrapped), nil
}

func connect(s settings) (*room, error) {
	jwt, err := token(s)
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	join, err := joinRequest()
	if err != nil {
		return nil, err
	}
	base := strings.TrimRight(strings.Replace(s.url, "http", "ws", 1), "/")
	target := base + "/rtc/v1?join_request=" + url.QueryEscape(join)
	dialer := websocket.Dialer{HandshakeTimeout: stepTimeout}
	ws, response, err := dialer.Dial(target, http.Header{"Authorization": {"Bearer " + jwt}})
	if err != nil {
		if response != nil {
			err = fmt.Errorf("%w (HTTP %s)", err, response.Status)
		}
		return nil, fmt.Errorf("signalling to %s: %w", base, err)
	}
	r := &room{
		ws: ws, belowLow: make(chan struct{}, 1),
		joined: make(chan *livekit.JoinResponse, 1), answered: make(chan *livekit.SessionDescription, 1),
		published: make(chan publishResult, 1),
		tracks:    map[string][]*livekit.DataTrackInfo{}, versions: map[string]uint32{},
		handles: map[uint32]*livekit.DataTrackSubscriberHandles_PublishedDataTrack{}, changed: make(chan struct{}),
	}
	go r.readSignals()
	var joined *livekit.JoinResponse
	select {
	case joined = <-r.joined:
	case <-time.After(stepTimeout):
		return nil, errors.New("no join response")
	}
	if err := r.connectPeer(joined); err != nil {
		return nil, err
	}
	if interval := time.Duration(joined.PingInterval) * time.Second; interval > 0 {
		go r.keepalive(interval)
	}
	return r, nil
}

// connectPeer brings up the one peer connection with livekit-client's three
// channels (§5) and waits until `_data_track` is open.
func (r *room) connectPeer(join *livekit.JoinResponse) error {
	config := webrtc.Configuration{}
	for _, s := range join.IceServers {
		config.ICEServers = append(config.ICEServers, webrtc.ICEServer{URLs: s.Urls, Username: s.Username, Credential: s.Credential})
	}
	if join.GetClientConfiguration().GetForceRelay() == livekit.ClientConfigSetting_ENABLED {
		config.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	api, err := newAPI()
	if err != nil {
		return err
	}
	pc, err := api.NewPeerConnection(config)
	if err != nil {
		return err
	}
	r.pc = pc
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return // livekit-client sends no end-of-candidates either (§3)
		}
		init := c.ToJSON()
		zero := uint16(0)
		init.SDPMLineIndex = &zero
		text, _ := json.Marshal(init)
		r.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Trickle{Trickle: &livekit.TrickleRequest{
			CandidateInit: string(text), Target: livekit.SignalTarget_PUBLISHER}}})
	})
	noRetransmits := uint16(0)
	unordered := webrtc.DataChannelInit{Ordered: proto.Bool(false), MaxRetransmits: &noRetransmits}
	for _, label := range []string{"_reliable", "_lossy", dataTrackLabel} {
		init := &unordered
		if label == "_reliable" {
			init = nil
		}
		dc, err := pc.CreateDataChannel(label, init)
		if err != nil {
			return err
		}
		if label == dataTrackLabel {
			r.dataTrack = dc
		}
	}
	open := make(chan struct{})
	r.dataTrack.OnOpen(func() {
		close(open)
		raw, err := r.dataTrack.Detach()
		if err != nil {
			fail("%s: %v", dataTrackLabel, err)
		}
		go r.readPackets(raw)
	})
	r.dataTrack.SetBufferedAmountLowThreshold(lowWater)
	r.dataTrack.OnBufferedAmountLow(func() {
		select {
		case r.belowLow <- struct{}{}:
		default:
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		return err
	}
	r.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Offer{Offer: &livekit.SessionDescription{
		Type: "offer", Sdp: offer.SDP, Id: 1}}})
	var answer *livekit.SessionDescription
	select {
	case answer = <-r.answered:
	case <-time.After(stepTimeout):
		return errors.New("no answer to our offer")
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer.Sdp}); err != nil {
		return fmt.Errorf("the server's answer: %w", err)
	}
	r.mu.Lock()
	r.remoteSet = true
	held := r.heldRemote
	r.heldRemote = nil
	r.mu.Unlock()
	for _, c := range held {
		pc.AddICECandidate(c)
	}
	select {
	case <-open:
		return nil
	case <-time.After(stepTimeout):
		return fmt.Errorf("%s did not open (peer connection %s)", dataTrackLabel, pc.ConnectionState())
	}
}

// newAPI gives pion the buffers lib/rtc has (lib/rtc/ice_transport.cpp,
// sctp_transport.cpp): with pion's defaults (the kernel's 208 KiB UDP buffer, a
// 1 MiB SCTP window) a burst of a 1 MB frame overflows them, and on an
// unretransmitted channel every overflow loses a frame.
func newAPI() (*webrtc.API, error) {
	conn, err := (&net.ListenConfig{Control: bigBuffers}).ListenPacket(context.Background(), "udp4", "0.0.0.0:0")
	if err != nil {
		return nil, err
	}
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEUDPMux(ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: conn}))
	se.SetSCTPMaxReceiveBufferSize(bufferBytes)
	se.DetachDataChannels() // as livekit-server does: reads into our buffer, no copy per message
	return webrtc.NewAPI(webrtc.WithSettingEngine(se)), nil
}

const bufferBytes = 8 << 20

// bigBuffers sets the socket's buffers to bufferBytes, past net.core.rmem_max
// when allowed (the FORCE options need CAP_NET_ADMIN, which the bench's
// network namespace gives), else as far as that limit.
func bigBuffers(_, _ string, c syscall.RawConn) error {
	return c.Control(func(fd uintptr) {
		for force, plain := range map[int]int{syscall.SO_RCVBUFFORCE: syscall.SO_RCVBUF, syscall.SO_SNDBUFFORCE: syscall.SO_SNDBUF} {
			if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, force, bufferBytes) != nil {
				syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, plain, bufferBytes)
			}
		}
	})
}

func (r *room) send(request *livekit.SignalRequest) {
	bytes, err := proto.Marshal(request)
	if err != nil {
		fail("signal request: %v", err)
	}
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	if err := r.ws.WriteMessage(websocket.BinaryMessage, bytes); err != nil && !r.closing.Load() {
		fail("signalling: %v", err)
	}
}

func (r *room) keepalive(interval time.Duration) {
	for range time.Tick(interval) {
		if r.closing.Load() {
			return
		}
		r.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_PingReq{PingReq: &livekit.Ping{Timestamp: time.Now().UnixMilli()}}})
	}
}

func (r *room) readSignals() {
	for {
		kind, data, err := r.ws.ReadMessage()
		if err != nil {
			if !r.closing.Load() {
				fail("signalling: %v", err)
			}
			return
		}
		if kind != websocket.BinaryMessage {
			continue
		}
		var response livekit.SignalResponse
		if err := proto.Unmarshal(data, &response); err != nil {
			fail("signal response: %v", err)
		}
		r.onSignal(&response)
	}
}

func (r *room) onSignal(response *livekit.SignalResponse) {
	switch m := response.Message.(type) {
	case *livekit.SignalResponse_Join:
		r.updateParticipants(m.Join.OtherParticipants)
		offer(r.joined, m.Join)
	case *livekit.SignalResponse_Answer:
		offer(r.answered, m.Answer)
	case *livekit.SignalResponse_Trickle:
		var c webrtc.ICECandidateInit
		if err := json.Unmarshal([]byte(m.Trickle.CandidateInit), &c); err != nil {
			fail("trickle: %v", err)
		}
		r.mu.Lock()
		if !r.remoteSet {
			r.heldRemote = append(r.heldRemote, c)
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		r.pc.AddICECandidate(c)
	case *livekit.SignalResponse_Update:
		r.updateParticipants(m.Update.Participants)
	case *livekit.SignalResponse_PublishDataTrackResponse:
		offer(r.published, publishResult{info: m.PublishDataTrackResponse.Info})
	case *livekit.SignalResponse_RequestResponse:
		if m.RequestResponse.GetPublishDataTrack() != nil {
			offer(r.published, publishResult{err: fmt.Errorf("refused: %s %s", m.RequestResponse.Reason, m.RequestResponse.Message)})
		}
	case *livekit.SignalResponse_DataTrackSubscriberHandles:
		r.mu.Lock()
		r.handles = m.DataTrackSubscriberHandles.SubHandles
		r.notifyLocked()
		r.mu.Unlock()
	case *livekit.SignalResponse_Leave:
		if !r.closing.Load() {
			fail("the server sent leave (%s, %s)", m.Leave.Reason, m.Leave.Action)
		}
	}
}

// offer hands v to whoever waits for the first one; a repeated answer (the
// server sends none) must not block the signalling.
func offer[T any](to chan T, v T) {
	select {
	case to <- v:
	default:
	}
}

// updateParticipants keeps each participant's data tracks (§9: each list is
// complete; an older version is ignored).
func (r *room) updateParticipants(infos []*livekit.ParticipantInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range infos {
		if seen, ok := r.versions[p.Identity]; ok && p.Version < seen {
			continue
		}
		r.versions[p.Identity] = p.Version
		if p.State == livekit.ParticipantInfo_DISCONNECTED {
			delete(r.tracks, p.Identity)
		} else {
			r.tracks[p.Identity] = p.DataTracks
		}
	}
	r.notifyLocked()
}

func (r *room) notifyLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// waitFor polls found under the lock at every change until it says yes.
func (r *room) waitFor(what string, found func() bool) error {
	deadline := time.After(stepTimeout + 5*time.Second) // updates may come 3 s apart (§9)
	for {
		r.mu.Lock()
		ok, changed := found(), r.changed
		r.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-deadline:
			return errors.New(what)
		}
	}
}

// publish publishes a data track with handle 1 (our only one) and returns
// what sends its frames.
func (r *room) publish(name string) (*sender, error) {
	const handle = 1
	r.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_PublishDataTrackRequest{
		PublishDataTrackRequest: &livekit.PublishDataTrackRequest{PubHandle: handle, Name: name}}})
	select {
	case res := <-r.published:
		if res.err != nil {
			return nil, res.err
		}
	case <-time.After(10 * time.Second):
		return nil, errors.New("no answer to the publish request: the server may lack data-track support")
	}
	return &sender{room: r, p: packetizer{handle: handle}, base: rand.Uint32(), since: time.Now()}, nil
}

// subscribe asks for publisher's track `name` and delivers its frames to onFrame.
func (r *room) subscribe(publisher, name string, onFrame func([]byte)) error {
	var sid string
	if err := r.waitFor(fmt.Sprintf("%s publishes no data track %q", publisher, name), func() bool {
		for _, t := range r.tracks[publisher] {
			if t.Name == name {
				sid = t.Sid
				return true
			}
		}
		return false
	}); err != nil {
		return err
	}
	r.mu.Lock()
	r.onFrame = onFrame
	r.mu.Unlock()
	r.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_UpdateDataSubscription{
		UpdateDataSubscription: &livekit.UpdateDataSubscription{Updates: []*livekit.UpdateDataSubscription_Update{
			{TrackSid: sid, Subscribe: true}}}}})
	return r.waitFor("no subscriber handle for "+sid, func() bool {
		for handle, t := range r.handles {
			if t.TrackSid == sid {
				r.subHandle.Store(handle)
				return true
			}
		}
		return false
	})
}

// readPackets reads `_data_track` until it closes, one message at a time.
func (r *room) readPackets(raw io.Reader) {
	buf := make([]byte, 65535) // the largest message livekit-server reads, too
	for {
		n, err := raw.Read(buf)
		if err != nil {
			return
		}
		r.onPacket(buf[:n])
	}
}

func (r *room) onPacket(data []byte) {
	h, payload, err := parsePacket(data)
	if err != nil || uint32(h.handle) != r.subHandle.Load() {
		return
	}
	if frame := r.reassembling.add(h, payload); frame != nil {
		r.mu.Lock()
		deliver := r.onFrame
		r.mu.Unlock()
		deliver(frame)
	}
}

func (r *room) close() {
	r.closing.Store(true) // from here a failed write or a closed socket is no error
	r.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Leave{Leave: &livekit.LeaveRequest{
		Reason: livekit.DisconnectReason_CLIENT_INITIATED, Action: livekit.LeaveRequest_DISCONNECT}}})
	r.pc.Close()
	r.ws.Close()
}

// sender sends the frames of the published track, a frame's packets back to back.
type sender struct {
	room  *room
	p     packetizer
	base  uint32 // the 90 kHz timestamp's random start (§7)
	since time.Time
	buf   []byte
}

// push waits while more than highWater is queued, then sends the frame whole.
func (s *sender) push(frame []byte) error {
	dc := s.room.dataTrack
	for dc.BufferedAmount() > highWater {
		select {
		case <-s.room.belowLow:
		case <-time.After(50 * time.Millisecond): // the event may have fired before we looked
		}
	}
	timestamp := s.base + uint32(time.Since(s.since).Microseconds()*9/100)
	return s.p.packets(frame, timestamp, s.buf, dc.Send)
}

// drain waits up to timeout for the queued packets to leave.
func (s *sender) drain(timeout time.Duration) {
	for deadline := time.Now().Add(timeout); s.room.dataTrack.BufferedAmount() > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
}
