// Builds of the elements side by side: sink -> src through livekit-server with small frames,
// the builds taking turns in one run (a before/after comparison on a machine whose load moves).
// Each round measures every build once, in a rotated order, each on a fresh server:
//   - throughput: COUNT frames of SIZE bytes pushed as fast as the sink takes them (frames/s,
//     frames lost, CPU seconds of each side per 100,000 frames);
//   - latency: SIZE-byte frames at 1,000 a second for 2 s (p50, p99), to show that batching
//     holds no frame back at a low rate (not for a build pushing lists: a list waits to fill).
// Then the medians, and each build's median frames/s as a ratio of the first build's.
//
//   scripts/netns-run.sh node bench/e2e/ab.mjs [--rounds=3] [--size=100] [--count=30000] [--room]
//                                              LABEL=DIR[:LIST] ...
// DIR holds a build's plugin in DIR/gst (a meson build directory does) and, if it has one,
// DIR/bench/e2e/gst_peer (else build/'s gst_peer runs). :LIST makes the sender push buffer
// lists of LIST frames (gst_peer's LKT_E2E_LIST: the sink's render_list). --room adds a row
// for lib/room -> lib/room from build/ (bench/e2e/room_peer): the library without GStreamer.
// Example (docs/benchmarks.md): before=/tmp/before after=build after-lists=build:64
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestServer, serverUnavailable } from '../../tests/interop/browser/lib/test-server.mjs';
import { PEERS, PeerProcess, waitLive } from './peer_process.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => Number(args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const ROUNDS = option('rounds', 3);
const SIZE = option('size', 100);
const COUNT = option('count', 30000);
const LATENCY = { rate: 1000, count: 2000 };
const IDLE_MS = 3000;

function parseBuild(spec) {
  const match = /^([^=]+)=([^:]+)(?::(\d+))?$/.exec(spec);
  if (!match) throw new Error(`${spec}: expected LABEL=DIR[:LIST]`);
  const [, label, dir, list] = match;
  const program = path.resolve(dir, 'bench/e2e/gst_peer');
  if (!fs.existsSync(path.resolve(dir, 'gst'))) throw new Error(`${spec}: no ${dir}/gst`);
  return {
    label, kind: 'gst',
    build: {
      program: fs.existsSync(program) ? program : PEERS.gst,
      pluginDir: path.resolve(dir, 'gst'),
      env: { GST_REGISTRY: path.join(REGISTRIES, `${label.replace(/\W/g, '_')}.bin`), ...(list ? { LKT_E2E_LIST: list } : {}) },
    },
  };
}

const SPECS = args.filter((a) => !a.startsWith('--'));
if (!SPECS.length) {
  console.error('usage: ab.mjs [--rounds=N] [--size=B] [--count=N] [--room] LABEL=DIR[:LIST] ...');
  process.exit(2);
}
let BUILDS = [];
// A registry per build (two builds' plugins have the same name), removed at the end.
const REGISTRIES = fs.mkdtempSync(path.join(os.tmpdir(), 'ab-registries-'));

/** CPU seconds (user + system) of one process so far. */
function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ
}

async function measure(b, round) {
  const server = await TestServer.start([], { kind: 'livekit' });
  const room = `ab-${round}-${BUILDS.indexOf(b)}`;
  const tx = new PeerProcess('send', b.kind, server, room, 'tx', undefined, b.build);
  const rx = new PeerProcess('recv', b.kind, server, room, 'rx', 'tx', b.build);
  try {
    await waitLive(tx, rx);
    await rx.collect(1e9, 60000, 300); // the probes
    const [tx0, rx0] = [cpuSeconds(tx.child.pid), cpuSeconds(rx.child.pid)];
    const pushed = await tx.push(SIZE, COUNT, 0);
    const got = await rx.collect(COUNT, 120000, IDLE_MS);
    const per100k = (cpu) => (cpu * 100000) / Math.max(1, got.received);
    const result = {
      fps: got.received / ((got.lastAt - pushed.startedAt) / 1000),
      lost: COUNT - got.received,
      corrupted: got.corrupted,
      txCpu: per100k(cpuSeconds(tx.child.pid) - tx0),
      rxCpu: per100k(cpuSeconds(rx.child.pid) - rx0),
    };
    if (b.build.env?.LKT_E2E_LIST) return result;
    await rx.collect(1e9, 60000, 300);
    await tx.push(SIZE, LATENCY.count, LATENCY.rate);
    const timed = await rx.collect(LATENCY.count, 60000, IDLE_MS);
    result.p50 = timed.latency[50];
    result.p99 = timed.latency[99];
    result.timedLost = LATENCY.count - timed.received;
    return result;
  } finally {
    await rx.close();
    await tx.close();
    await server.stop();
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fixed = (x, digits = 0) => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

async function main() {
  BUILDS = SPECS.map(parseBuild);
  if (args.includes('--room')) BUILDS.push({ label: 'lib/room', kind: 'room', build: {} });
  const why = serverUnavailable('livekit');
  if (why) throw new Error(`needs livekit-server: ${why}`);
  const results = new Map(BUILDS.map((b) => [b.label, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < BUILDS.length; i++) {
      const b = BUILDS[(i + round) % BUILDS.length];
      const r = await measure(b, round);
      console.error(`round ${round + 1} ${b.label}: ${fixed(r.fps)} frames/s, ${r.lost} lost, load ${os.loadavg()[0].toFixed(1)}`);
      results.get(b.label).push(r);
    }
  }
  const load = os.loadavg().map((x) => x.toFixed(1)).join(' ');
  console.log(`\n## ${SIZE}-B frames sink -> src through livekit-server, ${ROUNDS} rounds, builds alternating `
    + `(${COUNT} frames a measurement; load average at the end ${load})\n`);
  console.log('| build | frames/s each round | median | vs first | lost | CPU s / 100k frames (tx / rx) | p50 / p99 at 1,000/s (ms) |');
  console.log('|---|---|---:|---:|---:|---|---|');
  const first = median(results.get(BUILDS[0].label).map((r) => r.fps));
  for (const b of BUILDS) {
    const rs = results.get(b.label);
    const fps = median(rs.map((r) => r.fps));
    console.log(`| ${b.label} | ${rs.map((r) => fixed(r.fps)).join(', ')} | ${fixed(fps)} | ${(fps / first).toFixed(2)}x `
      + `| ${rs.map((r) => r.lost).join(', ')} | ${fixed(median(rs.map((r) => r.txCpu)), 2)} / ${fixed(median(rs.map((r) => r.rxCpu)), 2)} `
      + `| ${rs[0].p50 === undefined ? 'n/a' : `${fixed(median(rs.map((r) => r.p50)), 2)} / ${fixed(median(rs.map((r) => r.p99)), 2)}`} |`);
  }
  const corrupted = [...results.values()].flat().reduce((n, r) => n + r.corrupted, 0);
  if (corrupted) {
    console.log(`\nFAIL: ${corrupted} corrupted frames`);
    process.exitCode = 1;
  }
}

try {
  await main();
} finally {
  fs.rmSync(REGISTRIES, { recursive: true, force: true });
}
