// Proves the JSON-lines libwebrtc peer (peer.mjs) by pairing two of them:
// libwebrtc talks to libwebrtc, so any failure here is in the peer or the
// driver, not in our transport. Run inside scripts/netns-run.sh.
import assert from 'node:assert/strict';
import { PeerProcess, relay } from './peer_process.mjs';
import { pattern, sha256 } from './payload.mjs';

const SIZES = [0, 1, 1200, 16000, 65536, 262144];
const steps = [];
const step = (name, fn) => steps.push({ name, fn });

const a = new PeerProcess('offerer');
const b = new PeerProcess('answerer');
relay(a, b);

const isOpen = (label) => (ev) => ev.ev === 'open' && ev.label === label;

step('channels created before the offer open on both sides', async () => {
  a.send({ cmd: 'createChannel', label: 'reliable' });
  a.send({ cmd: 'createChannel', label: 'lossy', ordered: false, maxRetransmits: 0 });
  a.send({ cmd: 'createOffer' });
  const seen = await b.waitFor('lossy channel announcement',
                               (ev) => ev.ev === 'channel' && ev.label === 'lossy');
  assert.equal(seen.ordered, false);
  assert.equal(seen.maxRetransmits, 0);
  for (const p of [a, b]) {
    await p.waitFor('reliable open', isOpen('reliable'));
    await p.waitFor('lossy open', isOpen('lossy'));
  }
  await a.waitFor('connected state', (ev) => ev.ev === 'state' && ev.connection === 'connected');
});

let seed = 1;
// Sends one deterministic message and checks it arrives byte-exact. A channel
// without retransmissions may lose a message (the kernel's 208 KiB UDP receive
// buffer overflows under a 256 KiB message), so there a lost message is sent
// again, with a new seed, up to `attempts` times; what arrives must be exact.
async function sendAndCheck(from, to, label, size, attempts = 1) {
  const mark = to.events.length;
  const expected = new Set();
  for (let i = 1; i <= attempts; i++) {
    const s = seed++;
    expected.add(sha256(pattern(s, size)));
    from.send({ cmd: 'send', label, size, seed: s });
    try {
      const got = await to.waitFor(`${size} B on ${label}`,
                                   (ev) => ev.ev === 'message' && ev.label === label,
                                   attempts > 1 ? 3000 : 10000, mark);
      assert.equal(got.size, size, `size on ${label}`);
      assert.ok(expected.has(got.hash), `${size} B on ${label} arrive byte-exact`);
      if (i > 1) console.log(`note: ${size} B on ${label} lost ${i - 1} time(s) before arriving`);
      return;
    } catch (e) {
      if (i === attempts || !/^.*no .* within/.test(e.message)) throw e;
    }
  }
}

step('messages 0 B..256 KiB arrive byte-exact both ways on both channels', async () => {
  for (const label of ['reliable', 'lossy']) {
    for (const size of SIZES) {
      const attempts = label === 'lossy' ? 3 : 1;
      await sendAndCheck(a, b, label, size, attempts);
      await sendAndCheck(b, a, label, size, attempts);
    }
  }
});

step('base64 data arrives as sent', async () => {
  const mark = b.events.length;
  const bytes = Buffer.from([0, 255, 7, 42]);
  a.send({ cmd: 'send', label: 'reliable', data: bytes.toString('base64') });
  const got = await b.waitFor('base64 message', (ev) => ev.ev === 'message', 5000, mark);
  assert.equal(got.hash, sha256(bytes));
});

step('a channel opened by the answerer after connecting opens on both sides', async () => {
  b.send({ cmd: 'createChannel', label: 'late', protocol: 'p1' });
  const seen = await a.waitFor('late channel', (ev) => ev.ev === 'channel' && ev.label === 'late');
  assert.equal(seen.protocol, 'p1');
  await a.waitFor('late open on offerer', isOpen('late'));
  await b.waitFor('late open on answerer', isOpen('late'));
  await sendAndCheck(b, a, 'late', 1200);
});

step('10,000-message burst under back-pressure: none lost on the reliable channel', async () => {
  b.send({ cmd: 'report', label: 'reliable', mode: 'count' });
  // Commands run in order: after this stats answer the counters are reset, so
  // the reset cannot wipe early burst messages.
  const mark = b.events.length;
  b.send({ cmd: 'stats', label: 'reliable' });
  await b.waitFor('stats after report', (ev) => ev.ev === 'stats', 5000, mark);
  a.send({ cmd: 'burst', label: 'reliable', count: 10000, size: 1200, seed: 9 });
  const drained = await a.waitFor('drained', (ev) => ev.ev === 'drained', 60000);
  assert.equal(drained.count, 10000);
  let stats;
  for (let i = 0; i < 100; i++) {
    const mark = b.events.length;
    b.send({ cmd: 'stats', label: 'reliable' });
    stats = await b.waitFor('stats', (ev) => ev.ev === 'stats', 5000, mark);
    if (stats.count >= 10000) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(stats.count, 10000, 'all burst messages received');
  assert.equal(stats.seqGaps, 0, 'in order, none missing');
  assert.equal(stats.bytes, 10000 * 1200);
  b.send({ cmd: 'report', label: 'reliable', mode: 'each' });
});

step('close from the answerer reaches the offerer', async () => {
  b.send({ cmd: 'close', label: 'late' });
  await a.waitFor('late closed on offerer', (ev) => ev.ev === 'close' && ev.label === 'late');
  await b.waitFor('late closed on answerer', (ev) => ev.ev === 'close' && ev.label === 'late');
});

step('bad input gives error events, not a crash', async () => {
  let mark = a.events.length;
  a.send({ cmd: 'setRemote', type: 'answer', sdp: 'v=0\r\ngarbage\r\n' });
  await a.waitFor('error for bad SDP', (ev) => ev.ev === 'error' && ev.cmd === 'setRemote', 5000, mark);
  mark = a.events.length;
  a.child.stdin.write('{not json\n');
  await a.waitFor('error for bad JSON', (ev) => ev.ev === 'error', 5000, mark);
  mark = a.events.length;
  a.send({ cmd: 'nonsense' });
  await a.waitFor('error for unknown command', (ev) => ev.ev === 'error' && ev.cmd === 'nonsense', 5000, mark);
  mark = a.events.length;
  a.send({ cmd: 'send', label: 'missing', size: 1 });
  await a.waitFor('error for unknown channel', (ev) => ev.ev === 'error' && ev.cmd === 'send', 5000, mark);
});

step('a vanished peer is noticed within 30 s (ICE consent)', async () => {
  const mark = b.events.length;
  const t0 = Date.now();
  a.kill();
  await b.waitFor('disconnected or failed after the offerer died',
                  (ev) => ev.ev === 'state' && ['disconnected', 'failed'].includes(ev.connection),
                  30000, mark);
  console.log(`note: libwebrtc noticed the vanished peer after ${Date.now() - t0} ms`);
});

step('exit ends the process cleanly', async () => {
  b.send({ cmd: 'exit' });
  assert.equal(await b.exited, 0);
});

let failed = 0;
for (const { name, fn } of steps) {
  const t0 = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.message}`);
    break;  // later steps depend on earlier ones
  }
}
a.kill();
b.kill();
console.log(failed ? 'FAILED' : 'all passed');
process.exit(failed ? 1 : 0);
