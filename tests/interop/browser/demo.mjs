// The main-job demo (for now): a LiveKit server (LKT_SERVER: the real livekit-server or the
// bundled test server) and two official livekit-client instances in headless Chromium
// exchange a few data-track frames; prints what that proved.
//   scripts/netns-run.sh node tests/interop/browser/demo.mjs
import assert from 'node:assert/strict';
import { runCases, ok } from './lib/run.mjs';
import { ROOM, connectPair, publishAndSubscribe } from './lib/two-clients.mjs';
import { deliverFrames } from './lib/delivery.mjs';
import { SERVER_KIND } from './lib/test-server.mjs';

const say = (line = '') => console.log(line);

// A few telemetry samples as JSON text, then one frame too big for a single packet (the client
// splits it, the server forwards every piece).
function telemetryFrames(attempt) {
  const base = BigInt(Date.now()) * 1000n; // user timestamps in microseconds
  const frames = [];
  for (let i = 1; i <= 4; i++) {
    const sample = { seq: i, lat: +(48.8584 + i / 1e4).toFixed(4), lon: +(2.2945 - i / 1e4).toFixed(4),
      alt_m: 330 + i, battery: +(0.97 - i / 100).toFixed(2) };
    frames.push({ text: JSON.stringify(sample), userTimestamp: (base + BigInt(i)).toString() });
  }
  frames.push({ size: 200000, seed: 7 + attempt, userTimestamp: (base + 5n).toString() });
  return frames;
}

async function demo(scenario) {
  const server = await scenario.startServer();
  const serverName = SERVER_KIND === 'livekit' ? 'livekit-server 1.13.5 (scripts/livekit-server.sh, dev mode)'
    : 'the bundled test server (tests/sfu/server.js)';
  say(`${serverName} listening on ${server.url}`);

  const { a, b, alice, bob } = await connectPair(scenario, server);
  say(`alice and bob joined room "${ROOM}" with livekit-client 2.23.0 in headless Chromium`);
  say(`  signalling ${a.signallingPaths().join(', ')}, server version ${alice.serverVersion}, `
    + `participant sids ${alice.sid} / ${bob.sid}`);

  const name = 'telemetry';
  const { published, seen } = await publishAndSubscribe(a, b, name);
  say(`alice published data track "${name}": sid ${published.sid}, publisher handle ${published.pubHandle}`);
  say(`bob found it with dataTracks.getDeferred (sid ${seen.sid}, publisher ${seen.publisherIdentity}) and subscribed`);

  const { sent, got, lossNotes } = await deliverFrames(a, b, name, telemetryFrames);
  for (const note of lossNotes) say(`(lost in transit and pushed again: ${note})`);
  say(`alice pushed ${sent.length} frames; bob received all ${got.length}, in order:`);
  got.forEach((f, i) => {
    const body = f.text ?? `<${f.size} pseudo-random bytes>`;
    say(`  #${i + 1} ${String(f.size).padStart(6)} B  user ts ${f.userTimestamp}  SHA-256 equal  ${body}`);
  });

  ok(await a.call('unpublish', name), 'alice unpublish');
  const gone = ok(await b.call('awaitUnpublished', 'alice', name, published.sid, 10000), 'bob sees unpublish');
  assert.equal(gone.stillListed, false);
  say('alice unpublished the track; bob got RoomEvent.DataTrackUnpublished and it left his dataTracks');
  say();
  if (SERVER_KIND === 'livekit') {
    say('proved: livekit-server carries data tracks between official LiveKit clients here:');
  } else {
    say('proved: the test server carries data tracks between official LiveKit clients the way a');
    say('        LiveKit server does:');
  }
  say('        publish, discovery, subscription, byte-exact in-order frames (SHA-256 compared in');
  say('        the pages) with their user timestamps, and unpublish.');
}

await runCases('demo.mjs', { demo }, [], { timeoutMs: 90000 });
