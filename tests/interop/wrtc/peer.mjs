// A libwebrtc (M106, @roamhq/wrtc) peer driven by JSON lines: one command per
// stdin line, one event per stdout line. Tests in C++ and Node relay SDP and
// candidates between it and another peer, then drive its data channels.
//
// Commands: createChannel {label, ordered, maxRetransmits, maxPacketLifeTime,
//   negotiated, id, protocol} | createOffer | setRemote {type, sdp} (answers an
//   offer) | candidate {candidate, sdpMid} | send {label, size, seed} or
//   {label, data: base64} (text: true sends a string) | burst {label, count,
//   size, seed, durationMs} | report {label, mode: "each"|"count"} (resets counters) | stats {label} |
//   diag {label} | close {label} | closePc | exit
// Events: sdp {type, sdp} | candidate {candidate, sdpMid} ("" = end) |
//   state {connection, ice} | channel {label, id, ...} | open {label, id} |
//   message {label, size, hash, binary} | close {label} | drained {label,
//   count, ms} | stats {label, count, bytes, firstMs, lastMs, seqGaps,
//   firstGap {expected, got, atMs}, cpuUs} | diag {pc, ice, dtls, datagramsIn,
//   datagramsOut, channel, messagesIn, bufferedAmount} (bench/rtc's stall report) |
//   error {cmd, message}
//
// Payloads are deterministic (pattern(seed, size), xorshift32, payload.mjs) so a
// peer in another language can check them byte for byte through the SHA-256
// hash in "message". Burst message i is pattern(seed, size) with its first
// four bytes replaced by i (big-endian) when size >= 4.
import wrtc from '@roamhq/wrtc';
import readline from 'node:readline';
import { pattern, sha256 } from './payload.mjs';

const { RTCPeerConnection } = wrtc;

// libwebrtc queues without limit; keep the queue between these marks.
const BURST_HIGH_WATER = 1 << 20;
const BURST_LOW_WATER = 256 * 1024;
const POLL_MS = 5;

function emit(event) {
  process.stdout.write(JSON.stringify(event) + '\n');
}

function nowMs() {
  return Number(process.hrtime.bigint()) / 1e6;
}

class Peer {
  constructor() {
    this.pc = new RTCPeerConnection({ iceServers: [] });
    this.channels = new Map();  // label -> channel record
    this.pc.onicecandidate = (e) => {
      const c = e.candidate;
      emit({ ev: 'candidate', candidate: c ? c.candidate : '', sdpMid: c ? c.sdpMid : '' });
    };
    const state = () => emit({ ev: 'state', connection: this.pc.connectionState,
                                ice: this.pc.iceConnectionState });
    this.pc.onconnectionstatechange = state;
    this.pc.oniceconnectionstatechange = state;
    this.pc.ondatachannel = (e) => {
      const ch = e.channel;
      emit({ ev: 'channel', label: ch.label, id: ch.id, ordered: ch.ordered,
             maxRetransmits: ch.maxRetransmits, maxPacketLifeTime: ch.maxPacketLifeTime,
             protocol: ch.protocol, negotiated: ch.negotiated });
      this.track(ch);
    };
  }

  // Watches one channel. onopen/onclose may not fire for channels created after
  // the association is up (libwebrtc M106 in Node), so readyState is polled too.
  track(ch) {
    ch.binaryType = 'arraybuffer';
    const rec = { ch, opened: false, closed: false, mode: 'each',
                  count: 0, bytes: 0, firstMs: 0, lastMs: 0, nextSeq: 0, seqGaps: 0, firstGap: null };
    this.channels.set(ch.label, rec);
    const check = () => {
      if (!rec.opened && ch.readyState === 'open') {
        rec.opened = true;
        emit({ ev: 'open', label: ch.label, id: ch.id });
      }
      if (!rec.closed && ch.readyState === 'closed') {
        rec.closed = true;
        clearInterval(rec.poll);
        emit({ ev: 'close', label: ch.label });
      }
    };
    ch.onopen = check;
    ch.onclose = check;
    rec.poll = setInterval(check, 20);
    ch.onerror = (e) => emit({ ev: 'error', cmd: 'channel', label: ch.label,
                               message: String(e && (e.error || e.message) || e) });
    ch.onmessage = (e) => this.received(rec, e.data);
    check();
    return rec;
  }

  received(rec, data) {
    const binary = typeof data !== 'string';
    const bytes = binary ? Buffer.from(data) : Buffer.from(data, 'utf8');
    const t = nowMs();
    if (rec.count === 0) rec.firstMs = t;
    rec.lastMs = t;
    rec.count++;
    rec.bytes += bytes.length;
    if (bytes.length >= 4) {
      const seq = bytes.readUInt32BE(0);
      if (seq !== rec.nextSeq) {
        if (rec.seqGaps === 0) rec.firstGap = { expected: rec.nextSeq, got: seq, atMs: nowMs() - rec.firstMs };
        rec.seqGaps++;
      }
      rec.nextSeq = seq + 1;
    }
    if (rec.mode === 'each') {
      emit({ ev: 'message', label: rec.ch.label, size: bytes.length, hash: sha256(bytes), binary });
    }
  }

  channel(label) {
    const rec = this.channels.get(label);
    if (!rec) throw new Error(`no channel labelled "${label}"`);
    return rec;
  }

  createChannel(c) {
    const init = {};
    for (const k of ['ordered', 'maxRetransmits', 'maxPacketLifeTime', 'negotiated', 'id', 'protocol']) {
      if (c[k] !== undefined && c[k] !== null) init[k] = c[k];
    }
    this.track(this.pc.createDataChannel(c.label ?? '', init));
  }

  async createOffer() {
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    emit({ ev: 'sdp', type: offer.type, sdp: this.pc.localDescription.sdp });
  }

  async setRemote(c) {
    await this.pc.setRemoteDescription({ type: c.type, sdp: c.sdp });
    if (c.type === 'offer') {
      const answer = await this.pc.createAnswer();
      await this.pc.setLocalDescription(answer);
      emit({ ev: 'sdp', type: answer.type, sdp: this.pc.localDescription.sdp });
    }
  }

  async candidate(c) {
    if (!c.candidate) return;  // end of candidates: nothing to add in M106
    await this.pc.addIceCandidate({ candidate: c.candidate, sdpMid: c.sdpMid ?? '0' });
  }

  send(c) {
    const { ch } = this.channel(c.label);
    let bytes;
    if (typeof c.data === 'string') bytes = Buffer.from(c.data, 'base64');
    else bytes = pattern(c.seed ?? 0, c.size ?? 0);
    if (c.text) ch.send(bytes.toString('latin1'));
    else ch.send(bytes);
  }

  // Sends count messages (or as many as fit in durationMs) as fast as the
  // channel drains, then reports "drained" once libwebrtc's queue is empty.
  burst(c) {
    const { ch } = this.channel(c.label);
    const count = c.count ?? Number.MAX_SAFE_INTEGER;
    const deadline = c.durationMs ? nowMs() + c.durationMs : Infinity;
    const msg = pattern(c.seed ?? 0, c.size ?? 0);
    const t0 = nowMs();
    let i = 0;
    let done = false;
    let timer = null;
    let pumps = 0;
    ch.bufferedAmountLowThreshold = BURST_LOW_WATER;
    const pump = () => {
      clearTimeout(timer);
      pumps++;
      if (ch.readyState !== 'open') {
        ch.onbufferedamountlow = null;
        emit({ ev: 'error', cmd: 'burst', label: c.label, message: `channel ${ch.readyState} after ${i} messages` });
        return;
      }
      while (!done && ch.bufferedAmount < BURST_HIGH_WATER) {
        if (i === count || (i % 64 === 0 && nowMs() >= deadline)) {
          done = true;
          break;
        }
        if (msg.length >= 4) msg.writeUInt32BE(i >>> 0, 0);
        ch.send(msg);  // libwebrtc copies synchronously, so msg is reused
        i++;
      }
      if (done && ch.bufferedAmount === 0) {
        ch.onbufferedamountlow = null;
        emit({ ev: 'drained', label: c.label, count: i, ms: nowMs() - t0, pumps });
        return;
      }
      timer = setTimeout(pump, POLL_MS);  // in case the low event never comes
    };
    ch.onbufferedamountlow = pump;
    pump();
  }

  // Switches per-message events on or off and restarts the counters.
  report(c) {
    const r = this.channel(c.label);
    r.mode = c.mode === 'count' ? 'count' : 'each';
    Object.assign(r, { count: 0, bytes: 0, firstMs: 0, lastMs: 0, nextSeq: 0, seqGaps: 0, firstGap: null });
  }

  stats(c) {
    const r = this.channel(c.label);
    const cpu = process.cpuUsage();
    emit({ ev: 'stats', label: c.label, count: r.count, bytes: r.bytes, firstMs: r.firstMs,
           lastMs: r.lastMs, seqGaps: r.seqGaps, firstGap: r.firstGap ?? null, cpuUs: cpu.user + cpu.system,
           bufferedAmount: r.ch.bufferedAmount });
  }

  // Every layer's state and what libwebrtc M106 counts of it, under
  // ours_peer's keys (it has no SCTP counters); datagrams over every pair.
  async diag(c) {
    const e = { ev: 'diag', pc: this.pc.connectionState, ice: this.pc.iceConnectionState };
    for (const s of (await this.pc.getStats()).values()) {
      if (s.type === 'transport' && s.dtlsState) e.dtls = s.dtlsState;
      if (s.type === 'candidate-pair' && s.packetsReceived !== undefined) {
        e.datagramsIn = (e.datagramsIn ?? 0) + s.packetsReceived;
        e.datagramsOut = (e.datagramsOut ?? 0) + (s.packetsSent ?? 0);
      }
    }
    const r = this.channels.get(c.label);
    if (r) Object.assign(e, { channel: r.ch.readyState, messagesIn: r.count, bufferedAmount: r.ch.bufferedAmount });
    emit(e);
  }

  close(c) {
    this.channel(c.label).ch.close();
  }

  closePc() {
    this.pc.close();
    emit({ ev: 'state', connection: 'closed', ice: 'closed' });
  }
}

const peer = new Peer();
const commands = {
  createChannel: (c) => peer.createChannel(c),
  createOffer: () => peer.createOffer(),
  setRemote: (c) => peer.setRemote(c),
  candidate: (c) => peer.candidate(c),
  send: (c) => peer.send(c),
  burst: (c) => peer.burst(c),
  report: (c) => peer.report(c),
  stats: (c) => peer.stats(c),
  diag: (c) => peer.diag(c),
  close: (c) => peer.close(c),
  closePc: () => peer.closePc(),
  exit: () => shutdown(0),
};

function shutdown(code) {
  try { peer.pc.close(); } catch { /* already closed */ }
  process.exit(code);
}

// Commands run in arrival order: an async one (setRemote) finishes before the
// next (candidate) starts.
let queue = Promise.resolve();
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (!line.trim()) return;
  let c;
  try {
    c = JSON.parse(line);
  } catch (e) {
    emit({ ev: 'error', cmd: '', message: `bad JSON: ${e.message}` });
    return;
  }
  const run = commands[c.cmd];
  if (!run) {
    emit({ ev: 'error', cmd: String(c.cmd), message: `unknown command "${c.cmd}"` });
    return;
  }
  queue = queue.then(() => run(c)).catch((e) => {
    emit({ ev: 'error', cmd: c.cmd, message: String(e && e.message || e) });
  });
});
// The driver went away (or closed our stdin): leave with it.
rl.on('close', () => queue.finally(() => shutdown(0)));
emit({ ev: 'ready', pid: process.pid });
