// Forwarding throughput of the test server: one wrtc publisher, one wrtc subscriber, 16,000-byte
// packets sent as fast as the publisher's channel takes them (kept under 1 MiB buffered).
// Prints one table row per mode. Run inside scripts/netns-run.sh; both processes get the large
// UDP buffers of lib/udp_buffers.c, so losses are the server's (or SCTP's), not the kernel's.
//   node tests/sfu/test/throughput.mjs [seconds=3]
import { PublishDataTrackRequest, UpdateDataSubscription, UpdateDataSubscription_Update } from '@livekit/protocol';
import { relaunchWithUdpBuffers } from '../lib/udp_buffers.js';

if (!relaunchWithUdpBuffers()) await main(Number(process.argv[2] || 3));

async function main(seconds) {
  const { startServer, token } = await import('./helpers.js');
  const { RtcClient } = await import('./rtc_client.js');
  const server = await startServer();
  console.log('| mode | sent | server received | subscriber received | lost | MB/s received |');
  console.log('|---|---|---|---|---|---|');
  for (const mode of ['v1', 'v0']) {
    const room = `bench-${mode}`;
    const alice = await RtcClient.connect(server.url, await token({ identity: 'alice', room }), { mode });
    const bob = await RtcClient.connect(server.url, await token({ identity: 'bob', room }), { mode });
    alice.signal.send('publishDataTrackRequest', new PublishDataTrackRequest({ pubHandle: 1, name: 'bench' }));
    const { info } = await alice.signal.next('publishDataTrackResponse');
    bob.signal.send('updateDataSubscription', new UpdateDataSubscription({ updates: [new UpdateDataSubscription_Update({ trackSid: info.sid, subscribe: true })] }));
    await bob.signal.next('dataTrackSubscriberHandles');
    const totalsBefore = (await (await fetch(`${server.httpUrl}/debug/stats`)).json()).totals;
    let bytes = 0;
    let received = 0;
    const started = Date.now();
    let last = started;
    bob.received = { push: (b) => { received++; bytes += b.length; last = Date.now(); } };
    bob.receivedOn = { push: () => {} };
    const pkt = Buffer.alloc(16000, 0x5a);
    pkt.set([0x18, 0, 0, 1], 0);
    const ch = alice.channels._data_track;
    let sent = 0;
    while (Date.now() - started < seconds * 1000) {
      for (let burst = 0; burst < 64 && ch.bufferedAmount < 1 << 20; burst++) {
        pkt.writeUInt16BE(sent & 0xffff, 4);
        ch.send(pkt);
        sent++;
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    await new Promise((r) => setTimeout(r, 1000)); // drain
    const { totals } = await (await fetch(`${server.httpUrl}/debug/stats`)).json();
    const serverGot = totals.received - totalsBefore.received;
    const drops = totals.congestionDrops - totalsBefore.congestionDrops + totals.channelMissing - totalsBefore.channelMissing;
    if (process.env.LOG) console.error(`server forwarded ${totals.forwarded - totalsBefore.forwarded}, dropped ${drops}`);
    const mbps = bytes / ((last - started) / 1000) / 1e6;
    console.log(`| ${mode} | ${sent} | ${serverGot} | ${received} | ${((1 - received / sent) * 100).toFixed(2)}% | ${mbps.toFixed(1)} |`);
    alice.close();
    bob.close();
  }
  await server.stop();
  process.exit(0);
}
