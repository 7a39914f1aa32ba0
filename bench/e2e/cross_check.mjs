// The bench's pion participant (pion_lk) against our elements through one server, byte for
// byte: livekitdatasink -> pion_lk and pion_lk -> livekitdatasrc (gst_peer), each frame size
// from one packet to a 1 MB frame of 63 packets, paced so that nothing need be lost. Every
// frame pushed must arrive, whole and unchanged (peer_protocol.h's layout): proof that the
// client e2e.mjs takes for the forwarding ceiling speaks the same protocol as our elements.
// LKT_SERVER picks the server (tests/interop/browser/lib/test-server.mjs); exit 77 = skipped.
//   scripts/netns-run.sh node bench/e2e/cross_check.mjs
import { TestServer, SERVER_KIND, serverUnavailable } from '../../tests/interop/browser/lib/test-server.mjs';
import { PeerProcess, waitLive } from './peer_process.mjs';

// [frame bytes, frames, frames a second]
const PLAN = [[100, 300, 1000], [16000, 100, 200], [64000, 40, 50], [1000000, 4, 4]];
const DIRECTIONS = [{ tx: 'gst', rx: 'pion' }, { tx: 'pion', rx: 'gst' }];

const why = process.env.LKT_E2E_PION_UNAVAILABLE || serverUnavailable();
if (why) {
  console.log(`SKIP: ${why}`);
  process.exit(77);
}

// livekit-server's latency drop (docs/protocol.md §9) may cut a burst; it is not what is checked here.
const server = await TestServer.start(SERVER_KIND === 'livekit' ? ['--no-latency-drop'] : []);
const failures = [];
try {
  let rooms = 0;
  for (const { tx: via, rx: rxVia } of DIRECTIONS) {
    const room = `check-${++rooms}`;
    const tx = new PeerProcess('send', via, server, room, 'tx');
    const rx = new PeerProcess('recv', rxVia, server, room, 'rx', 'tx');
    try {
      await waitLive(tx, rx);
      for (const [size, count, rate] of PLAN) {
        await tx.push(size, count, rate);
        const got = await rx.collect(count, 30000, 3000);
        const line = `${via} -> ${rxVia}, ${size} B: ${got.received} of ${count} frames, ${got.bytes} bytes, ${got.corrupted} corrupted`;
        console.log(line);
        if (got.received !== count || got.bytes !== count * size || got.corrupted !== 0) failures.push(line);
      }
    } catch (err) {
      failures.push(`${via} -> ${rxVia}: ${err.message}`);
    } finally {
      await rx.close();
      await tx.close();
    }
  }
} finally {
  await server.stop();
}
if (failures.length) {
  console.log(`FAIL:\n  ${failures.join('\n  ')}`);
  process.exit(1);
}
console.log(`PASS through ${SERVER_KIND}`);
