// The telemetry viewer (examples/telemetry-viewer) in headless Chromium: the
// telemetry example (examples/telemetry, a GStreamer pipeline with
// livekitdatasink) sends JSON telemetry at 50 Hz alongside its video; the
// viewer page, served by its own one-line command, subscribes and plots it.
// Passes when the page counts frames, shows every numeric field, and its plot
// moves between two screenshots (kept in LKT_ARTIFACTS, default the system
// temp dir). LKT_TELEMETRY (the example's binary) and LKT_PLUGIN_DIR come from meson.
// The server comes from LKT_SERVER (livekit or sfu). Run in scripts/netns-run.sh.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCases } from '../interop/browser/lib/run.mjs';
import { API_KEY, API_SECRET, SERVER_KIND } from '../interop/browser/lib/test-server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const viewerDir = path.resolve(here, '../../examples/telemetry-viewer');
const artifacts = process.env.LKT_ARTIFACTS ?? os.tmpdir();
const telemetry = process.env.LKT_TELEMETRY ?? path.resolve(here, '../../build/examples/telemetry/telemetry');
const pluginDir = process.env.LKT_PLUGIN_DIR ?? path.resolve(here, '../../build/gst');
const ROOM = 'telemetry-room';

// serve.mjs on a free port; resolves to its base URL.
function startViewerServer(livekitUrl) {
  const child = spawn(process.execPath, [path.join(viewerDir, 'serve.mjs'), '--port', '0'], {
    env: { ...process.env, LIVEKIT_URL: livekitUrl, LIVEKIT_API_KEY: API_KEY, LIVEKIT_API_SECRET: API_SECRET },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+\/)/.exec(out);
      if (m) resolve({ child, url: m[1] });
    });
    child.on('exit', (code) => reject(new Error(`serve.mjs exited with ${code}: ${out}`)));
  });
}

async function viewer(scenario) {
  const server = await scenario.startServer();
  const viewerServer = await startViewerServer(server.url);
  const video = path.join(os.tmpdir(), `lkt-viewer-video-${process.pid}.mkv`);
  let drone = null;
  try {
    drone = spawn(telemetry, ['publish', '--room', ROOM, '--identity', 'drone', '--seconds', '20', '--video', video], {
      env: { ...process.env, GST_PLUGIN_PATH: pluginDir, LIVEKIT_URL: server.url, LIVEKIT_API_KEY: API_KEY,
        LIVEKIT_API_SECRET: API_SECRET },
      stdio: ['ignore', 'ignore', process.env.LOG ? 'inherit' : 'ignore'],
    });

    const page = await scenario.browser.context.newPage();
    page.on('console', (m) => process.env.LOG && console.error(`[viewer] ${m.text()}`));
    await page.goto(`${viewerServer.url}?room=${ROOM}&participant=drone&track=telemetry`);

    await page.waitForFunction(() => window.viewer?.frames > 25, null, { timeout: 20000 });
    const first = await page.screenshot({ path: path.join(artifacts, `telemetry-viewer-${SERVER_KIND}-1.png`) });
    const before = await page.evaluate(() => window.viewer.frames);
    await page.waitForTimeout(1000);
    const second = await page.screenshot({ path: path.join(artifacts, `telemetry-viewer-${SERVER_KIND}-2.png`) });
    const state = await page.evaluate(() => ({ frames: window.viewer.frames, bad: window.viewer.badFrames,
      fields: Object.keys(window.viewer.fields).sort(), status: window.viewer.state, latencyMs: window.viewer.latencyMs }));

    assert.ok(state.frames > before + 20, `the viewer got ${state.frames - before} frames in 1 s at 50 Hz`);
    assert.equal(state.bad, 0, 'frames the viewer could not parse');
    assert.deepEqual(state.fields, ['altitude_m', 'battery', 'heading_deg', 'video_frame', 'video_pts_ns']);
    assert.match(state.status, /showing "telemetry" of drone/);
    assert.ok(state.latencyMs !== null && state.latencyMs < 5000, `latency ${state.latencyMs} ms`);
    assert.ok(!first.equals(second), 'the plot did not move between the screenshots');
    console.log(`viewer: ${state.frames} frames, latency ${state.latencyMs} ms; screenshots in ${artifacts}`);
  } finally {
    drone?.kill('SIGINT');  // ends its pipelines with EOS
    fs.rmSync(video, { force: true });
    viewerServer.child.kill('SIGTERM');
  }
}

await runCases('viewer.mjs', { viewer }, [], { timeoutMs: 90000 });
