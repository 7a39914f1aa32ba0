// Signalling without media: join response, participant updates, keepalive, data-track
// publish validation (order, reasons, echo), unpublish, subscriber-handle snapshots,
// --no-data-tracks, duplicate identity, JSON frames, room closed when empty.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  ClientConfigSetting,
  DataTrackFrameEncoding,
  DataTrackInfo,
  DataTrackSchemaEncoding,
  DataTrackSchemaId,
  DisconnectReason,
  Encryption_Type,
  LeaveRequest,
  LeaveRequest_Action,
  ParticipantInfo_State,
  Ping,
  PublishDataTrackRequest,
  PublishDataTrackResponse,
  RequestResponse_Reason as Reason,
  SignalResponse,
  SyncState,
  UnpublishDataTrackRequest,
  UpdateDataSubscription,
  UpdateDataSubscription_Update,
} from '@livekit/protocol';
import { joinRequestParam, SignalConnection, startServer, token, v1Url } from './helpers.js';

let server;
before(async () => { server = await startServer(); });
after(async () => { assert.equal(await server.stop(), 0); });

let roomCounter = 0;
// `identity` joined (join response in .joinResponse), on the shared server unless `on` names another.
async function join(identity, { room, grant, path = 'v1', on = server } = {}) {
  const tok = await token({ identity, room, grant });
  const url = path === 'v1' ? v1Url(on.url, { tok }) : `${on.url}/rtc?access_token=${tok}&protocol=17&sdk=js&auto_subscribe=0`;
  const c = await SignalConnection.open(url);
  c.joinResponse = await c.next('join');
  return c;
}
// A server of its own, with these flags, for the enclosing describe(): .server once started.
function ownServer(flags) {
  const own = {};
  before(async () => { own.server = await startServer(flags); });
  after(async () => { await own.server.stop(); });
  return own;
}
const freshRoom = () => `room-${++roomCounter}`;
// Alice, then bob (with `bobOptions` for his token) in a fresh room.
async function aliceAndBob(bobOptions = {}) {
  const room = freshRoom();
  return { room, a: await join('alice', { room }), b: await join('bob', { room, ...bobOptions }) };
}
const publish = (c, fields) => c.send('publishDataTrackRequest', new PublishDataTrackRequest(fields));
const subscribe = (c, trackSid, on = true) => c.send('updateDataSubscription', new UpdateDataSubscription({
  updates: [new UpdateDataSubscription_Update({ trackSid, subscribe: on })],
}));
// Subscriber-handle snapshot as {handle: trackSid}.
const snapshot = (m) => Object.fromEntries(Object.entries(m.subHandles).map(([h, t]) => [h, t.trackSid]));

describe('join', () => {
  test('v1 join response carries what clients rely on', async () => {
    const room = freshRoom();
    const a = await join('alice', { room });
    const j = a.joinResponse;
    assert.equal(j.participant.identity, 'alice');
    assert.match(j.participant.sid, /^PA_/);
    assert.equal(j.room.name, room);
    assert.deepEqual(j.otherParticipants, []);
    assert.deepEqual(j.iceServers, []);
    assert.equal(j.subscriberPrimary, false, 'v1 is a single PC');
    assert.equal(j.pingInterval, 5);
    assert.equal(j.pingTimeout, 15);
    assert.equal(j.serverInfo.version, '1.13.5');
    assert.equal(j.serverInfo.protocol, 17);
    const b = await join('bob', { room, path: 'v0' });
    assert.equal(b.joinResponse.subscriberPrimary, true, 'v0 with protocol 17 and canSubscribe');
    assert.deepEqual(b.joinResponse.otherParticipants.map((p) => p.identity), ['alice']);
    a.close();
    b.close();
  });

  test('participant updates on join and leave', async () => {
    const { a, b } = await aliceAndBob();
    const joined = await a.next('update', (u) => u.participants.some((p) => p.identity === 'bob'));
    assert.equal(joined.participants[0].state, ParticipantInfo_State.JOINED);
    b.send('leave', new LeaveRequest({ reason: DisconnectReason.CLIENT_INITIATED }));
    const left = await a.next('update', (u) => u.participants.some((p) => p.identity === 'bob' && p.state === ParticipantInfo_State.DISCONNECTED));
    assert.equal(left.participants[0].sid, b.joinResponse.participant.sid);
    a.close();
  });

  test('a second join with the same identity replaces the first', async () => {
    const room = freshRoom();
    const first = await join('alice', { room });
    const second = await join('alice', { room });
    const leave = await first.next('leave');
    assert.equal(leave.reason, DisconnectReason.DUPLICATE_IDENTITY);
    assert.notEqual(second.joinResponse.participant.sid, first.joinResponse.participant.sid);
    // Same room, not a fresh one: a third participant sees the second session.
    const third = await join('bob', { room });
    assert.equal(third.joinResponse.room.sid, second.joinResponse.room.sid);
    assert.deepEqual(third.joinResponse.otherParticipants.map((p) => p.sid), [second.joinResponse.participant.sid]);
    second.close();
    third.close();
  });

  test('the room is closed when the last participant leaves', async () => {
    const room = freshRoom();
    const a = await join('alice', { room });
    const rooms = async () => (await (await fetch(`${server.httpUrl}/debug/stats`)).json()).rooms.map((r) => r.name);
    assert.ok((await rooms()).includes(room));
    a.close();
    const deadline = Date.now() + 3000;
    while ((await rooms()).includes(room)) {
      assert.ok(Date.now() < deadline, 'room still open');
      await new Promise((r) => setTimeout(r, 50));
    }
  });
});

describe('keepalive', () => {
  test('ping -> pong with the server clock, ping_req -> pong_resp echoing the timestamp', async () => {
    const a = await join('alice', { room: freshRoom() });
    a.send('ping', 1234n);
    const pong = await a.next('pong');
    assert.ok(Math.abs(Number(pong) - Date.now()) < 5000, `pong ${pong} is the server's clock, not an echo`);
    a.send('pingReq', new Ping({ timestamp: 777n, rtt: 3n }));
    const resp = await a.next('pongResp');
    assert.equal(resp.lastPingTimestamp, 777n);
    assert.ok(Math.abs(Number(resp.timestamp) - Date.now()) < 5000);
    a.close();
  });

  test('protobuf-JSON text frames get JSON answers', async () => {
    const a = await join('alice', { room: freshRoom() });
    const reply = new Promise((resolve) => a.ws.once('message', (data, isBinary) => resolve({ data, isBinary })));
    a.ws.send(JSON.stringify({ pingReq: { timestamp: '42' } }));
    const { data, isBinary } = await reply;
    assert.equal(isBinary, false);
    const msg = SignalResponse.fromJsonString(data.toString()).message;
    assert.equal(msg.case, 'pongResp');
    assert.equal(msg.value.lastPingTimestamp, 42n);
    a.close();
  });
});

describe('publish', () => {
  // Each request breaks its own rule and every later one: the first failing check answers.
  test('validation order, reasons and echo', async () => {
    const a = await join('alice', { room: freshRoom() });
    publish(a, { pubHandle: 1, name: 'taken' });
    await a.next('publishDataTrackResponse');
    const badEncoding = new DataTrackFrameEncoding({ value: { case: 'custom', value: '' } });
    const longSchema = new DataTrackSchemaId({ name: 's', encoding: new DataTrackSchemaEncoding({ value: { case: 'custom', value: 'x'.repeat(33) } }) });
    const cases = [
      [{ pubHandle: 0, name: '' }, Reason.INVALID_HANDLE, 'handle should be > 0 AND < 65536'],
      [{ pubHandle: 65536, name: 'x' }, Reason.INVALID_HANDLE, 'handle should be > 0 AND < 65536'],
      [{ pubHandle: 1, name: '', frameEncoding: badEncoding }, Reason.INVALID_NAME, 'name should not be empty and should not exceed 256 characters'],
      [{ pubHandle: 1, name: 'é'.repeat(129) }, Reason.INVALID_NAME, 'name should not be empty and should not exceed 256 characters'],
      [{ pubHandle: 1, name: 'taken', frameEncoding: badEncoding }, Reason.INVALID_REQUEST, 'encoding identifier is empty or exceeds the maximum length'],
      [{ pubHandle: 1, name: 'taken', schema: longSchema }, Reason.INVALID_REQUEST, 'encoding identifier is empty or exceeds the maximum length'],
      [{ pubHandle: 1, name: 'taken' }, Reason.DUPLICATE_HANDLE, 'a data track with same handle already exists'],
      [{ pubHandle: 2, name: 'taken' }, Reason.DUPLICATE_NAME, 'a data track with same name already exists'],
    ];
    for (const [fields, reason, message] of cases) {
      const req = new PublishDataTrackRequest({ encryption: Encryption_Type.GCM, ...fields });
      a.send('publishDataTrackRequest', req);
      const rr = await a.next('requestResponse');
      assert.equal(Reason[rr.reason], Reason[reason], JSON.stringify(fields));
      assert.equal(rr.message, message);
      assert.equal(rr.request.case, 'publishDataTrack');
      assert.ok(rr.request.value.equals(req), 'request echoed');
    }
    // The limits themselves are allowed.
    publish(a, { pubHandle: 65535, name: 'n'.repeat(256) });
    const ok = await a.next('publishDataTrackResponse');
    assert.equal(ok.info.pubHandle, 65535);
    a.close();
  });

  test('no canPublishData comes first: NOT_ALLOWED', async () => {
    const a = await join('alice', { room: freshRoom(), grant: { canPublish: true, canPublishData: false } });
    const req = new PublishDataTrackRequest({ pubHandle: 0, name: '' });
    a.send('publishDataTrackRequest', req);
    const rr = await a.next('requestResponse');
    assert.equal(rr.reason, Reason.NOT_ALLOWED);
    assert.equal(rr.message, 'does not have permission to publish data');
    assert.ok(rr.request.value.equals(req));
    a.close();
  });

  test('Rust clients older than protocol 10 get no request_response (v0 sdk=rust)', async () => {
    const room = freshRoom();
    const old = await SignalConnection.open(`${server.url}/rtc?access_token=${await token({ identity: 'old', room })}&sdk=rust&protocol=9`);
    await old.next('join');
    publish(old, { pubHandle: 0, name: 'x' });
    assert.equal(await old.receives('requestResponse', 700), false);
    old.close();
    const recent = await SignalConnection.open(`${server.url}/rtc?access_token=${await token({ identity: 'new', room })}&sdk=rust&protocol=16`);
    await recent.next('join');
    publish(recent, { pubHandle: 0, name: 'x' });
    assert.equal((await recent.next('requestResponse')).reason, Reason.INVALID_HANDLE);
    recent.close();
  });

  test('success: response with a new sid, participant update to the others', async () => {
    const { a, b } = await aliceAndBob();
    const encoding = new DataTrackFrameEncoding({ value: { case: 'custom', value: 'my-enc' } });
    publish(a, { pubHandle: 7, name: 'telemetry', encryption: Encryption_Type.GCM, frameEncoding: encoding });
    const { info } = await a.next('publishDataTrackResponse');
    assert.match(info.sid, /^DTR_/);
    assert.deepEqual([info.pubHandle, info.name, info.encryption], [7, 'telemetry', Encryption_Type.GCM]);
    assert.ok(info.frameEncoding.equals(encoding));
    const update = await b.next('update', (u) => u.participants.some((p) => p.identity === 'alice' && p.dataTracks.length));
    assert.ok(update.participants[0].dataTracks[0].equals(info));
    a.close();
    b.close();
  });

  test('unpublish: response, update without the track; unknown handle: NOT_FOUND', async () => {
    const { a, b } = await aliceAndBob();
    publish(a, { pubHandle: 3, name: 't' });
    const { info } = await a.next('publishDataTrackResponse');
    await b.next('update', (u) => u.participants.some((p) => p.dataTracks.length === 1));
    a.send('unpublishDataTrackRequest', new UnpublishDataTrackRequest({ pubHandle: 3 }));
    const un = await a.next('unpublishDataTrackResponse');
    assert.ok(un.info.equals(info));
    await b.next('update', (u) => u.participants.some((p) => p.identity === 'alice' && p.dataTracks.length === 0));
    const req = new UnpublishDataTrackRequest({ pubHandle: 3 });
    a.send('unpublishDataTrackRequest', req);
    const rr = await a.next('requestResponse');
    assert.equal(rr.reason, Reason.NOT_FOUND);
    assert.equal(rr.request.case, 'unpublishDataTrack');
    assert.ok(rr.request.value.equals(req));
    a.close();
    b.close();
  });
});

describe('subscribe', () => {
  test('handles are per subscriber, sent as full snapshots after every change', async () => {
    const { room, a, b } = await aliceAndBob();
    const c = await join('carol', { room });
    publish(a, { pubHandle: 1, name: 'one' });
    const t1 = (await a.next('publishDataTrackResponse')).info.sid;
    publish(a, { pubHandle: 2, name: 'two' });
    const t2 = (await a.next('publishDataTrackResponse')).info.sid;

    subscribe(b, t2);
    assert.deepEqual(snapshot(await b.next('dataTrackSubscriberHandles')), { 1: t2 });
    subscribe(b, t1);
    const full = await b.next('dataTrackSubscriberHandles');
    assert.deepEqual(snapshot(full), { 1: t2, 2: t1 });
    assert.equal(full.subHandles[2].publisherIdentity, 'alice');
    assert.equal(full.subHandles[2].publisherSid, a.joinResponse.participant.sid);

    subscribe(c, t1);
    assert.deepEqual(snapshot(await c.next('dataTrackSubscriberHandles')), { 1: t1 }, "carol's own counter");

    subscribe(b, t2, false);
    assert.deepEqual(snapshot(await b.next('dataTrackSubscriberHandles')), { 2: t1 });
    subscribe(b, t2);
    assert.deepEqual(snapshot(await b.next('dataTrackSubscriberHandles')), { 2: t1, 3: t2 }, 'handles are not reused');

    // Unpublishing removes it from every subscriber's snapshot.
    a.send('unpublishDataTrackRequest', new UnpublishDataTrackRequest({ pubHandle: 1 }));
    assert.deepEqual(snapshot(await b.next('dataTrackSubscriberHandles')), { 3: t2 });
    assert.deepEqual(snapshot(await c.next('dataTrackSubscriberHandles')), {});

    // Publisher gone: its tracks leave the snapshot too.
    a.close();
    assert.deepEqual(snapshot(await b.next('dataTrackSubscriberHandles')), {});
    b.close();
    c.close();
  });

  test('unknown track, own track, no canSubscribe: no snapshot', async () => {
    const { a, b } = await aliceAndBob({ grant: { canSubscribe: false } });
    publish(a, { pubHandle: 1, name: 'one' });
    const t1 = (await a.next('publishDataTrackResponse')).info.sid;
    subscribe(a, 'DTR_doesnotexist');
    subscribe(a, t1);
    subscribe(b, t1);
    assert.equal(await a.receives('dataTrackSubscriberHandles', 500), false);
    assert.equal(await b.receives('dataTrackSubscriberHandles', 100), false);
    a.close();
    b.close();
  });
});

describe('--no-data-tracks', () => {
  const old = ownServer(['--no-data-tracks']);

  test('publish requests go unanswered', async () => {
    const a = await join('alice', { on: old.server });
    publish(a, { pubHandle: 1, name: 'one' });
    publish(a, { pubHandle: 0, name: '' });
    assert.equal(await a.receives('publishDataTrackResponse', 1500), false);
    assert.equal(await a.receives('requestResponse', 10), false);
    a.send('pingReq', new Ping({ timestamp: 1n }));
    await a.next('pongResp'); // still alive
    a.close();
  });
});

describe('--data-tracks-disabled (livekit-server enable_data_tracks: false)', () => {
  const off = ownServer(['--data-tracks-disabled']);

  test('a publish with every grant is refused with NOT_ALLOWED, first of all checks', async () => {
    const a = await join('alice', { on: off.server });
    const req = new PublishDataTrackRequest({ pubHandle: 0, name: '' });
    a.send('publishDataTrackRequest', req);
    const rr = await a.next('requestResponse');
    assert.equal(rr.reason, Reason.NOT_ALLOWED);
    assert.equal(rr.message, 'does not have permission to publish data');
    assert.ok(rr.request.value.equals(req));
    assert.equal(await a.receives('publishDataTrackResponse', 300), false);
    a.close();
  });
});

describe('robustness and shutdown', () => {
  test('an undecodable frame is dropped, the session goes on', async () => {
    const a = await join('alice', { room: freshRoom() });
    a.ws.send(Buffer.from([0xff, 0xff, 0xff, 0x0f]));
    a.ws.send('{"not a signal request": true');
    a.send('pingReq', new Ping({ timestamp: 5n }));
    assert.equal((await a.next('pongResp')).lastPingTimestamp, 5n);
    a.close();
  });

  test('SIGTERM: leave{SERVER_SHUTDOWN} to everyone, exit 0', async () => {
    const own = await startServer();
    const a = await join('alice', { on: own });
    const closed = new Promise((resolve) => a.ws.once('close', resolve));
    const exit = own.stop();
    const leave = await a.next('leave');
    assert.equal(leave.reason, DisconnectReason.SERVER_SHUTDOWN);
    await closed;
    assert.equal(await exit, 0);
  });
});

describe('resume', () => {
  const resume = async (identity, room, sid) => SignalConnection.open(v1Url(server.url, { tok: await token({ identity, room }), joinRequest: joinRequestParam({ resumeSid: sid }) }));

  test('resume advertised like livekit-server; --no-resume turns it off', async () => {
    const a = await join('alice', { room: freshRoom() });
    assert.equal(a.joinResponse.clientConfiguration.resumeConnection, ClientConfigSetting.UNSET);
    a.close();
    const own = await startServer(['--no-resume']);
    const b = await join('alice', { on: own });
    assert.equal(b.joinResponse.clientConfiguration.resumeConnection, ClientConfigSetting.DISABLED);
    b.close();
    await own.stop();
  });

  test('a dropped WebSocket is resumed: same participant, tracks kept, held messages delivered', async () => {
    const { room, a, b } = await aliceAndBob();
    publish(a, { pubHandle: 4, name: 'kept' });
    const { info } = await a.next('publishDataTrackResponse');
    subscribe(b, info.sid);
    await b.next('dataTrackSubscriberHandles');
    a.drop();
    await new Promise((r) => setTimeout(r, 300));
    publish(b, { pubHandle: 1, name: 'while-away' });
    await b.next('publishDataTrackResponse');
    const aliceGone = await b.next('update', (u) => u.participants.some((p) => p.identity === 'alice' && p.state === ParticipantInfo_State.DISCONNECTED), 300)
      .then(() => true, () => false);
    assert.equal(aliceGone, false, 'no DISCONNECTED for alice while she may resume');

    const again = await resume('alice', room, a.joinResponse.participant.sid);
    const first = await again.next('reconnect');
    assert.equal(first.serverInfo.version, '1.13.5');
    const held = await again.next('update', (u) => u.participants.some((p) => p.identity === 'bob' && p.dataTracks.length === 1));
    assert.equal(held.participants[0].dataTracks[0].name, 'while-away');
    again.send('syncState', new SyncState({ publishDataTracks: [new PublishDataTrackResponse({ info })] }));
    assert.equal(await again.receives('leave', 500), false, 'sync_state accepted');
    const stats = await (await fetch(`${server.httpUrl}/debug/stats`)).json();
    const alice = stats.rooms.find((r) => r.name === room).participants.find((p) => p.identity === 'alice');
    assert.equal(alice.sid, a.joinResponse.participant.sid);
    assert.deepEqual(alice.published.map((t) => t.sid), [info.sid]);
    again.close();
    b.close();
  });

  test('/debug/drop-signal cuts a WebSocket without a leave, and the client can resume', async () => {
    const room = freshRoom();
    const a = await join('alice', { room });
    const closed = new Promise((resolve) => a.ws.once('close', resolve));
    const res = await fetch(`${server.httpUrl}/debug/drop-signal?room=${room}&identity=alice`);
    assert.equal(await res.text(), a.joinResponse.participant.sid);
    await closed;
    assert.equal(a.queue.some((m) => m.case === 'leave'), false);
    const again = await resume('alice', room, a.joinResponse.participant.sid);
    await again.next('reconnect');
    again.close();
    assert.equal((await fetch(`${server.httpUrl}/debug/drop-signal?room=${room}&identity=nobody`)).status, 404);
  });

  test('sync_state with a data track the server does not have: leave{RECONNECT}', async () => {
    const room = freshRoom();
    const a = await join('alice', { room });
    a.drop();
    const again = await resume('alice', room, a.joinResponse.participant.sid);
    await again.next('reconnect');
    const ghost = new DataTrackInfo({ pubHandle: 9, sid: 'DTR_ghost', name: 'ghost' });
    again.send('syncState', new SyncState({ publishDataTracks: [new PublishDataTrackResponse({ info: ghost })] }));
    const leave = await again.next('leave');
    assert.equal(leave.action, LeaveRequest_Action.RECONNECT);
  });

  test('/debug/fault leave-resume: leave{RESUME}, the WebSocket cut, the session kept for a resume', async () => {
    const room = freshRoom();
    const a = await join('alice', { room });
    const closed = new Promise((resolve) => a.ws.once('close', resolve));
    const res = await fetch(`${server.httpUrl}/debug/fault?room=${room}&identity=alice&kind=leave-resume`);
    assert.equal(await res.text(), a.joinResponse.participant.sid);
    const leave = await a.next('leave');
    assert.equal(leave.action, LeaveRequest_Action.RESUME);
    await closed;
    const again = await resume('alice', room, a.joinResponse.participant.sid);
    await again.next('reconnect');
    again.close();
  });

  test('/debug/fault leave-reconnect: leave{RECONNECT} and the session gone', async () => {
    const room = freshRoom();
    const a = await join('alice', { room });
    await fetch(`${server.httpUrl}/debug/fault?room=${room}&identity=alice&kind=leave-reconnect`);
    const leave = await a.next('leave');
    assert.equal(leave.action, LeaveRequest_Action.RECONNECT);
    const again = await resume('alice', room, a.joinResponse.participant.sid);
    assert.equal((await again.next('leave')).action, LeaveRequest_Action.RECONNECT, 'nothing left to resume');
  });

  test('/debug/fault: an unknown kind is 400, an unknown participant 404', async () => {
    const room = freshRoom();
    const a = await join('alice', { room });
    assert.equal((await fetch(`${server.httpUrl}/debug/fault?room=${room}&identity=alice&kind=explode`)).status, 400);
    assert.equal((await fetch(`${server.httpUrl}/debug/fault?room=${room}&identity=nobody&kind=close-pc`)).status, 404);
    a.close();
  });

  test('resume of an unknown session: leave{RECONNECT} first', async () => {
    const again = await resume('alice', freshRoom(), 'PA_unknown');
    const leave = await again.next('leave');
    assert.equal(leave.action, LeaveRequest_Action.RECONNECT);
    assert.equal(again.queue.length, 0);
  });
});
