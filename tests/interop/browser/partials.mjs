// How many frames a subscriber reassembles at once, measured against the official client as
// the sender: livekit-client 2.23.0 (page A) pushes a burst as fast as its flow control lets
// it (flushing every 16 frames, as throughput.mjs does), and our lib/room subscribes with
// max_partial_frames 1, 2 and 4, next to the official client itself as a second subscriber
// (page B, which keeps one). Through the real livekit-server when it is built, and the test
// server. Prints a table; asserts only that frames arrived.
//   node partials.mjs [frames per row, default 400] [frame bytes, default 40000]
// Run inside scripts/netns-run.sh.
import crypto from 'node:crypto';
import os from 'node:os';
import { runCases, ok } from './lib/run.mjs';
import { serverUnavailable } from './lib/test-server.mjs';

const COUNT = Number(process.argv[2] ?? 400);
const SIZE = Number(process.argv[3] ?? 40000);
const ROOM = 'partials';
const PROBE_SHA256 = crypto.createHash('sha256').update('lkt-probe').digest('hex');
const SERVERS = [{ kind: 'livekit', label: 'livekit-server 1.13.5' }, { kind: 'sfu', label: 'test server' }];

async function row(scenario, kind, partials) {
  const server = await scenario.startServer([], { kind });
  const ours = scenario.startRoomPeer(`ours-${partials}`);
  const a = await scenario.newClientPage('A');
  const b = await scenario.newClientPage('B');
  await ours.request({ cmd: 'join', url: server.url, token: await server.token('ours', ROOM) }, 'joined');
  ok(await a.call('connect', server.url, await server.token('alice', ROOM)), 'A connect');
  ok(await b.call('connect', server.url, await server.token('bob', ROOM)), 'B connect');
  const name = `bulk-${partials}`;
  ok(await a.call('publish', name), 'A publish');
  await ours.request({ cmd: 'subscribe', identity: 'alice', name, maxPartialFrames: partials, queueFrames: COUNT * 2 },
    'active');
  ok(await b.call('awaitRemoteTrack', 'alice', name, 15000), 'B sees the track');
  ok(await b.call('subscribe', 'alice', name, { bufferSize: COUNT * 2, hashFrames: false }), 'B subscribe');
  // Both subscriptions live: probes until each got one.
  for (let i = 0; ; i++) {
    if (i > 150) throw new Error('a subscriber never went live');
    ok(await a.call('pushProbe', name), 'probe');
    await new Promise((r) => setTimeout(r, 100));
    const oursLive = (ours.frames.get(name) ?? []).some((f) => f.sha256 === PROBE_SHA256);
    if (oursLive && (await b.call('receivedProbes', name)) > 0) break;
  }
  ours.clearFrames(name);
  ok(await a.call('pushBurst', name, SIZE, COUNT), 'A burst');
  const got = (await ours.receivedFrames(name, COUNT, 60000, 3000)).filter((f) => f.size === SIZE);
  const client = ok(await b.call('receivedFrames', name, COUNT, 10000, 3000), 'B receive').frames.length;
  const stats = await ours.request({ cmd: 'stats', name }, 'stats');
  await ours.stop();
  await scenario.stopServer(server);
  return { partials, received: got.length, reassemblyDrops: stats.droppedReassembly, client };
}

async function partials(scenario) {
  const rows = [];
  for (const { kind, label } of SERVERS) {
    const why = serverUnavailable(kind);
    if (why) {
      console.log(`no rows through the ${label}: ${why}`);
      continue;
    }
    for (const n of [1, 2, 4]) rows.push({ label, ...(await row(scenario, kind, n)) });
  }
  const load = os.loadavg().map((x) => x.toFixed(1)).join(' ');
  console.log(`\nlivekit-client 2.23.0 pushes ${COUNT} frames of ${SIZE} B; who receives how many `
    + `(load average ${load})`);
  console.log('| server | our max_partial_frames | ours received | our reassembly drops | official client (1) received |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.label} | ${r.partials} | ${r.received} | ${r.reassemblyDrops} | ${r.client} |`);
  }
  if (rows.some((r) => r.received === 0)) throw new Error('a row received nothing');
}

await runCases('partials.mjs', { partials }, [], { timeoutMs: 400000 });
