// Baseline throughput of the official client through the real livekit-server (when it is
// built) and the test server, side by side in one run: page A pushes a fixed
// number of frames as fast as livekit-client's flow control allows, page B counts what arrives.
// A first row pair measures two peer connections inside one page (no server) for scale.
// Prints a table; the figures are not asserted, but a run where nothing arrives fails.
//   node throughput.mjs [frames of 16 KB, default 1000] [frames of 64 KiB, default 250]
// Run inside scripts/netns-run.sh.
import os from 'node:os';
import { runCases, ok } from './lib/run.mjs';
import { connectPair, publishAndSubscribe } from './lib/two-clients.mjs';
import { serverUnavailable } from './lib/test-server.mjs';

const count16k = Number(process.argv[2] ?? 1000);
const count64k = Number(process.argv[3] ?? 250);
const RUNS = [
  { size: 16000, count: count16k },
  { size: 64 * 1024, count: count64k },
];
const MODES = [
  { label: 'v1 (1 PC)', singlePeerConnection: true },
  { label: 'v0 (2 PCs)', singlePeerConnection: false },
];
const SERVERS = [
  { kind: 'livekit', label: 'livekit-server 1.13.5' },
  { kind: 'sfu', label: 'test server' },
];

async function measure(a, b, { size, count }) {
  const name = `bulk-${size}`;
  await publishAndSubscribe(a, b, name, { bufferSize: count, hashFrames: false });
  const sent = ok(await a.call('pushBurst', name, size, count), 'A burst');
  const got = ok(await b.call('receivedFrames', name, count, 60000, 3000), 'B receive');
  ok(await a.call('unpublish', name), 'A unpublish');
  const frames = got.frames;
  const seconds = frames.length ? (frames[frames.length - 1].at - sent.startedAt) / 1000 : NaN;
  const bytes = frames.reduce((n, f) => n + f.size, 0);
  return {
    size, sent: count - sent.dropped, received: frames.length,
    lost: count - frames.length, mbps: bytes / 1e6 / seconds, fps: frames.length / seconds,
  };
}

// The same sizes and counts between two peer connections in one page: the ceiling this
// machine gives Chromium right now, to read the rows through the server against.
async function measureDirect(page, { size, count }) {
  const r = ok(await page.call('directBurst', size, count), 'direct burst');
  const seconds = (r.lastAt - r.startedAt) / 1000;
  return { mode: 'Chromium direct, no server', size, sent: count, received: r.received, lost: count - r.received,
    mbps: (r.received * size) / 1e6 / seconds, fps: r.received / seconds };
}

async function throughput(scenario) {
  const rows = [];
  const page = await scenario.newClientPage('direct');
  for (const run of RUNS) rows.push(await measureDirect(page, run));
  for (const { kind, label } of SERVERS) {
    const why = serverUnavailable(kind);
    if (why) {
      console.log(`no rows through the ${label}: ${why}`);
      continue;
    }
    for (const mode of MODES) {
      const server = await scenario.startServer([], { kind });
      const { a, b } = await connectPair(scenario, server, { singlePeerConnection: mode.singlePeerConnection });
      for (const run of RUNS) rows.push({ mode: `${label}, ${mode.label}`, ...(await measure(a, b, run)) });
      await a.call('disconnect');
      await b.call('disconnect');
      await scenario.stopServer(server);
    }
  }

  const load = os.loadavg().map((x) => x.toFixed(1)).join(' ');
  console.log(`\nlivekit-client 2.23.0 (Chromium) -> server -> livekit-client, one frame stream `
    + `(load average ${load} on ${os.cpus().length} CPUs)`);
  console.log('| path | frame bytes | frames pushed | received | lost | MB/s | frames/s |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.mode} | ${r.size} | ${r.sent} | ${r.received} | ${r.lost} (${(100 * r.lost / r.sent).toFixed(1)}%) `
      + `| ${r.mbps.toFixed(1)} | ${r.fps.toFixed(0)} |`);
  }
  const empty = rows.filter((r) => !(r.received > 0));
  if (empty.length) throw new Error(`no frame arrived for: ${empty.map((r) => `${r.mode} ${r.size} B`).join(', ')}`);
}

await runCases('throughput.mjs', { throughput }, [], { timeoutMs: 240000 });
