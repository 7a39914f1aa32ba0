// Cross-checks lib/datatrack (through datatrack-tool) against the official
// livekit-client data-track code (bundled from its TypeScript sources), both
// directions, with fixed seeds. Usage: node datatrack_interop.mjs BUNDLE TOOL
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';

const [bundlePath, toolPath] = process.argv.slice(2);
const lk = await import(pathToFileURL(bundlePath).href);
lk.setLogLevel('silent');

const HANDLE = 4242;
const TIMESTAMP = 0xc0ffee11;
const MTU = 16000;
const HEADER = [12, 24, 32, 40]; // by flags: 1 = user timestamp, 2 = E2EE
const chunkOf = (flags) => MTU - HEADER[flags];
const MAX_PACKETS = 128;

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const randInt = (rand, n) => Math.floor(rand() * n);

function randomBytes(rand, n) {
  const b = new Uint8Array(n);
  let x = (randInt(rand, 0xffffffff) | 1) >>> 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

function makeFrame(rand, size, flags) {
  const hi = BigInt(randInt(rand, 0x100000000));
  const lo = BigInt(randInt(rand, 0x100000000));
  return {
    flags,
    userTs: flags & 1 ? (hi << 32n) | lo : 0n,
    keyIndex: flags & 2 ? randInt(rand, 256) : 0,
    iv: flags & 2 ? randomBytes(rand, 12) : new Uint8Array(12),
    payload: randomBytes(rand, size),
  };
}

// ---- records shared with datatrack-tool ----
function u32(n) { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; }
function encodeFrames(frames) {
  const parts = [];
  for (const f of frames) {
    const h = Buffer.alloc(26);
    h.writeUInt32BE(f.payload.length, 0);
    h[4] = f.flags;
    h.writeBigUInt64BE(f.userTs, 5);
    h[13] = f.keyIndex;
    Buffer.from(f.iv).copy(h, 14);
    parts.push(h, Buffer.from(f.payload.buffer, f.payload.byteOffset, f.payload.length));
  }
  return Buffer.concat(parts);
}
function decodeFrames(buf) {
  const frames = [];
  for (let i = 0; i < buf.length;) {
    const len = buf.readUInt32BE(i);
    frames.push({
      flags: buf[i + 4],
      userTs: buf.readBigUInt64BE(i + 5),
      keyIndex: buf[i + 13],
      iv: new Uint8Array(buf.subarray(i + 14, i + 26)),
      payload: new Uint8Array(buf.subarray(i + 26, i + 26 + len)),
    });
    i += 26 + len;
  }
  return frames;
}
const encodePackets = (packets) => Buffer.concat(packets.flatMap((p) => [u32(p.length), Buffer.from(p.buffer, p.byteOffset, p.length)]));
function decodePackets(buf) {
  const packets = [];
  for (let i = 0; i < buf.length;) {
    const len = buf.readUInt32BE(i);
    packets.push(new Uint8Array(buf.subarray(i + 4, i + 4 + len)));
    i += 4 + len;
  }
  return packets;
}

function tool(args, input) {
  const r = spawnSync(toolPath, args, { input, maxBuffer: 1 << 30 });
  assert.equal(r.status, 0, `datatrack-tool ${args.join(' ')} failed: ${r.stderr}`);
  return r;
}
const cppPacketize = (frames) => decodePackets(tool(['packetize', String(HANDLE), String(TIMESTAMP)], encodeFrames(frames)).stdout);
function cppDepacketize(packets, maxPartial = 1) {
  const r = tool(['depacketize', String(maxPartial)], encodePackets(packets));
  return { frames: decodeFrames(r.stdout), drops: JSON.parse(r.stderr.toString()) };
}
const cppParse = (packets) => tool(['parse'], encodePackets(packets)).stdout.toString().trim().split('\n').map((l) => JSON.parse(l));

// ---- the official implementation ----
function tsExtensions(f) {
  return new lk.DataTrackExtensions({
    userTimestamp: f.flags & 1 ? new lk.DataTrackUserTimestampExtension(f.userTs) : undefined,
    e2ee: f.flags & 2 ? new lk.DataTrackE2eeExtension(f.keyIndex, f.iv) : undefined,
  });
}
function tsPacketize(frames) {
  const packetizer = new lk.DataTrackPacketizer(HANDLE, MTU);
  const now = lk.DataTrackTimestamp.fromRtpTicks(TIMESTAMP);
  const out = [];
  for (const f of frames) {
    for (const p of packetizer.packetize({ payload: f.payload, extensions: tsExtensions(f) }, { now })) out.push(p.toBinary());
  }
  return out;
}
function tsDepacketize(packets, maxPartialFrames = 1) {
  const d = new lk.DataTrackDepacketizer();
  const frames = [];
  let dropped = 0;
  for (const bytes of packets) {
    try {
      const [packet] = lk.DataTrackPacket.fromBinary(bytes);
      const f = d.push(packet, { maxPartialFrames, throwOnInterruption: false });
      if (f) {
        const ext = f.extensions;
        frames.push({
          flags: (ext.userTimestamp ? 1 : 0) | (ext.e2ee ? 2 : 0),
          userTs: ext.userTimestamp ? ext.userTimestamp.timestamp : 0n,
          keyIndex: ext.e2ee ? ext.e2ee.keyIndex : 0,
          iv: ext.e2ee ? ext.e2ee.iv : new Uint8Array(12),
          payload: f.payload,
        });
      }
    } catch (e) {
      if (!['DataTrackDepacketizerDropError', 'DataTrackDeserializeError'].includes(e.name)) throw e;
      dropped++;
    }
  }
  return { frames, dropped };
}
const TS_MARKERS = { 0: 'Start', 1: 'Inter', 2: 'Final', 3: 'Single' };
const CPP_MARKERS = ['Inter', 'Final', 'Start', 'Single'];
const hex = (b) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
function tsParse(bytes) {
  try {
    const [p] = lk.DataTrackPacket.fromBinary(bytes);
    const h = p.header;
    return {
      ok: true, marker: TS_MARKERS[h.marker], handle: h.trackHandle, sequence: h.sequence.value,
      frameNumber: h.frameNumber.value, timestamp: h.timestamp.asTicks(),
      userTimestamp: h.extensions.userTimestamp ? String(h.extensions.userTimestamp.timestamp) : null,
      e2ee: h.extensions.e2ee ? `${h.extensions.e2ee.keyIndex}:${hex(h.extensions.e2ee.iv)}` : null,
      payload: hex(p.payload),
    };
  } catch (e) {
    if (e.name !== 'DataTrackDeserializeError') throw e;
    return { ok: false, reason: e.reasonName };
  }
}
const CPP_REASONS = {
  'too short for a header': 'TooShort', 'unsupported version': 'UnsupportedVersion',
  'reserved track handle 0': 'InvalidHandle', 'extension flag set but no extension length': 'MissingExtWords',
  'extension block runs past the packet': 'HeaderOverrun', 'malformed extension': 'MalformedExt',
};

// ---- comparisons ----
const sameBytes = (a, b) => a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;
function sameFrame(a, b) {
  return a.flags === b.flags && a.userTs === b.userTs && a.keyIndex === b.keyIndex && sameBytes(a.iv, b.iv) && sameBytes(a.payload, b.payload);
}
function assertFramesEqual(got, want, what) {
  assert.equal(got.length, want.length, `${what}: ${got.length} frames, want ${want.length}`);
  for (let i = 0; i < want.length; i++) assert.ok(sameFrame(got[i], want[i]), `${what}: frame ${i} differs`);
}
const digest = (f) => createHash('sha1').update(f.payload).update(`${f.flags}:${f.userTs}:${f.keyIndex}:${hex(f.iv)}`).digest('hex');

const summary = [];

// 1. Identical packets for identical frames, and both depacketizers restore them.
const rand = rng(20240601);
const frames = [];
for (let flags = 0; flags < 4; flags++) {
  const c = chunkOf(flags);
  for (const size of [0, 1, c - 1, c, c + 1, 2 * c, 3 * c + 7, MAX_PACKETS * c]) frames.push(makeFrame(rand, size, flags));
}
for (let i = 0; i < 48; i++) {
  const flags = randInt(rand, 4);
  const max = MAX_PACKETS * chunkOf(flags);
  const size = rand() < 0.7 ? randInt(rand, 65536) : Math.min(max, randInt(rand, 2 * 1024 * 1024));
  frames.push(makeFrame(rand, size, flags));
}
for (let i = frames.length - 1; i > 0; i--) { const j = randInt(rand, i + 1); [frames[i], frames[j]] = [frames[j], frames[i]]; }
const totalBytes = frames.reduce((n, f) => n + f.payload.length, 0);
const delivered = frames.filter((f) => f.payload.length > 0); // neither side sends an empty frame

const cppPackets = cppPacketize(frames);
const tsPackets = tsPacketize(frames);
assert.equal(cppPackets.length, tsPackets.length, 'packet count C++ vs TS');
for (let i = 0; i < tsPackets.length; i++) assert.ok(sameBytes(cppPackets[i], tsPackets[i]), `packet ${i} differs between C++ and TS`);
summary.push(`${frames.length} frames (${(totalBytes / 1e6).toFixed(1)} MB, 0 B..${Math.max(...frames.map((f) => f.payload.length))} B, 4 extension sets) -> ${tsPackets.length} packets, byte-identical C++ vs TS`);

const tsFromCpp = tsDepacketize(cppPackets);
assert.equal(tsFromCpp.dropped, 0);
assertFramesEqual(tsFromCpp.frames, delivered, 'C++ packetizer -> TS depacketizer');
const cppFromTs = cppDepacketize(tsPackets);
assertFramesEqual(cppFromTs.frames, delivered, 'TS packetizer -> C++ depacketizer');
assert.equal(Object.values(cppFromTs.drops).reduce((a, b) => a + b, 0), 0);
summary.push(`C++ -> TS depacketizer: ${tsFromCpp.frames.length}/${delivered.length} frames equal; TS -> C++ depacketizer: ${cppFromTs.frames.length}/${delivered.length} frames equal`);

// 2. Loss, duplicates and reordering: both depacketizers deliver exactly the same frames, all intact.
const originals = new Set(delivered.map(digest));
for (const [seed, maxPartial] of [[1, 1], [2, 1], [3, 3], [4, 2]]) {
  const r = rng(seed);
  const perturbed = [];
  for (const p of cppPackets) {
    const x = r();
    if (x < 0.03) continue; // lost
    perturbed.push(p);
    if (x < 0.06) perturbed.push(p); // duplicated
  }
  for (let i = 0; i + 1 < perturbed.length; i++) {
    if (r() < 0.05) [perturbed[i], perturbed[i + 1]] = [perturbed[i + 1], perturbed[i]];
  }
  const ts = tsDepacketize(perturbed, maxPartial);
  const cpp = cppDepacketize(perturbed, maxPartial);
  assertFramesEqual(cpp.frames, ts.frames, `perturbed seed ${seed}`);
  for (const f of cpp.frames) assert.ok(originals.has(digest(f)), `seed ${seed}: delivered a frame that was never sent`);
  const drops = Object.entries(cpp.drops).filter(([, n]) => n).map(([k, n]) => `${k} ${n}`).join(', ');
  summary.push(`loss/dup/reorder seed ${seed} max_partial ${maxPartial}: ${perturbed.length} packets -> both deliver the same ${cpp.frames.length}/${delivered.length} intact frames (C++ drops: ${drops})`);
}

// 3. Frames longer than 128 packets: C++ refuses to send them, both receivers drop TS's packets.
const oversize = [];
for (let flags = 0; flags < 4; flags++) oversize.push(makeFrame(rand, MAX_PACKETS * chunkOf(flags) + 1, flags), makeFrame(rand, 2 * 1024 * 1024, flags));
const refused = cppPacketize(oversize);
assert.equal(refused.length, oversize.length);
assert.ok(refused.every((p) => p.length === 0), 'C++ packetizer must refuse frames over 128 packets');
const oversizePackets = tsPacketize(oversize);
assert.equal(tsDepacketize(oversizePackets).frames.length, 0);
const cppOversize = cppDepacketize(oversizePackets);
assert.equal(cppOversize.frames.length, 0);
assert.equal(cppOversize.drops['too many packets'], oversize.length);
summary.push(`${oversize.length} frames over 128 packets: refused by the C++ packetizer; TS's ${oversizePackets.length} packets dropped by both depacketizers`);

// 4. Malformed packets: rejected by both, for the same reason.
const valid = [0x18, 0, 0x10, 0x92, 0, 1, 0, 2, 0, 0, 0, 3];
const withExt = (block) => [valid[0] | 4, ...valid.slice(1), ...block];
const malformed = [];
for (let n = 0; n < 12; n++) malformed.push(valid.slice(0, n));
for (let v = 1; v < 8; v++) malformed.push([valid[0] | (v << 5), ...valid.slice(1), 9, 9]);
malformed.push([valid[0], 0, 0, 0, ...valid.slice(4)]);
malformed.push(withExt([]), withExt([0]));
malformed.push(withExt([0, 0]), withExt([0, 0, 0]), withExt([0, 5, 0, 0, 0, 0]), withExt([0xff, 0xff, 1, 2]));
malformed.push(withExt([0, 2, 9, 9, 0, 0, 0, 0, 0, 0, 0, 0])); // unknown tag longer than its block
malformed.push(withExt([0, 2, 0, 0, 2, 8, 1, 2, 3, 4, 5, 6])); // timestamp cut short by its block
malformed.push(withExt([0, 2, 1, 13, 7, 1, 2, 3, 4, 5, 6, 7])); // E2EE cut short
const cppRejects = cppParse(malformed.map((m) => Uint8Array.from(m)));
malformed.forEach((m, i) => {
  const ts = tsParse(Uint8Array.from(m));
  assert.equal(ts.ok, false, `malformed case ${i} accepted by TS`);
  assert.equal(cppRejects[i].ok, false, `malformed case ${i} accepted by C++`);
  assert.equal(CPP_REASONS[cppRejects[i].reason], ts.reason, `malformed case ${i}: reasons differ`);
});
summary.push(`${malformed.length} malformed packets (truncated header, version 1-7, handle 0, missing/overrunning extension block, bad TLV lengths): rejected by both for the same reason`);

// 5. Random mutations of valid packets: same verdict, same fields, same reason.
// The only allowed difference: C++ also rejects a known TLV (tag 1/2) whose length is
// shorter than its value or runs past the block, which the TS reader tolerates.
function tsToleratesBadKnownTlv(b) {
  if (b.length < 14 || !(b[0] & 4)) return false;
  const end = Math.min(b.length, 12 + 4 * (((b[12] << 8) | b[13]) + 1));
  for (let i = 14; end - i >= 2;) {
    const tag = b[i], len = b[i + 1];
    i += 2;
    if (tag === 0) continue;
    const need = tag === 1 ? 13 : tag === 2 ? 8 : 0;
    if (need && end - i >= need && (len < need || len > end - i)) return true;
    i += len;
  }
  return false;
}
const mrand = rng(777);
const mutants = [];
for (let i = 0; i < 20000; i++) {
  const flags = randInt(mrand, 4);
  const f = makeFrame(mrand, randInt(mrand, 24), flags);
  const packetizer = new lk.DataTrackPacketizer(1 + randInt(mrand, 65535), MTU);
  const [p] = packetizer.packetize({ payload: f.payload.length ? f.payload : new Uint8Array(1), extensions: tsExtensions(f) }, { now: lk.DataTrackTimestamp.fromRtpTicks(randInt(mrand, 2 ** 32)) });
  let b = Array.from(p.toBinary());
  for (let m = 1 + randInt(mrand, 3); m > 0; m--) {
    const k = randInt(mrand, 4);
    if (k === 0) b = b.slice(0, randInt(mrand, b.length + 1));
    else if (k === 1 && b.length > 13) b[12 + randInt(mrand, 2)] = randInt(mrand, 8);
    else if (b.length) b[randInt(mrand, Math.min(b.length, 44))] = randInt(mrand, 256);
  }
  mutants.push(Uint8Array.from(b));
}
const cppVerdicts = cppParse(mutants);
let agreeAccept = 0, agreeReject = 0, stricter = 0;
mutants.forEach((b, i) => {
  const ts = tsParse(b);
  const cpp = cppVerdicts[i];
  if (ts.ok && cpp.ok) {
    agreeAccept++;
    const { ok: _, ...fields } = cpp;
    assert.deepEqual({ ...fields, marker: CPP_MARKERS[cpp.marker] }, (({ ok: __, ...rest }) => rest)(ts), `mutant ${i} (${hex(b)}) parsed differently`);
  } else if (!ts.ok && !cpp.ok) {
    agreeReject++;
    assert.equal(CPP_REASONS[cpp.reason], ts.reason, `mutant ${i} (${hex(b)}) rejected for different reasons`);
  } else {
    assert.ok(ts.ok && cpp.reason === 'malformed extension' && tsToleratesBadKnownTlv(b), `mutant ${i} (${hex(b)}): TS ${JSON.stringify(ts)} vs C++ ${JSON.stringify(cpp)}`);
    stricter++;
  }
});
summary.push(`${mutants.length} mutated packets: ${agreeAccept} accepted by both with identical fields and payload, ${agreeReject} rejected by both for the same reason, ${stricter} rejected only by C++ (known TLV with a bad length that TS tolerates)`);

console.log('datatrack interop with livekit-client 2.23.0 data-track code:');
for (const line of summary) console.log(`  ${line}`);
