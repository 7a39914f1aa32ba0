// A minimal data-track client on @roamhq/wrtc for the server tests: v1 single PC with the
// three client channels, or v0 with the server-offered subscriber PC. Must run inside
// scripts/netns-run.sh (libwebrtc ignores loopback).
import wrtc from '@roamhq/wrtc';
import { SessionDescription, SignalTarget, TrickleRequest } from '@livekit/protocol';
import { joinRequestParam, SignalConnection, v1Url } from './helpers.js';

const { RTCPeerConnection } = wrtc;

function waitFor(cond, what, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      if (cond()) { clearInterval(poll); resolve(); }
      else if (Date.now() - started > timeoutMs) { clearInterval(poll); reject(new Error(`timeout waiting for ${what}`)); }
    }, 20);
  });
}

export class RtcClient {
  // mode: 'v1' | 'v1-bundled' | 'v0'
  static async connect(baseUrl, tok, { mode = 'v1', autoSubscribeDataTrack } = {}) {
    const c = new RtcClient();
    await c.start(baseUrl, tok, mode, autoSubscribeDataTrack);
    return c;
  }

  async start(baseUrl, tok, mode, autoSubscribeDataTrack) {
    this.mode = mode;
    this.nextOfferId = 2;
    this.received = []; // packets on any _data_track
    this.receivedOn = []; // 'publisher' | 'subscriber': the PC each packet came in on
    this.pc = new RTCPeerConnection({ iceServers: [] });
    this.channels = {
      _reliable: this.pc.createDataChannel('_reliable', { ordered: true }),
      _lossy: this.pc.createDataChannel('_lossy', { ordered: false, maxRetransmits: 0 }),
      _data_track: this.pc.createDataChannel('_data_track', { ordered: false, maxRetransmits: 0 }),
    };
    this.watch(this.channels._data_track, 'publisher');
    const pendingCandidates = [];
    this.pc.onicecandidate = (ev) => {
      if (!ev.candidate) return;
      const init = { candidate: ev.candidate.candidate, sdpMid: ev.candidate.sdpMid, sdpMLineIndex: ev.candidate.sdpMLineIndex };
      if (this.signal) this.trickle(init, SignalTarget.PUBLISHER);
      else pendingCandidates.push(init);
    };
    let url;
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    const offerSd = new SessionDescription({ type: 'offer', sdp: offer.sdp, id: 1 });
    if (mode === 'v0') {
      const u = new URL(`${baseUrl}/rtc`);
      u.search = new URLSearchParams({ access_token: tok, auto_subscribe: '0', sdk: 'js', version: '2.23.0', protocol: '17' }).toString();
      if (autoSubscribeDataTrack) u.searchParams.set('auto_subscribe_data_track', '1');
      url = u.toString();
    } else {
      url = v1Url(baseUrl, { tok, joinRequest: joinRequestParam({ autoSubscribeDataTrack, publisherOffer: mode === 'v1-bundled' ? offerSd : undefined }) });
    }
    this.signal = await SignalConnection.open(url);
    this.join = await this.signal.next('join');
    for (const init of pendingCandidates) this.trickle(init, SignalTarget.PUBLISHER);
    this.signal.ws.on('message', () => this.pumpSignals());
    if (mode === 'v0') await this.acceptSubscriberOffer();
    if (mode !== 'v1-bundled') this.signal.send('offer', offerSd);
    const answer = await this.signal.next('answer');
    await this.pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    await waitFor(() => this.channels._data_track.readyState === 'open', 'publisher _data_track open');
    if (this.sub) await waitFor(() => this.subDataTrack?.readyState === 'open', 'subscriber _data_track open');
  }

  // Drops the WebSocket and resumes on a new one: `reconnect`, then ICE restarts
  // (the server re-offers a v0 subscriber PC; we re-offer our own PC).
  async resume(baseUrl, tok) {
    this.signal.drop();
    const sid = this.join.participant.sid;
    const url = this.mode === 'v0'
      ? `${baseUrl}/rtc?access_token=${tok}&auto_subscribe=0&sdk=js&protocol=17&reconnect=1&sid=${sid}`
      : v1Url(baseUrl, { tok, joinRequest: joinRequestParam({ resumeSid: sid }) });
    this.signal = await SignalConnection.open(url);
    this.reconnect = await this.signal.next('reconnect');
    this.signal.ws.on('message', () => this.pumpSignals());
    if (this.sub) await this.answerSubscriberOffer();
    const offer = await this.pc.createOffer({ iceRestart: true });
    await this.pc.setLocalDescription(offer);
    this.signal.send('offer', new SessionDescription({ type: 'offer', sdp: offer.sdp, id: this.nextOfferId++ }));
    const answer = await this.signal.next('answer');
    await this.pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
  }

  // v0 subscriber-primary: the server offers a PC with its own channels.
  async acceptSubscriberOffer() {
    this.sub = new RTCPeerConnection({ iceServers: [] });
    this.sub.onicecandidate = (ev) => {
      if (ev.candidate) this.trickle({ candidate: ev.candidate.candidate, sdpMid: ev.candidate.sdpMid, sdpMLineIndex: ev.candidate.sdpMLineIndex }, SignalTarget.SUBSCRIBER);
    };
    this.sub.ondatachannel = (ev) => {
      if (ev.channel.label === '_data_track') { this.subDataTrack = ev.channel; this.watch(ev.channel, 'subscriber'); }
    };
    await this.answerSubscriberOffer();
  }

  async answerSubscriberOffer() {
    const offer = await this.signal.next('offer');
    await this.sub.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
    const answer = await this.sub.createAnswer();
    await this.sub.setLocalDescription(answer);
    this.signal.send('answer', new SessionDescription({ type: 'answer', sdp: answer.sdp, id: offer.id }));
  }

  // Applies trickles from the server as they come (kept out of the tests' message queue).
  pumpSignals() {
    const q = this.signal.queue;
    for (let i = q.length - 1; i >= 0; i--) {
      if (q[i].case !== 'trickle') continue;
      const t = q.splice(i, 1)[0].value;
      const pc = t.target === SignalTarget.SUBSCRIBER ? this.sub : this.pc;
      pc?.addIceCandidate(JSON.parse(t.candidateInit)).catch(() => {});
    }
  }

  trickle(init, target) {
    this.signal.send('trickle', new TrickleRequest({ candidateInit: JSON.stringify(init), target }));
  }

  watch(ch, pc) {
    ch.binaryType = 'arraybuffer';
    ch.onmessage = (ev) => {
      this.received.push(Buffer.from(ev.data));
      this.receivedOn.push(pc);
    };
  }

  sendPacket(buf) {
    this.channels._data_track.send(buf);
  }

  async waitForPackets(n, timeoutMs = 5000) {
    await waitFor(() => this.received.length >= n, `${n} packets (have ${this.received.length})`, timeoutMs);
    return this.received;
  }

  close() {
    this.signal?.close();
    this.pc.close();
    this.sub?.close();
  }
}
