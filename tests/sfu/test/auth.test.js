// Access control as livekit-server does it, on both the WebSocket upgrade and the validate
// endpoints: the same status and message for bad signature, expiry, missing grants; the
// Authorization header wins over access_token; --no-v1 answers 404 so clients fall back.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { claims, get, joinRequestParam, SignalConnection, signJwt, startServer, token, v1Url } from './helpers.js';

let server;
before(async () => { server = await startServer(); });
after(async () => { assert.equal(await server.stop(), 0, 'exit code on SIGTERM'); });

// Both doors must give the same answer: validate (HTTP GET) and the upgrade itself.
async function refusedEverywhere(query, headers, status, message) {
  for (const path of ['/rtc/v1', '/rtc']) {
    const q = new URLSearchParams(query);
    if (path === '/rtc') q.delete('join_request');
    const v = await get(`${server.httpUrl}${path}/validate?${q}`, headers);
    assert.equal(v.status, status, `${path}/validate status`);
    assert.equal(v.body, message, `${path}/validate message`);
    assert.equal(v.headers.get('access-control-allow-origin'), '*', `${path}/validate CORS`);
    const err = await SignalConnection.open(`${server.url}${path}?${q}`, headers).then(
      (c) => { c.close(); return null; },
      (e) => e,
    );
    assert.ok(err, `${path} upgrade must be refused`);
    assert.equal(err.status, status, `${path} upgrade status`);
    assert.equal(err.body, message, `${path} upgrade message`);
  }
}

const jr = joinRequestParam();
const b64url = (buf) => buf.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');

describe('refusals', () => {
  test('signature made with another secret', async () => {
    const tok = signJwt(claims(), 'not-the-secret');
    await refusedEverywhere({ access_token: tok, join_request: jr }, {}, 401,
      'invalid authorization token: go-jose/go-jose: error in cryptographic primitive');
  });

  test('expired token', async () => {
    const tok = signJwt(claims({ expIn: -3600 }));
    await refusedEverywhere({ access_token: tok, join_request: jr }, {}, 401,
      'invalid authorization token: go-jose/go-jose/jwt: validation failed, token is expired (exp)');
  });

  test('no roomJoin grant', async () => {
    const tok = signJwt(claims({ video: { room: 'r1', canPublish: true } }));
    await refusedEverywhere({ access_token: tok, join_request: jr }, {}, 401, 'permissions denied');
  });

  test('no video grant at all / no token', async () => {
    await refusedEverywhere({ access_token: signJwt({ ...claims(), video: undefined }), join_request: jr }, {}, 401, 'no permissions to access the room');
    await refusedEverywhere({ join_request: jr }, {}, 401, 'no permissions to access the room');
  });

  test('unknown API key', async () => {
    await refusedEverywhere({ access_token: signJwt(claims({ key: 'otherkey' })), join_request: jr }, {}, 401, 'invalid API key');
  });

  test('not a JWT', async () => {
    await refusedEverywhere({ access_token: 'abc.def', join_request: jr }, {}, 401, 'invalid authorization token');
  });

  test('Authorization header wins over access_token', async () => {
    const good = await token();
    const bad = signJwt(claims({ expIn: -3600 }));
    await refusedEverywhere({ access_token: good, join_request: jr }, { Authorization: `Bearer ${bad}` }, 401,
      'invalid authorization token: go-jose/go-jose/jwt: validation failed, token is expired (exp)');
    await refusedEverywhere({ access_token: good, join_request: jr }, { Authorization: `Token ${good}` }, 401,
      'invalid authorization header. Must start with Bearer ');
  });

  test('empty identity', async () => {
    await refusedEverywhere({ access_token: signJwt(claims({ identity: '' })), join_request: jr }, {}, 400, 'identity cannot be empty');
  });
});

describe('join_request on /rtc/v1', () => {
  test('required on v1 (400), not on v0', async () => {
    const tok = await token();
    const v1 = await get(`${server.httpUrl}/rtc/v1/validate?access_token=${tok}`);
    assert.deepEqual([v1.status, v1.body], [400, 'join_request is required']);
    const v0 = await get(`${server.httpUrl}/rtc/validate?access_token=${tok}`);
    assert.deepEqual([v0.status, v0.body], [200, 'success']);
  });

  test('checked before the roomJoin grant', async () => {
    const tok = signJwt(claims({ video: { room: 'r1' } }));
    const v = await get(`${server.httpUrl}/rtc/v1/validate?access_token=${tok}`);
    assert.deepEqual([v.status, v.body], [400, 'join_request is required']);
  });

  test('padded base64url only; garbage refused', async () => {
    const tok = await token();
    const unpadded = joinRequestParam({ gzip: false }).replace(/=+$/, '');
    assert.notEqual(unpadded, joinRequestParam({ gzip: false }), 'vector needs padding');
    const cases = [
      [unpadded, 'cannot base64 decode wrapped join request'],
      [b64url(Buffer.from('not a join request')), 'cannot unmarshal wrapped join request'],
      // compression GZIP with bytes that are not gzip
      [b64url(Buffer.from([0x08, 0x01, 0x12, 0x03, 1, 2, 3])), 'cannot read decompressed join request'],
    ];
    for (const [param, message] of cases) {
      const v = await get(`${server.httpUrl}/rtc/v1/validate?access_token=${tok}&join_request=${param}`);
      assert.deepEqual([v.status, v.body], [400, message], param);
    }
  });

  test('uncompressed and gzip join requests are both accepted, with a bearer token too', async () => {
    const tok = await token();
    for (const gzip of [false, true]) {
      const v = await get(v1Url(server.httpUrl, { tok, joinRequest: joinRequestParam({ gzip }), validate: true }));
      assert.deepEqual([v.status, v.body], [200, 'success'], `gzip=${gzip}`);
      assert.equal(v.headers.get('access-control-allow-origin'), '*');
    }
    const c = await SignalConnection.open(v1Url(server.url, { joinRequest: jr }), { Authorization: `Bearer ${tok}` });
    const join = await c.next('join');
    assert.equal(join.participant.identity, 'alice');
    c.close();
  });
});

describe('HTTP', () => {
  test('CORS preflight and plain GET on the WebSocket paths', async () => {
    const res = await fetch(`${server.httpUrl}/rtc/v1/validate`, { method: 'OPTIONS' });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.match(res.headers.get('access-control-allow-headers'), /Authorization/);
    assert.equal((await get(`${server.httpUrl}/rtc`)).status, 404);
    assert.equal((await get(`${server.httpUrl}/nope`)).status, 404);
  });
});

describe('--no-v1', () => {
  let old;
  before(async () => { old = await startServer(['--no-v1']); });
  after(async () => { await old.stop(); });

  test('v1 answers 404 without "requested room does not exist"; /rtc still joins', async () => {
    const tok = await token();
    const v = await get(v1Url(old.httpUrl, { tok, validate: true }));
    assert.equal(v.status, 404);
    assert.doesNotMatch(v.body, /requested room does not exist/);
    const err = await SignalConnection.open(v1Url(old.url, { tok })).then(() => null, (e) => e);
    assert.equal(err?.status, 404);
    const c = await SignalConnection.open(`${old.url}/rtc?access_token=${tok}&protocol=17&sdk=js`);
    const join = await c.next('join');
    assert.equal(join.subscriberPrimary, true, 'v0 with protocol 17 is subscriber-primary');
    c.close();
  });
});

describe('bad input', () => {
  test('odd request targets get an answer, the server stays up', async () => {
    const net = await import('node:net');
    const { port } = new URL(server.httpUrl);
    const raw = (text) => new Promise((resolve) => {
      const sock = net.connect(Number(port), '127.0.0.1', () => sock.end(text));
      let out = '';
      sock.on('data', (d) => { out += d; });
      sock.on('close', () => resolve(out));
      sock.on('error', () => resolve(out));
    });
    const answers = [
      await raw('GET http://[bad HTTP/1.1\r\nHost: x\r\n\r\n'),
      await raw('GET //rtc/v1/validate?join_request=%%% HTTP/1.1\r\nHost: x\r\n\r\n'),
      await raw('GET /rtc/v1?access_token=a.b.c HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'),
    ];
    for (const a of answers) assert.match(a, /^HTTP\/1\.1 [45]\d\d /, JSON.stringify(a.slice(0, 80)));
    assert.equal((await get(`${server.httpUrl}/`)).body, 'OK', 'still serving');
  });
});
