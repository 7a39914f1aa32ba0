// Official livekit-client (Chromium) <-> test server: a data track from page A reaches page B
// byte-exact, in order, with user timestamps, and its unpublication reaches B too.
//   node roundtrip.mjs v1      single peer connection (/rtc/v1, the client's default)
//   node roundtrip.mjs v0      singlePeerConnection: false (/rtc, publisher + subscriber PCs)
//   node roundtrip.mjs no-v1   server started with --no-v1: the v1 client falls back to /rtc
// Run inside scripts/netns-run.sh (WebRTC ignores loopback).
import assert from 'node:assert/strict';
import { runScenario, ok } from './lib/run.mjs';
import { connectPair, publishAndSubscribe } from './lib/two-clients.mjs';

const MODES = {
  v1: { serverFlags: [], singlePeerConnection: true, paths: ['/rtc/v1'], peerConnections: 1 },
  v0: { serverFlags: [], singlePeerConnection: false, paths: ['/rtc'], peerConnections: 2 },
  'no-v1': { serverFlags: ['--no-v1'], singlePeerConnection: true, paths: ['/rtc/v1', '/rtc'], peerConnections: 2 },
};

// 15,987 B is the largest payload that fits one 16,000-byte packet together with the 12-byte
// header and the user-timestamp extension; 15,988 B is the smallest that needs two.
const SIZES = [1, 15987, 15988, 16000, 64 * 1024, 1024 * 1024];
const FRAMES = SIZES.map((size, i) => ({
  size,
  seed: i + 1,
  // Distinct per frame; the last one is the largest u64 to prove all 64 bits survive.
  userTimestamp: i === SIZES.length - 1 ? (2n ** 64n - 1n).toString() : (1764000000000000n + BigInt(i)).toString(),
}));

const mode = MODES[process.argv[2]];
if (!mode) {
  console.error(`usage: roundtrip.mjs ${Object.keys(MODES).join('|')}`);
  process.exit(2);
}

await runScenario(`roundtrip ${process.argv[2]}`, async (scenario) => {
  const server = await scenario.startServer(mode.serverFlags);
  const { a, b } = await connectPair(scenario, server, { singlePeerConnection: mode.singlePeerConnection });
  for (const page of [a, b]) {
    assert.deepEqual(page.signallingPaths(), mode.paths, `${page.label}: signalling paths`);
  }

  const name = 'telemetry';
  const { published, seen } = await publishAndSubscribe(a, b, name);
  assert.equal(seen.sid, published.sid, 'B sees the sid A was given');
  assert.equal(seen.name, name);
  assert.equal(seen.publisherIdentity, 'alice');
  assert.equal(seen.usesE2ee, false);
  const announced = (await b.call('roomEvents')).filter((e) => e.type === 'published');
  assert.deepEqual(announced, [{ type: 'published', sid: published.sid, name, publisher: 'alice' }],
    'B got exactly one RoomEvent.DataTrackPublished, for this track');

  const sent = ok(await a.call('pushFrames', name, FRAMES), 'A tryPush');
  const got = ok(await b.call('receivedFrames', name, FRAMES.length, 15000), 'B receive');
  assert.equal(got.end, null, `B's stream ended early: ${JSON.stringify(got.end)}`);
  const summary = (frames) => frames.map((f) => `${f.size}@${f.userTimestamp}`).join(' ');
  assert.equal(summary(got.frames), summary(sent), 'frame sizes, order and user timestamps');
  got.frames.forEach((f, i) => assert.equal(f.sha256, sent[i].sha256, `payload of frame ${i} (${f.size} B)`));

  ok(await a.call('unpublish', name), 'A unpublish');
  const gone = ok(await b.call('awaitUnpublished', 'alice', name, published.sid, 10000), 'B sees unpublish');
  assert.equal(gone.stillListed, false, 'remoteParticipant.dataTracks still lists the track');

  for (const page of [a, b]) {
    assert.equal(await page.call('peerConnectionsCreated'), mode.peerConnections, `${page.label}: peer connections created`);
  }

  const exit = await scenario.stopServer(server);
  assert.deepEqual(exit, { code: 0, signal: null }, 'server exits 0 on SIGTERM');
}, { timeoutMs: 60000 });
