// The elements as gst-launch-1.0 users run them, with the official livekit-client 2.23.0 in
// Chromium on the other side, through a LiveKit server (LKT_SERVER: sfu or livekit):
//   sink-to-client  `multifilesrc ! livekitdatasink` (one file, one buffer, one frame) ->
//                   the page receives every frame byte-exact (SHA-256), in order
//   client-to-src   the page publishes -> `livekitdatasrc ! multifilesink` (one frame, one
//                   buffer, one file): every file byte-exact; the page's unpublish ends the
//                   pipeline with EOS (gst-launch-1.0 exits 0)
//   *-e2ee          the same, end-to-end encrypted: the elements' e2ee-passphrase, the client's
//                   ExternalE2EEKeyProvider and E2EE worker with the same passphrase
//   wrong-passphrase  each side with another passphrase: nothing delivered either way, the
//                   failures reported (the client's log, our src's count)
//   ratchet         the client ratchets its key twice while publishing; our src, with
//                   e2ee-ratchet-window=2, follows: every frame byte-exact
//   rotate          the client moves to another passphrase's key at index 3 while publishing;
//                   our src given both keys (e2ee-key-index=3 before the second passphrase)
//                   writes every frame byte-exact, a src with only the first key none after
//   node gst-interop.mjs [sink-to-client|client-to-src|sink-to-client-e2ee|client-to-src-e2ee|
//                         wrong-passphrase|ratchet|rotate]...
// Needs the built plugin (LKT_PLUGIN_DIR, default build/gst). Run inside scripts/netns-run.sh.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCases, ok } from './lib/run.mjs';
import { API_KEY, API_SECRET } from './lib/test-server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const pluginDir = process.env.LKT_PLUGIN_DIR ?? path.resolve(here, '../../../build/gst');
const ROOM = 'gst-interop';
const TRACK = 'telemetry';
const PROBE = Buffer.from('lkt-probe'); // client-page.js counts these apart from frames
const PROBES = 60; // 6 s of probes at 10 Hz: the page's subscription goes live meanwhile
const SIZES = [1, 100, 15976, 15977, 16000, 65536, 300000];
const sha256 = (bytes) => crypto.createHash('sha256').update(bytes).digest('hex');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const PASSPHRASE = 'lkt shared passphrase \u00e9'; // non-ASCII: both sides take UTF-8 bytes
const WRONG_PASSPHRASE = 'lkt another passphrase';
const NEXT_PASSPHRASE = 'lkt next passphrase'; // rotate: the client's second key, at index 3
const e2eeArgs = (passphrase) => (passphrase === null ? [] : [`e2ee-passphrase=${passphrase}`]);

/** gst-launch-1.0 with our plugin and the server's credentials; resolves {code, stderr}. */
function gstLaunch(server, args, env = {}) {
  const child = spawn('gst-launch-1.0', ['-q', ...args], {
    env: { ...process.env, GST_PLUGIN_PATH: pluginDir, LIVEKIT_URL: server.url, LIVEKIT_API_KEY: API_KEY,
      LIVEKIT_API_SECRET: API_SECRET, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const done = new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
  return { child, done };
}

// livekit-server's default drops a subscriber's packets once 100 ms of its measured rate is
// queued, which cuts multi-packet frames that follow a quiet spell (docs/protocol.md §12):
// switched off here, where the elements' byte-exactness is under test, not that rule.
async function sinkToClient(scenario, passphrase = null) {
  const server = await scenario.startServer(['--no-latency-drop']);
  const page = await scenario.newClientPage('client');
  ok(await page.call('connect', server.url, await server.token('client', ROOM), { e2eePassphrase: passphrase }),
    'client connect');
  // The files: probes first, then the frames; identity paces them at 10 buffers a second.
  for (let attempt = 1; ; attempt++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkt-gst-frames-'));
    const frames = SIZES.map((size) => crypto.randomBytes(size));
    [...Array(PROBES).fill(PROBE), ...frames].forEach((bytes, i) =>
      fs.writeFileSync(path.join(dir, `f-${String(i).padStart(4, '0')}.bin`), bytes));
    const gst = gstLaunch(server, ['multifilesrc', `location=${dir}/f-%04d.bin`, 'index=0',
      `stop-index=${PROBES + SIZES.length - 1}`, 'caps=application/octet-stream', '!', 'identity', 'sleep-time=100000',
      '!', 'livekitdatasink', `room=${ROOM}`, `identity=gst-${attempt}`, `track-name=${TRACK}`,
      ...e2eeArgs(passphrase)]);
    ok(await page.call('awaitRemoteTrack', `gst-${attempt}`, TRACK, 20000), 'client sees the track');
    await assertPublishedEncrypted(page, `gst-${attempt}`, passphrase !== null);
    ok(await page.call('subscribe', `gst-${attempt}`, TRACK, { bufferSize: 64 }), 'client subscribe');
    const { code, stderr } = await gst.done;
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0, `gst-launch-1.0 failed: ${stderr}`);
    const got = ok(await page.call('receivedFrames', TRACK, SIZES.length, 10000, 3000), 'client receive');
    assert.ok(got.probes > 0, 'the subscription went live only after the last probe');
    const want = frames.map(sha256);
    const arrived = got.frames.map((f) => f.sha256);
    for (const h of arrived) assert.ok(want.includes(h), 'a frame arrived that was not sent (corrupted?)');
    assert.deepEqual(arrived, want.filter((h) => arrived.includes(h)), 'frames out of order');
    if (arrived.length === want.length) return;
    const lost = SIZES.filter((size, i) => !arrived.includes(want[i]));
    console.log(`note: attempt ${attempt}: lost in transit ${lost.join(', ')} B; sending all again`);
    assert.ok(attempt < 4, 'frames lost in 4 attempts');
  }
}

// The src's pipeline: the track's frames into one file each in `dir`.
const srcToFiles = (server, identity, dir, keyArgs) => gstLaunch(server, ['livekitdatasrc', `room=${ROOM}`,
  `identity=${identity}`, 'participant=client', `track-name=${TRACK}`, ...keyArgs, '!', 'multifilesink',
  `location=${dir}/out-%04d.bin`]);
const filesIn = (dir) => fs.readdirSync(dir).sort().map((f) => fs.readFileSync(path.join(dir, f)));

async function clientToSrc(scenario, passphrase = null, { ratchets = 0, rotate = false } = {}) {
  const server = await scenario.startServer(['--no-latency-drop']);
  const page = await scenario.newClientPage('client');
  ok(await page.call('connect', server.url, await server.token('client', ROOM), { e2eePassphrase: passphrase }),
    'client connect');
  ok(await page.call('publish', TRACK), 'client publish');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkt-gst-out-'));
  const oldDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkt-gst-old-'));
  try {
    const gst = srcToFiles(server, 'gst', dir, [...e2eeArgs(passphrase),
      ...(ratchets ? [`e2ee-ratchet-window=${ratchets}`] : []),
      ...(rotate ? ['e2ee-key-index=3', `e2ee-passphrase=${NEXT_PASSPHRASE}`] : [])]);
    // rotate: a second src with the first key only.
    const oldOnly = rotate ? srcToFiles(server, 'gst-old', oldDir, e2eeArgs(passphrase)) : null;
    const files = () => filesIn(dir);
    // Probes until the src (both srcs) writes one: its subscription is live.
    const live = () => [dir, ...(rotate ? [oldDir] : [])].every((d) => filesIn(d).some((b) => b.equals(PROBE)));
    for (let i = 0; !live(); i++) {
      assert.ok(i < 200, 'a src received none of the probes');
      ok(await page.call('pushProbe', TRACK), 'probe');
      await sleep(100);
    }
    // The client ratchets or rotates (its worker takes the request a moment later), then pushes on.
    for (let i = 0; i < ratchets; i++) {
      ok(await page.call('ratchetKey'), 'client ratchet');
      await sleep(500);
    }
    if (rotate) {
      ok(await page.call('rotateKey', NEXT_PASSPHRASE, 3), 'client rotate');
      await sleep(500);
    }
    let wanted = [];
    for (let attempt = 1; ; attempt++) {
      const frames = SIZES.map((size, i) => ({ size, seed: attempt * 100 + i + 1, userTimestamp: String(1e15 + i) }));
      wanted = ok(await page.call('pushFrames', TRACK, frames), 'client push').map((f) => f.sha256);
      await sleep(2000);
      const got = files().filter((b) => !b.equals(PROBE)).map(sha256);
      if (wanted.every((h) => got.includes(h))) break;
      console.log(`note: attempt ${attempt}: frames lost in transit; pushing all again`);
      assert.ok(attempt < 4, 'frames lost in 4 attempts');
    }
    const got = files().filter((b) => !b.equals(PROBE)).map(sha256);
    for (const h of got) assert.ok(h !== undefined);
    ok(await page.call('unpublish', TRACK), 'client unpublish');
    const { code, stderr } = await gst.done;
    assert.equal(code, 0, `the src did not end with EOS after the unpublish: ${stderr}`);
    const last = got.slice(-SIZES.length);
    assert.deepEqual(last, wanted, 'the last frames written are the last frames pushed, byte-exact and in order');
    if (oldOnly) {
      const old = await oldOnly.done;
      assert.equal(old.code, 0, `the src with the first key only did not end with EOS: ${old.stderr}`);
      const written = filesIn(oldDir).filter((b) => !b.equals(PROBE)).length;
      assert.equal(written, 0, 'frames sealed with the key at index 3 reached a src without it: no rotation?');
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(oldDir, { recursive: true, force: true });
  }
}

/** The client's view of the publication: encrypted (usesE2ee) exactly when we encrypt. */
async function assertPublishedEncrypted(page, identity, encrypted) {
  const event = (await page.call('roomEvents')).find((e) => e.type === 'published' && e.publisher === identity);
  assert.equal(event?.usesE2ee, encrypted, `the client sees usesE2ee=${event?.usesE2ee}`);
}

// Our sink with one passphrase, the client with another: the client gets packets it cannot
// decrypt (its log says so) and delivers nothing. Then the client publishes and our src,
// with the other passphrase, writes nothing, counts the failures and ends with EOS.
async function wrongPassphrase(scenario) {
  const server = await scenario.startServer(['--no-latency-drop']);
  const page = await scenario.newClientPage('client');
  ok(await page.call('connect', server.url, await server.token('client', ROOM), { e2eePassphrase: PASSPHRASE }),
    'client connect');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkt-gst-wrong-'));
  try {
    for (let i = 0; i < PROBES; i++) fs.writeFileSync(path.join(dir, `f-${String(i).padStart(4, '0')}.bin`), PROBE);
    const sink = gstLaunch(server, ['multifilesrc', `location=${dir}/f-%04d.bin`, 'index=0', `stop-index=${PROBES - 1}`,
      'caps=application/octet-stream', '!', 'identity', 'sleep-time=100000', '!', 'livekitdatasink', `room=${ROOM}`,
      'identity=gst-sink', `track-name=${TRACK}`, ...e2eeArgs(WRONG_PASSPHRASE)]);
    ok(await page.call('awaitRemoteTrack', 'gst-sink', TRACK, 20000), 'client sees the track');
    ok(await page.call('subscribe', 'gst-sink', TRACK, { bufferSize: 64 }), 'client subscribe');
    const sent = await sink.done;
    assert.equal(sent.code, 0, `gst-launch-1.0 failed: ${sent.stderr}`);
    const got = ok(await page.call('receivedFrames', TRACK, 1, 3000), 'client receive');
    assert.equal(got.probes + got.frames.length, 0, 'the client delivered frames sealed with another passphrase');
    const failures = page.console.filter((line) => line.includes('Error decrypting packet')).length;
    assert.ok(failures > 0, 'the client reported no decryption failure: did any packet arrive?');
    console.log(`note: the client reported ${failures} decryption failures and delivered nothing`);

    ok(await page.call('publish', TRACK), 'client publish');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir);
    const src = gstLaunch(server, ['livekitdatasrc', `room=${ROOM}`, 'identity=gst-src', 'participant=client',
      `track-name=${TRACK}`, ...e2eeArgs(WRONG_PASSPHRASE), '!', 'multifilesink', `location=${dir}/out-%04d.bin`],
    { GST_DEBUG: 'livekit-room:4', GST_DEBUG_NO_COLOR: '1' });
    for (let i = 0; i < PROBES; i++) {
      ok(await page.call('pushProbe', TRACK), 'probe');
      await sleep(100);
    }
    ok(await page.call('unpublish', TRACK), 'client unpublish');
    const { code, stderr } = await src.done;
    assert.equal(code, 0, `the src did not end with EOS after the unpublish: ${stderr}`);
    assert.deepEqual(fs.readdirSync(dir), [], 'the src wrote frames sealed with another passphrase');
    assert.match(stderr, /frame dropped: E2EE authentication failed/, 'the src did not report the failures');
    assert.doesNotMatch(stderr, /lkt (shared|another) passphrase/, 'a passphrase reached the log');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await runCases('gst-interop.mjs', {
  'sink-to-client': (s) => sinkToClient(s),
  'client-to-src': (s) => clientToSrc(s),
  'sink-to-client-e2ee': (s) => sinkToClient(s, PASSPHRASE),
  'client-to-src-e2ee': (s) => clientToSrc(s, PASSPHRASE),
  'wrong-passphrase': wrongPassphrase,
  ratchet: (s) => clientToSrc(s, PASSPHRASE, { ratchets: 2 }),
  rotate: (s) => clientToSrc(s, PASSPHRASE, { rotate: true }),
}, process.argv.slice(2), { timeoutMs: 240000 });
