// Official livekit-client (Chromium) <-> test server: a data track from page A reaches page B
// byte-exact, in order, with user timestamps, and its unpublication reaches B too.
//   node roundtrip.mjs [v1|v0|no-v1|ice-lite|publisher-leaves|resume-v1|resume-v0]...
//                      (all when none is named)
//   v1     single peer connection (/rtc/v1, the client's default)
//   v0     singlePeerConnection: false (/rtc, publisher + subscriber PCs)
//   no-v1  server started with --no-v1: the v1 client falls back to /rtc
//   ice-lite  server started with --ice-lite (as livekit-server can be): v1 again
//   publisher-leaves  A disconnects without unpublishing: B sees the track go
//   resume-v1, resume-v0  B's and then A's signalling drops; the session resumes and frames flow
// One Chromium for all cases; run inside scripts/netns-run.sh (WebRTC ignores loopback).
import assert from 'node:assert/strict';
import { runCases, ok } from './lib/run.mjs';
import { connectPair, publishAndSubscribe } from './lib/two-clients.mjs';
import { deliverFrames } from './lib/delivery.mjs';

// paths: signalling WebSockets each client opens; peerConnections: in use at the end;
// serverChannels: data channels the server opens towards a client (v0: on the subscriber PC,
// and data-track packets reach B on the server's _data_track; v1: none, they use B's own).
const V0_CHANNELS = ['_data_track', '_lossy', '_reliable'];
const MODES = {
  v1: { serverFlags: [], singlePeerConnection: true, paths: ['/rtc/v1'], peerConnections: 1, serverChannels: [] },
  v0: { serverFlags: [], singlePeerConnection: false, paths: ['/rtc'], peerConnections: 2, serverChannels: V0_CHANNELS },
  'no-v1': { serverFlags: ['--no-v1'], singlePeerConnection: true, paths: ['/rtc/v1', '/rtc'], peerConnections: 2,
    serverChannels: V0_CHANNELS },
  'ice-lite': { serverFlags: ['--ice-lite'], singlePeerConnection: true, paths: ['/rtc/v1'], peerConnections: 1,
    serverChannels: [] },
};

// A packet is at most 16,000 bytes and its header 24 with a user timestamp (12 without), so
// every frame here from 15,987 B up takes at least two packets (15,976 B is the one-packet
// limit with a timestamp, 15,988 B without; docs/protocol.md §6-7).
const SIZES = [1, 15987, 15988, 16000, 64 * 1024, 1024 * 1024];

// The frames of one attempt (a lost frame makes the sequence go again, see delivery.mjs).
function framesFor(attempt) {
  return SIZES.map((size, i) => ({
    size,
    seed: attempt * 100 + i + 1,
    // Distinct per frame and attempt; the last ones are near the largest u64, so all 64 bits count.
    userTimestamp: (i === SIZES.length - 1 ? 2n ** 64n - 1n - BigInt(attempt)
      : 1764000000000000n + BigInt(attempt * 100 + i)).toString(),
  }));
}

async function roundtrip(scenario, modeName) {
  const mode = MODES[modeName];
  const server = await scenario.startServer(mode.serverFlags);
  const { a, b } = await connectPair(scenario, server, { singlePeerConnection: mode.singlePeerConnection });
  for (const page of [a, b]) {
    assert.deepEqual(page.signallingPaths(), mode.paths, `${page.label}: signalling paths`);
  }

  // A first publishes a track B never subscribes to: the tested track then has publisher handle 2
  // while B's subscriber handle is 1, so frames reach B only if the server rewrites the handle.
  const other = ok(await a.call('publish', 'not-subscribed'), 'A publishDataTrack');
  const name = 'telemetry';
  const { published, seen } = await publishAndSubscribe(a, b, name);
  assert.equal(published.pubHandle, other.pubHandle + 1);
  assert.equal(seen.sid, published.sid, 'B sees the sid A was given');
  assert.equal(seen.name, name);
  assert.equal(seen.publisherIdentity, 'alice');
  assert.equal(seen.usesE2ee, false);
  const announced = (await b.call('roomEvents')).filter((e) => e.type === 'published' && e.name === name);
  assert.deepEqual(announced, [{ type: 'published', sid: published.sid, name, publisher: 'alice', usesE2ee: false }],
    'B got exactly one RoomEvent.DataTrackPublished for this track');

  const { lossNotes } = await deliverFrames(a, b, name, framesFor);
  if (lossNotes.length) console.log(`note (${modeName}): frames lost in transit, re-sent: ${lossNotes.join('; ')}`);

  ok(await a.call('unpublish', name), 'A unpublish');
  const gone = ok(await b.call('awaitUnpublished', 'alice', name, published.sid, 10000), 'B sees unpublish');
  assert.equal(gone.stillListed, false, 'remoteParticipant.dataTracks still lists the track');

  for (const page of [a, b]) {
    // A failed /rtc/v1 attempt leaves its closed peer connection behind: count the others.
    const states = await page.call('peerConnectionStates');
    assert.equal(states.filter((st) => st !== 'closed').length, mode.peerConnections,
      `${page.label}: peer connections in use (states ${JSON.stringify(states)})`);
    assert.deepEqual((await page.call('remoteChannelLabels')).sort(), mode.serverChannels,
      `${page.label}: data channels opened by the server`);
  }

  const exit = await scenario.stopServer(server);
  assert.deepEqual(exit, { code: 0, signal: null }, 'server exits 0 on SIGTERM');
}

// A publisher that leaves without unpublishing: subscribers must see its track go all the same.
async function publisherLeaves(scenario) {
  const server = await scenario.startServer();
  const { a, b } = await connectPair(scenario, server);
  const name = 'telemetry';
  const { published } = await publishAndSubscribe(a, b, name);
  ok(await a.call('disconnect'), 'A disconnect');
  const gone = ok(await b.call('awaitUnpublished', 'alice', name, published.sid, 15000), 'B sees the track go');
  assert.equal(gone.stillListed, false, 'remoteParticipant.dataTracks still lists the track');
}

// The signalling WebSocket drops (the client's own 'signal-reconnect' test hook) and the client
// resumes the session: first B's, then A's. The participants, the publication and the
// subscription must survive (same sids, no unpublish), and frames must flow after each resume.
async function resume(scenario, modeName) {
  const mode = MODES[modeName];
  const server = await scenario.startServer();
  const { a, b, alice, bob } = await connectPair(scenario, server, { singlePeerConnection: mode.singlePeerConnection });
  const name = 'telemetry';
  const { published } = await publishAndSubscribe(a, b, name);
  const frames = (attempt) => [15988, 100].map((size, i) => ({ size, seed: attempt * 10 + i + 1,
    userTimestamp: (1764000000000000n + BigInt(attempt * 10 + i)).toString() }));
  for (const [who, page, sid] of [['B', b, bob.sid], ['A', a, alice.sid]]) {
    ok(await page.call('dropSignalAndAwaitResume', 20000), `${who} resume`);
    assert.equal(await page.call('localSid'), sid, `${who} kept its participant sid (a resume, not a rejoin)`);
    assert.equal(page.signallingPaths().length, mode.paths.length + 1, `${who} opened one more WebSocket`);
    await deliverFrames(a, b, name, frames);
  }
  const events = (await b.call('roomEvents')).filter((e) => e.type === 'unpublished' || e.type === 'disconnected');
  assert.deepEqual(events, [], 'B saw the track unpublished or the room disconnected');
  assert.equal((await b.call('awaitRemoteTrack', 'alice', name, 1000)).ok?.sid, published.sid, 'the track kept its sid');
}

const cases = {
  ...Object.fromEntries(Object.keys(MODES).map((name) => [name, (s) => roundtrip(s, name)])),
  'publisher-leaves': publisherLeaves,
  'resume-v1': (s) => resume(s, 'v1'),
  'resume-v0': (s) => resume(s, 'v0'),
};
await runCases('roundtrip.mjs', cases, process.argv.slice(2), { timeoutMs: 240000 });
