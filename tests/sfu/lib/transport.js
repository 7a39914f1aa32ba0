// One server-side peer connection (libwebrtc through @roamhq/wrtc). It answers the
// client's offers (publisher PC) or makes its own (v0 subscriber PC), trickles candidates
// both ways and reports data channels by label. Negotiation steps are serialized so an
// offer, an answer and candidates never interleave.
import wrtc from '@roamhq/wrtc';
import { logger } from './log.js';

const { RTCPeerConnection } = wrtc;

// Server-created channels on the v0 subscriber PC, as livekit-server creates them.
const SERVER_CHANNELS = [
  ['_reliable', { ordered: true }],
  ['_lossy', { ordered: false, maxRetransmits: 0 }],
  ['_data_track', { ordered: false, maxRetransmits: 0 }],
];
const MAX_PENDING_CANDIDATES = 64;

// Marks a description as coming from an ICE-lite agent (session-level a=ice-lite).
function withIceLite(sdp) {
  if (sdp.includes('a=ice-lite')) return sdp;
  return sdp.replace(/\r\nt=([^\r\n]*)\r\n/, '\r\nt=$1\r\na=ice-lite\r\n');
}

export class PeerTransport {
  // name: for logs; iceLite: advertise ICE-lite; onCandidate(init|null);
  // onChannel(label, channel); onConnectionState(state)
  constructor({ name, iceLite, onCandidate, onChannel, onConnectionState }) {
    this.log = logger(name);
    this.iceLite = iceLite;
    this.pc = new RTCPeerConnection({ iceServers: [] });
    this.pendingCandidates = [];
    this.chain = Promise.resolve();
    this.closed = false;
    this.pc.onicecandidate = (ev) => {
      if (this.closed) return;
      const c = ev.candidate;
      onCandidate(c ? { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex, usernameFragment: c.usernameFragment ?? null } : null);
    };
    this.pc.ondatachannel = (ev) => onChannel(ev.channel.label, ev.channel);
    this.pc.onconnectionstatechange = () => {
      if (!this.closed) onConnectionState(this.pc.connectionState);
    };
    this.onChannel = onChannel;
  }

  // Runs negotiation steps one after another; a failed step does not block later ones.
  enqueue(step) {
    const run = this.chain.then(() => (this.closed ? undefined : step()));
    this.chain = run.catch(() => {});
    return run;
  }

  // Client offer -> our answer SDP.
  answer(offerSdp) {
    return this.enqueue(async () => {
      await this.pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
      await this.flushCandidates();
      const answer = await this.pc.createAnswer();
      const sdp = this.iceLite ? withIceLite(answer.sdp) : answer.sdp;
      await this.pc.setLocalDescription({ type: 'answer', sdp });
      return sdp;
    });
  }

  // Creates the server's channels (v0 subscriber PC) before the first offer; a server
  // without data tracks leaves out _data_track, as livekit-server does.
  createServerChannels({ dataTracks }) {
    for (const [label, init] of SERVER_CHANNELS) {
      if (label === '_data_track' && !dataTracks) continue;
      const ch = this.pc.createDataChannel(label, init);
      this.onChannel(label, ch);
    }
  }

  // Our offer SDP (v0 subscriber PC); options: {iceRestart}.
  offer(options = {}) {
    return this.enqueue(async () => {
      const offer = await this.pc.createOffer(options);
      const sdp = this.iceLite ? withIceLite(offer.sdp) : offer.sdp;
      await this.pc.setLocalDescription({ type: 'offer', sdp });
      return sdp;
    });
  }

  // The client's answer to our offer.
  acceptAnswer(answerSdp) {
    return this.enqueue(async () => {
      await this.pc.setRemoteDescription({ type: 'answer', sdp: answerSdp });
      await this.flushCandidates();
    });
  }

  // A remote candidate; kept until a remote description exists.
  addCandidate(init) {
    if (this.closed) return;
    // mDNS (.local) host candidates would make libwebrtc query the host's DNS resolver,
    // which is outside the test namespace; the peer-reflexive path connects without them.
    if (/ [0-9a-f-]+\.local /i.test(init?.candidate ?? '')) {
      this.log.debug('skipping mDNS candidate');
      return;
    }
    if (!this.pc.remoteDescription) {
      if (this.pendingCandidates.length < MAX_PENDING_CANDIDATES) this.pendingCandidates.push(init);
      return;
    }
    this.pc.addIceCandidate(init).catch((e) => this.log.debug(`candidate refused: ${e.message}`));
  }

  async flushCandidates() {
    const pending = this.pendingCandidates;
    this.pendingCandidates = [];
    for (const init of pending) {
      await this.pc.addIceCandidate(init).catch((e) => this.log.debug(`candidate refused: ${e.message}`));
    }
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    try {
      this.pc.close();
    } catch (e) {
      this.log.debug(`close: ${e.message}`);
    }
  }
}
