// The elements as gst-launch-1.0 users run them, with the official livekit-client 2.23.0 in
// Chromium on the other side, through a LiveKit server (LKT_SERVER: sfu or livekit):
//   sink-to-client  `multifilesrc ! livekitdatasink` (one file, one buffer, one frame) ->
//                   the page receives every frame byte-exact (SHA-256), in order
//   client-to-src   the page publishes -> `livekitdatasrc ! multifilesink` (one frame, one
//                   buffer, one file): every file byte-exact; the page's unpublish ends the
//                   pipeline with EOS (gst-launch-1.0 exits 0)
//   node gst-interop.mjs [sink-to-client|client-to-src]...
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

/** gst-launch-1.0 with our plugin and the server's credentials; resolves {code, stderr}. */
function gstLaunch(server, args) {
  const child = spawn('gst-launch-1.0', ['-q', ...args], {
    env: { ...process.env, GST_PLUGIN_PATH: pluginDir, LIVEKIT_URL: server.url, LIVEKIT_API_KEY: API_KEY,
      LIVEKIT_API_SECRET: API_SECRET },
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
async function sinkToClient(scenario) {
  const server = await scenario.startServer(['--no-latency-drop']);
  const page = await scenario.newClientPage('client');
  ok(await page.call('connect', server.url, await server.token('client', ROOM)), 'client connect');
  // The files: probes first, then the frames; identity paces them at 10 buffers a second.
  for (let attempt = 1; ; attempt++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkt-gst-frames-'));
    const frames = SIZES.map((size) => crypto.randomBytes(size));
    [...Array(PROBES).fill(PROBE), ...frames].forEach((bytes, i) =>
      fs.writeFileSync(path.join(dir, `f-${String(i).padStart(4, '0')}.bin`), bytes));
    const gst = gstLaunch(server, ['multifilesrc', `location=${dir}/f-%04d.bin`, 'index=0',
      `stop-index=${PROBES + SIZES.length - 1}`, 'caps=application/octet-stream', '!', 'identity', 'sleep-time=100000',
      '!', 'livekitdatasink', `room=${ROOM}`, `identity=gst-${attempt}`, `track-name=${TRACK}`]);
    ok(await page.call('awaitRemoteTrack', `gst-${attempt}`, TRACK, 20000), 'client sees the track');
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

async function clientToSrc(scenario) {
  const server = await scenario.startServer(['--no-latency-drop']);
  const page = await scenario.newClientPage('client');
  ok(await page.call('connect', server.url, await server.token('client', ROOM)), 'client connect');
  ok(await page.call('publish', TRACK), 'client publish');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkt-gst-out-'));
  try {
    const gst = gstLaunch(server, ['livekitdatasrc', `room=${ROOM}`, 'identity=gst', 'participant=client',
      `track-name=${TRACK}`, '!', 'multifilesink', `location=${dir}/out-%04d.bin`]);
    const files = () => fs.readdirSync(dir).sort().map((f) => fs.readFileSync(path.join(dir, f)));
    // Probes until the src writes one: its subscription is live.
    for (let i = 0; !files().some((b) => b.equals(PROBE)); i++) {
      assert.ok(i < 200, 'the src received none of the probes');
      ok(await page.call('pushProbe', TRACK), 'probe');
      await sleep(100);
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
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await runCases('gst-interop.mjs', { 'sink-to-client': sinkToClient, 'client-to-src': clientToSrc },
  process.argv.slice(2), { timeoutMs: 150000 });
