// Data-track packets through the server over real WebRTC (wrtc clients, run inside
// scripts/netns-run.sh): forwarded to each subscriber with only its own handle in the
// header, on the channel the mode prescribes; malformed packets and unknown handles are
// dropped and counted; auto_subscribe_data_track subscribes without asking.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PublishDataTrackRequest, UpdateDataSubscription, UpdateDataSubscription_Update } from '@livekit/protocol';
import { startServer, token } from './helpers.js';
import { RtcClient } from './rtc_client.js';

let server;
before(async () => { server = await startServer(); });
after(async () => { assert.equal(await server.stop(), 0); });

const hex = (s) => Buffer.from(s.replace(/[\s|]/g, ''), 'hex');
let roomCounter = 0;
const stats = async () => (await (await fetch(`${server.httpUrl}/debug/stats`)).json());
const participantStats = async (identity) => {
  for (const room of (await stats()).rooms) for (const p of room.participants) if (p.identity === identity) return p.stats;
  throw new Error(`${identity} not in any room`);
};
const connect = async (identity, room, opts) => RtcClient.connect(server.url, await token({ identity, room }), opts);

async function publish(c, pubHandle, name) {
  c.signal.send('publishDataTrackRequest', new PublishDataTrackRequest({ pubHandle, name }));
  return (await c.signal.next('publishDataTrackResponse', (r) => r.info.pubHandle === pubHandle)).info.sid;
}

async function subscribe(c, trackSid) {
  c.signal.send('updateDataSubscription', new UpdateDataSubscription({ updates: [new UpdateDataSubscription_Update({ trackSid, subscribe: true })] }));
  const snap = await c.signal.next('dataTrackSubscriberHandles', (s) => Object.values(s.subHandles).some((t) => t.trackSid === trackSid));
  return Number(Object.entries(snap.subHandles).find(([, t]) => t.trackSid === trackSid)[0]);
}

// The packet as the server must forward it: header re-encoded with `handle`.
function expectedForward(pkt, handle) {
  const out = Buffer.from(pkt);
  out[0] &= 0xfc;
  out[1] = 0;
  out.writeUInt16BE(handle, 2);
  return out;
}

// Publisher handle 7, dirty reserved bits, E2EE + user timestamp, 3-byte payload.
const withExtensions = (pubHandle) => {
  const p = hex('0F 5A 00 00 44 22 44 11 44 22 11 88 | 00 06 | 01 0D FA' + ' 3C'.repeat(12) + '| 02 08 44 11 22 11 11 11 88 11 | 00 | 010203');
  p.writeUInt16BE(pubHandle, 2);
  return p;
};

for (const mode of ['v1', 'v1-bundled', 'v0']) {
  describe(`forwarding (${mode})`, () => {
    test('each subscriber gets the packet with its own handle, on the right channel', async () => {
      const room = `fwd-${mode}-${++roomCounter}`;
      const alice = await connect('alice', room, { mode });
      const bob = await connect('bob', room, { mode });
      const carol = await connect('carol', room, { mode });
      try {
        const other = await publish(alice, 9, 'other');
        const track = await publish(alice, 7, 'telemetry');
        assert.equal(await subscribe(bob, other), 1);
        assert.equal(await subscribe(bob, track), 2);
        assert.equal(await subscribe(carol, track), 1);

        const pkt = withExtensions(7);
        alice.sendPacket(pkt);
        await bob.waitForPackets(1);
        await carol.waitForPackets(1);
        assert.equal(bob.received[0].toString('hex'), expectedForward(pkt, 2).toString('hex'));
        assert.equal(carol.received[0].toString('hex'), expectedForward(pkt, 1).toString('hex'));
        const channel = mode === 'v0' ? 'subscriber' : 'publisher';
        assert.deepEqual([bob.receivedOn[0], carol.receivedOn[0]], [channel, channel], 'downlink channel');
        assert.equal(alice.received.length, 0, 'no echo to the publisher');

        // Malformed packets and unknown handles are dropped and counted; the track lives on.
        const before = await participantStats('alice');
        alice.sendPacket(hex('18 00 00 07 00 01'));
        alice.sendPacket(hex('1c 00 00 07 00 02 00 03 00 00 00 04 | 00 05 | 02 08 01 02'));
        alice.sendPacket(hex('18 00 00 63 00 04 00 05 00 00 00 06 | ff'));
        const single = hex('18 00 00 09 00 07 00 08 00 00 00 09 | 5151');
        alice.sendPacket(single);
        await bob.waitForPackets(2);
        assert.equal(bob.received[1].toString('hex'), expectedForward(single, 1).toString('hex'));
        const afterStats = await participantStats('alice');
        assert.equal(afterStats.malformed - before.malformed, 2, 'malformed counted');
        assert.equal(afterStats.unknownHandle - before.unknownHandle, 1, 'unknown handle counted');
        assert.equal(afterStats.received - before.received, 4);
        await new Promise((r) => setTimeout(r, 200));
        assert.equal(bob.received.length, 2, 'nothing else reached bob');
        assert.equal(carol.received.length, 1, 'carol is not subscribed to "other"');
      } finally {
        for (const c of [alice, bob, carol]) c.close();
      }
    });
  });
}

describe('auto_subscribe_data_track', () => {
  test('existing and new tracks are subscribed without a request', async () => {
    const room = `auto-${++roomCounter}`;
    const alice = await connect('alice', room, { mode: 'v1' });
    const early = await publish(alice, 1, 'early');
    const dave = await connect('dave', room, { mode: 'v1', autoSubscribeDataTrack: true });
    const eve = await connect('eve', room, { mode: 'v0', autoSubscribeDataTrack: true });
    try {
      const first = await dave.signal.next('dataTrackSubscriberHandles');
      assert.deepEqual(Object.values(first.subHandles).map((t) => t.trackSid), [early]);
      const late = await publish(alice, 2, 'late');
      const second = await dave.signal.next('dataTrackSubscriberHandles');
      assert.deepEqual(Object.entries(second.subHandles).map(([h, t]) => [h, t.trackSid]), [['1', early], ['2', late]]);
      await eve.signal.next('dataTrackSubscriberHandles', (s) => Object.keys(s.subHandles).length === 2);
      alice.sendPacket(hex('18 00 00 02 00 01 00 01 00 00 00 01 | 42'));
      await dave.waitForPackets(1);
      await eve.waitForPackets(1);
      assert.equal(dave.received[0].readUInt16BE(2), 2);
      assert.equal(eve.received[0].readUInt16BE(2), 2);
      assert.equal(eve.receivedOn[0], 'subscriber');
    } finally {
      for (const c of [alice, dave, eve]) c.close();
    }
  });

  test('off by default in v1 and v0', async () => {
    const room = `noauto-${++roomCounter}`;
    const alice = await connect('alice', room, { mode: 'v1' });
    const frank = await connect('frank', room, { mode: 'v1' });
    const gina = await connect('gina', room, { mode: 'v0' });
    try {
      await publish(alice, 1, 't');
      alice.sendPacket(hex('18 00 00 01 00 01 00 01 00 00 00 01 | 42'));
      assert.equal(await frank.signal.receives('dataTrackSubscriberHandles', 700), false);
      assert.equal(await gina.signal.receives('dataTrackSubscriberHandles', 10), false);
      assert.equal(frank.received.length + gina.received.length, 0);
    } finally {
      for (const c of [alice, frank, gina]) c.close();
    }
  });
});

describe('--ice-lite', () => {
  let lite;
  before(async () => { lite = await startServer(['--ice-lite']); });
  after(async () => { assert.equal(await lite.stop(), 0); });

  test('server descriptions say ice-lite and packets still flow (v1 answer, v0 offer)', async () => {
    const alice = await RtcClient.connect(lite.url, await token({ identity: 'alice', room: 'lite' }), { mode: 'v1' });
    const bob = await RtcClient.connect(lite.url, await token({ identity: 'bob', room: 'lite' }), { mode: 'v0' });
    try {
      assert.match(alice.pc.remoteDescription.sdp, /\r\na=ice-lite\r\n/);
      assert.match(bob.sub.remoteDescription.sdp, /\r\na=ice-lite\r\n/);
      const track = await publish(alice, 1, 't');
      assert.equal(await subscribe(bob, track), 1);
      alice.sendPacket(hex('18 00 00 01 00 01 00 01 00 00 00 01 | 42'));
      await bob.waitForPackets(1);
      assert.equal(bob.receivedOn[0], 'subscriber');
    } finally {
      alice.close();
      bob.close();
    }
  });
});

describe('resume over WebRTC', () => {
  for (const mode of ['v1', 'v0']) {
    test(`${mode}: after a dropped WebSocket and ICE restarts, packets still flow both ways`, async () => {
      const room = `resume-${mode}`;
      const alice = await connect('alice', room, { mode });
      const bob = await connect('bob', room, { mode });
      try {
        const track = await publish(alice, 1, 't');
        const handle = await subscribe(bob, track);
        const ufrag = (pc) => pc.remoteDescription.sdp.match(/a=ice-ufrag:(\S+)/)[1];
        const before = { alice: ufrag(alice.pc), bobSub: bob.sub && ufrag(bob.sub) };
        await bob.resume(server.url, await token({ identity: 'bob', room }));
        await alice.resume(server.url, await token({ identity: 'alice', room }));
        assert.equal(alice.reconnect.serverInfo.version, '1.13.5');
        assert.notEqual(ufrag(alice.pc), before.alice, 'server answered the ICE restart with new credentials');
        if (mode === 'v0') assert.notEqual(ufrag(bob.sub), before.bobSub, 'server restarted ICE on the subscriber PC');
        alice.sendPacket(hex('18 00 00 01 00 01 00 01 00 00 00 01 | 42'));
        await bob.waitForPackets(1);
        assert.equal(bob.received[0].readUInt16BE(2), handle, 'subscription survived the resume');
      } finally {
        alice.close();
        bob.close();
      }
    });
  }
});
