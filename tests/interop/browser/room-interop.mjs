// Our lib/room (tests/interop/room/room_peer.cpp) and the official livekit-client 2.23.0 in
// Chromium, in one room through a LiveKit server (LKT_SERVER: sfu or livekit): frames go
// byte-exact (SHA-256), in order, with their 64-bit user timestamps, both ways.
//   node room-interop.mjs [ours-to-client-{v1,v0,fallback}|client-to-ours-{v1,v0,fallback}]...
//   v1        both sides on /rtc/v1 (single peer connection)
//   v0        both sides on /rtc (publisher + subscriber peer connections)
//   fallback  a server without /rtc/v1 (tests/sfu --no-v1; livekit-server behind a v0-only
//             proxy): ours asks for auto, the client for v1, and both fall back to /rtc
// Run inside scripts/netns-run.sh (WebRTC ignores loopback).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { runCases, ok } from './lib/run.mjs';
import { checkDelivery } from './lib/delivery.mjs';

const ROOM = 'room-interop';
const TRACK = 'telemetry';
const PROBE = 'lkt-probe'; // the pages' "is the subscription live yet?" frame (client-page.js)
const PROBE_SHA256 = crypto.createHash('sha256').update(PROBE).digest('hex');

const MODES = {
  v1: { serverFlags: [], ours: 'v1', oursUses: 'v1', singlePeerConnection: true, clientPaths: ['/rtc/v1'] },
  v0: { serverFlags: [], ours: 'v0', oursUses: 'v0', singlePeerConnection: false, clientPaths: ['/rtc'] },
  fallback: { serverFlags: ['--no-v1'], ours: 'auto', oursUses: 'v0', singlePeerConnection: true,
    clientPaths: ['/rtc/v1', '/rtc'] },
};

// Packets are at most 16,000 bytes; the header is 12 bytes, 24 with a user timestamp
// (docs/protocol.md §6-7). So with a timestamp 15,976 B is the most one packet carries and
// 15,977 B the least that needs two (15,988 B is that limit without one); `max` (from our peer,
// 128 × 15,976 B) is the largest frame that fits 128 packets. A 0 B frame goes first: both
// livekit-client 2.23.0 and lib/datatrack accept it and send no packet for it (§7), so it must
// never arrive, and the frames after it must.
const sizesFor = (max) => [0, 1, 15976, 15977, 15987, 15988, 16000, 64 * 1024, 1024 * 1024, max];

// One attempt's frames; user timestamps near 2^64 so all 64 bits count, distinct per attempt.
function framesFor(sizes, attempt) {
  return sizes.map((size, i) => ({
    size,
    seed: attempt * 100 + i + 1,
    userTimestamp: (2n ** 64n - 1n - BigInt(attempt * 100 + i) * 0x1_0000_0001n).toString(),
  }));
}

/** Both sides joined: our peer as "ours", the official client as "client". */
async function join(scenario, modeName) {
  const mode = MODES[modeName];
  const server = await scenario.startServer(mode.serverFlags);
  const ours = scenario.startRoomPeer('ours');
  const page = await scenario.newClientPage('client');
  const [joined, connected] = await Promise.all([
    ours.request({ cmd: 'join', url: server.url, token: await server.token('ours', ROOM), signalling: mode.ours },
      'joined'),
    page.call('connect', server.url, await server.token('client', ROOM),
      { singlePeerConnection: mode.singlePeerConnection }),
  ]);
  ok(connected, 'client connect');
  assert.equal(joined.signalling, mode.oursUses, 'our signalling');
  assert.deepEqual(page.signallingPaths(), mode.clientPaths, 'the client\'s signalling paths');
  return { server, ours, page, joined };
}

/**
 * Sends framesOf(0) back to back; a frame lost in transit is sent again alone (with the seed and
 * user timestamp of framesOf(attempt)), up to `maxAttempts` in all. A corrupted, reordered or
 * foreign frame, or a 0 B frame arriving, fails at once. Returns notes on the losses.
 * Through livekit-server, frames from us to Chromium are lost often (a lone 2 MB frame up to ~40%
 * of the time on a busy 2-core machine; the kernel drops no UDP datagram): the server drops a
 * subscriber's data-track packets while its channel buffers more than max(100 ms of its bitrate,
 * 8 KiB) (docs/protocol.md §9), which our packets, coming back to back faster than Chromium
 * drains them, reach more often than the official client's; and chunks are given up on the
 * unretransmitted channel. Hence 8 attempts.
 */
async function deliver(send, receive, framesOf, maxAttempts = 8) {
  const lossNotes = [];
  let pending = framesOf(0).map((_, i) => i); // indexes not delivered yet
  for (let attempt = 0; attempt < maxAttempts && pending.length; attempt++) {
    const frames = framesOf(attempt);
    const lost = [];
    for (const batch of attempt === 0 ? [pending] : pending.map((i) => [i])) {
      const pushed = await send(batch.map((i) => frames[i]));
      const empty = pushed.filter((f) => f.size === 0).map((f) => f.userTimestamp);
      const { sent, got } = await receive(pushed.filter((f) => f.size > 0));
      assert.ok(!got.some((f) => empty.includes(f.userTimestamp)), 'a 0 B frame arrived');
      const missing = new Set(checkDelivery(sent, got).map((f) => f.userTimestamp));
      lost.push(...batch.filter((i) => missing.has(frames[i].userTimestamp)));
    }
    if (lost.length) lossNotes.push(`attempt ${attempt + 1} lost ${lost.map((i) => `${frames[i].size} B`).join(', ')}`);
    pending = lost;
  }
  if (pending.length) throw new Error(`frames never delivered in ${maxAttempts} attempts: ${lossNotes.join('; ')}`);
  return lossNotes;
}

// Our peer publishes (with a frame encoding and a schema); the client subscribes and receives.
async function oursToClient(scenario, modeName) {
  const { ours, page, joined } = await join(scenario, modeName);
  const published = await ours.request({ cmd: 'publish', name: TRACK, encoding: 'WELL_KNOWN_FRAME_ENCODING_JSON',
    schema: { name: 'lkt.Telemetry', encoding: 'WELL_KNOWN_SCHEMA_ENCODING_JSON_SCHEMA' } }, 'published');
  const seen = ok(await page.call('awaitRemoteTrack', 'ours', TRACK, 15000), 'client dataTracks.getDeferred');
  assert.equal(seen.sid, published.sid, 'the client sees the sid the server gave us');
  assert.equal(seen.publisherIdentity, 'ours');
  assert.equal(seen.usesE2ee, false);
  // The server's answer echoes what our publish request carried; livekit-client 2.23.0 keeps
  // neither in its track info (sid, pubHandle, name, usesE2ee), so the page cannot check them.
  assert.equal(published.encoding, 'WELL_KNOWN_FRAME_ENCODING_JSON', 'the encoding the server recorded');
  assert.deepEqual(published.schema, { name: 'lkt.Telemetry', encoding: 'WELL_KNOWN_SCHEMA_ENCODING_JSON_SCHEMA' },
    'the schema the server recorded');
  console.log(`note (${modeName}): livekit-client's track info has only ${seen.infoFields.join(', ')}: `
    + 'no frame encoding or schema to compare');
  ok(await page.call('subscribe', 'ours', TRACK), 'client subscribe');

  // The client does not say when its subscription is live: probe until one arrives.
  for (let i = 0; (await page.call('receivedProbes', TRACK)) === 0; i++) {
    assert.ok(i < 150, 'the client received none of our probe frames');
    await ours.request({ cmd: 'push', name: TRACK, text: PROBE }, 'pushed');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const lossNotes = await deliver(
    async (frames) => {
      await page.call('clearFrames', TRACK);
      const expected = ok(await page.call('payloadDigests', frames), 'client payloadDigests');
      for (const [i, f] of frames.entries()) {
        const pushed = await ours.request({ cmd: 'push', name: TRACK, ...f }, 'pushed');
        assert.equal(pushed.sha256, expected[i].sha256, `our payload generator differs from the page's (${f.size} B)`);
      }
      return expected;
    },
    async (sent) => {
      const got = ok(await page.call('receivedFrames', TRACK, sent.length, 15000, 3000), 'client receive');
      assert.equal(got.end, null, `the client's stream ended early: ${JSON.stringify(got.end)}`);
      return { sent, got: got.frames };
    },
    (attempt) => framesFor(sizesFor(joined.maxFrameSize), attempt));
  if (lossNotes.length) console.log(`note (${modeName}): frames lost in transit, re-sent: ${lossNotes.join('; ')}`);
  await assert.rejects(ours.request({ cmd: 'push', name: TRACK, size: joined.maxFrameSize + 1, seed: 1,
    userTimestamp: '1' }, 'pushed'), /128 packets/, 'one byte over the largest frame is refused');

  await ours.request({ cmd: 'unpublish', name: TRACK }, 'unpublished');
  const gone = ok(await page.call('awaitUnpublished', 'ours', TRACK, published.sid, 10000), 'client sees unpublish');
  assert.equal(gone.stillListed, false, 'remoteParticipant.dataTracks still lists the track');
  assert.deepEqual(await ours.stop(), { code: 0, signal: null }, 'our peer exits 0 at stdin EOF');
}

// The client publishes; our peer subscribes and receives.
async function clientToOurs(scenario, modeName) {
  const { ours, page, joined } = await join(scenario, modeName);
  const published = ok(await page.call('publish', TRACK), 'client publishDataTrack');
  ours.clearFrames(TRACK);
  ours.child.stdin.write(JSON.stringify({ cmd: 'subscribe', identity: 'client', name: TRACK }) + '\n');
  const active = await ours.waitFor('active', (e) => e.ev === 'active' || e.ev === 'ended' || e.ev === 'error');
  assert.equal(active.ev, 'active', `our subscription: ${JSON.stringify(active)}`);
  assert.equal(active.sid, published.sid, 'we see the sid the server gave the client');
  assert.equal(active.encoding, undefined, 'the client publishes no frame encoding');

  for (let i = 0; !(ours.frames.get(TRACK) ?? []).some((f) => f.sha256 === PROBE_SHA256); i++) {
    assert.ok(i < 150, 'we received none of the client\'s probe frames');
    ok(await page.call('pushProbe', TRACK), 'client probe push');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const lossNotes = await deliver(
    async (frames) => {
      ours.clearFrames(TRACK);
      return ok(await page.call('pushFrames', TRACK, frames), 'client tryPush');
    },
    async (sent) => {
      const got = await ours.receivedFrames(TRACK, sent.length);
      // The client's frame numbers, as we report them: one per frame pushed, the 0 B one included.
      const numbers = got.map((f) => f.frameNumber);
      if (got.length === sent.length) {
        assert.deepEqual(numbers, numbers.map((_, i) => (numbers[0] + i) % 65536), 'consecutive frame numbers');
      }
      return { sent, got };
    },
    (attempt) => framesFor(sizesFor(joined.maxFrameSize), attempt));
  if (lossNotes.length) console.log(`note (${modeName}): frames lost in transit, re-sent: ${lossNotes.join('; ')}`);

  ok(await page.call('unpublish', TRACK), 'client unpublish');
  const ended = await ours.waitFor('ended', (e) => e.ev === 'ended' && e.name === TRACK, 10000);
  assert.equal(ended.reason, 'the track was unpublished');
  assert.deepEqual(await ours.stop(), { code: 0, signal: null }, 'our peer exits 0 at stdin EOF');
}

const cases = {};
for (const mode of Object.keys(MODES)) {
  cases[`ours-to-client-${mode}`] = (s) => oursToClient(s, mode);
  cases[`client-to-ours-${mode}`] = (s) => clientToOurs(s, mode);
}
await runCases('room-interop.mjs', cases, process.argv.slice(2), { timeoutMs: 110000 });
