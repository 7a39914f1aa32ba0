// Cross-checks lib/signal (through signal-tool) against the official packages:
//  - our tokens verify with livekit-server-sdk's TokenVerifier (jose) with the
//    claims we asked for; a wrong secret, a wrong key or an expired token fail;
//    livekit-server-sdk's own tokens read back through read_token_claims;
//  - our signalling and validate URLs equal livekit-client's createRtcUrl /
//    createValidateUrl (bundled from its TypeScript) for the same server URLs;
//  - our join_request decodes as the server does (padded base64url,
//    @livekit/protocol WrappedJoinRequest, gunzip, JoinRequest) to the fields
//    we set, with livekit-client's protocol and client protocol versions;
//  - the v0 query and the token's placement (Bearer header or access_token).
// Usage: node signal_interop.mjs BUNDLE TOOL PROJECT_VERSION
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { pathToFileURL } from 'node:url';
import { AccessToken, TokenVerifier } from 'livekit-server-sdk';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import {
  ClientInfo_SDK,
  JoinRequest,
  ReconnectReason,
  WrappedJoinRequest,
  WrappedJoinRequest_Compression,
} from '@livekit/protocol';

const [bundlePath, toolPath, projectVersion] = process.argv.slice(2);
if (!projectVersion) {
  console.error('usage: node signal_interop.mjs BUNDLE TOOL PROJECT_VERSION');
  process.exit(2);
}
const lk = await import(pathToFileURL(bundlePath).href);

// Runs signal-tool once for a batch of requests; one answer per request.
function tool(requests) {
  const run = spawnSync(toolPath, [], { input: requests.map((r) => JSON.stringify(r)).join('\n') + '\n', encoding: 'utf8' });
  assert.equal(run.status, 0, `signal-tool failed: ${run.stderr}`);
  const answers = run.stdout.trim().split('\n').map((line) => JSON.parse(line));
  assert.equal(answers.length, requests.length);
  return answers;
}
const one = (request) => tool([request])[0];

let checks = 0;
const failures = [];
async function check(name, body) {
  try {
    await body();
    checks++;
  } catch (e) {
    failures.push(`${name}: ${e.message}`);
  }
}

const KEY = 'devkey';
const SECRET = 'interop-secret-0123456789';
const now = () => Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------- tokens

const tokenCases = [
  { label: 'defaults', identity: 'sensor-1', room: 'telemetry' },
  { label: 'name, short validity', identity: 'cam', room: 'r', name: 'Camera One', validity: 90 },
  { label: 'JSON specials', identity: 'a"b\\c\n\u0001', room: 'room "x" / ü ✓', name: '</script>{"sub":"evil"}' },
  { label: 'data but no media publishing', identity: 'sensor', room: 'r', can_publish: false },
  { label: 'no data publishing', identity: 'viewer', room: 'r', can_publish_data: false },
  { label: 'no subscribe', identity: 'pub', room: 'r', can_subscribe: false },
];

for (const c of tokenCases) {
  await check(`token verifies with TokenVerifier (${c.label})`, async () => {
    const issuedAt = now();
    const answer = one({ op: 'token', api_key: KEY, api_secret: SECRET, now: issuedAt, ...c });
    assert.ok(answer.ok, answer.error);
    const claims = await new TokenVerifier(KEY, SECRET).verify(answer.token);
    assert.equal(claims.iss, KEY);
    assert.equal(claims.sub, c.identity);
    assert.equal(claims.nbf, issuedAt);
    assert.equal(claims.exp, issuedAt + (c.validity ?? 6 * 3600));
    if (c.name) assert.equal(claims.name, c.name);
    else assert.ok(!('name' in claims), 'no name claim when no name is given');
    assert.deepEqual(claims.video, {
      roomJoin: true,
      room: c.room,
      canPublish: c.can_publish ?? true,
      canSubscribe: c.can_subscribe ?? true,
      canPublishData: c.can_publish_data ?? true,
    });
    assert.deepEqual(decodeProtectedHeader(answer.token), { alg: 'HS256', typ: 'JWT' });
  });
}

await check('token signed with another secret, or for another key, or expired, is refused', async () => {
  const [good, expired, future] = tool([
    { op: 'token', api_key: KEY, api_secret: SECRET, identity: 'a', room: 'r' },
    { op: 'token', api_key: KEY, api_secret: SECRET, identity: 'a', room: 'r', now: now() - 7200, validity: 3600 },
    { op: 'token', api_key: KEY, api_secret: SECRET, identity: 'a', room: 'r', now: now() + 3600 },
  ]);
  await new TokenVerifier(KEY, SECRET).verify(good.token);
  await assert.rejects(new TokenVerifier(KEY, SECRET + 'x').verify(good.token), /signature/i);
  await assert.rejects(new TokenVerifier('otherkey', SECRET).verify(good.token), /iss/i);
  await assert.rejects(new TokenVerifier(KEY, SECRET).verify(expired.token), /exp/i);
  await assert.rejects(new TokenVerifier(KEY, SECRET).verify(future.token), /nbf/i);
});

await check('token refusals name what to set', async () => {
  const answers = tool([
    { op: 'token', api_key: '', api_secret: SECRET, identity: 'a', room: 'r' },
    { op: 'token', api_key: KEY, api_secret: '', identity: 'a', room: 'r' },
    { op: 'token', api_key: KEY, api_secret: SECRET, identity: '', room: 'r' },
    { op: 'token', api_key: KEY, api_secret: SECRET, identity: 'a', room: '' },
  ]);
  const expected = [/API key/, /API secret/, /identity/, /room/];
  answers.forEach((a, i) => {
    assert.equal(a.ok, false);
    assert.match(a.error, expected[i]);
  });
});

await check('read_token_claims reads livekit-server-sdk tokens', async () => {
  for (const [identity, room] of [['alice', 'r1'], ['b "ob" ü', 'room/with/slashes']]) {
    const at = new AccessToken(KEY, SECRET, { identity, name: 'N', ttl: '2h' });
    at.addGrant({ roomJoin: true, room, canPublishData: true });
    const token = await at.toJwt();
    const answer = one({ op: 'claims', token });
    assert.ok(answer.ok, answer.error);
    assert.equal(answer.identity, identity);
    assert.equal(answer.room, room);
    assert.equal(answer.expires_at, decodeJwt(token).exp);
  }
});

// ---------------------------------------------------------------- URLs against livekit-client

const serverUrls = [
  'wss://example.com',
  'wss://example.com/',
  'ws://127.0.0.1:7880',
  'http://localhost:7880',
  'https://example.com',
  'https://example.com:8443/livekit',
  'https://example.com/livekit/',
  'wss://example.com/a/b/',
  'wss://example.com/a%20b',
  'wss://example.com/a<b/ü',
  'ws://[::1]:7880',
  'wss://bücher.example',
  'wss://example.com/lk?region=eu',
  'http://example.com:7880/?a=1&b=two',
];
const OUR_PARAMETERS = ['access_token', 'join_request', 'reconnect', 'sid', 'auto_subscribe', 'auto_subscribe_data_track',
  'sdk', 'version', 'protocol', 'client_protocol', 'os', 'disable_ice_lite', 'reconnect_reason'];
// A URL with our own parameters removed, normalised as a browser would.
function withoutOurParameters(text) {
  const url = new URL(text);
  for (const name of OUR_PARAMETERS) url.searchParams.delete(name);
  return url.href;
}

for (const [protocol, useV0] of [['v1', false], ['v0', true]]) {
  await check(`${protocol} signalling and validate URLs equal livekit-client's`, async () => {
    const answers = tool(serverUrls.map((url) => ({ op: 'signal', url, token: 't.o.k', protocol })));
    answers.forEach((answer, i) => {
      const url = serverUrls[i];
      assert.ok(answer.ok, `${url}: ${answer.error}`);
      const theirs = lk.createRtcUrl(url, new URLSearchParams(), useV0);
      const theirValidate = lk.createValidateUrl(theirs.toString());
      assert.equal(withoutOurParameters(answer.websocket_url), new URL(theirs).href, url);
      assert.equal(withoutOurParameters(answer.validate_url), new URL(theirValidate).href, url);
    });
  });
}

await check('refused server URLs', async () => {
  const refused = ['', 'example.com', 'localhost:7880', 'ftp://example.com', 'wss://', 'wss://u:p@example.com',
    'wss://example.com/#x', 'wss://example.com:99999', 'wss://exa mple.com'];
  tool(refused.map((url) => ({ op: 'server_url', url }))).forEach((answer, i) => {
    assert.equal(answer.ok, false, `${JSON.stringify(refused[i])} was accepted`);
    assert.ok(answer.error.length > 20, answer.error);
  });
});

// ---------------------------------------------------------------- join_request as the server reads it

// Go's base64.URLEncoding: URL alphabet, padding required.
const PADDED_BASE64URL = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}==|[A-Za-z0-9_-]{3}=)?$/;
function decodeJoinRequest(websocketUrl) {
  const url = new URL(websocketUrl);
  const raw = url.search.slice(1).split('&').find((p) => p.startsWith('join_request='));
  assert.ok(raw, 'join_request parameter present');
  assert.ok(!raw.slice('join_request='.length).includes('='), "'=' padding is percent-encoded");
  const b64 = url.searchParams.get('join_request');
  assert.match(b64, PADDED_BASE64URL);
  const wrapped = WrappedJoinRequest.fromBinary(Buffer.from(b64, 'base64url'));
  assert.equal(wrapped.compression, WrappedJoinRequest_Compression.GZIP);
  return JoinRequest.fromBinary(gunzipSync(wrapped.joinRequest));
}

const joinCases = [
  { label: 'new join', options: {} },
  { label: 'options on', options: { auto_subscribe: true, auto_subscribe_data_track: true, disable_ice_lite: true } },
  ...['PA_x', 'PA_xy', 'PA_xyz'].map((sid) => ({
    label: `resume ${sid}`,
    options: { reconnect: true, participant_sid: sid, reconnect_reason: ReconnectReason.RR_SIGNAL_DISCONNECTED },
  })),
];
await check('v1 join_request decodes with @livekit/protocol to the fields we set', async () => {
  const answers = tool(joinCases.map((c) => ({ op: 'signal', url: 'wss://example.com', token: 't.o.k', protocol: 'v1', ...c.options })));
  let padded = 0;
  answers.forEach((answer, i) => {
    const { label, options } = joinCases[i];
    assert.ok(answer.ok, `${label}: ${answer.error}`);
    if (new URL(answer.websocket_url).searchParams.get('join_request').endsWith('=')) padded++;
    const join = decodeJoinRequest(answer.websocket_url);
    const info = join.clientInfo;
    assert.equal(info.sdk, ClientInfo_SDK.CPP, label);
    assert.equal(info.version, projectVersion, label);
    assert.equal(info.protocol, lk.protocolVersion, `${label}: livekit-client's protocol version`);
    assert.equal(info.clientProtocol, lk.clientProtocol, `${label}: livekit-client's client protocol`);
    assert.equal(info.os, 'linux', label);
    const cs = join.connectionSettings;
    assert.equal(cs.autoSubscribe, options.auto_subscribe ?? false, label);
    assert.equal(cs.autoSubscribeDataTrack, options.auto_subscribe_data_track ?? false, `${label}: set, and to this`);
    assert.equal(cs.disableIceLite, options.disable_ice_lite ?? false, label);
    assert.equal(join.reconnect, options.reconnect ?? false, label);
    assert.equal(join.participantSid, options.participant_sid ?? '', label);
    assert.equal(join.reconnectReason, options.reconnect_reason ?? ReconnectReason.RR_UNKNOWN, label);
  });
  assert.ok(padded > 0, 'some case has padding');
});

// ---------------------------------------------------------------- v0 query and token placement

await check('v0 query has what livekit-server reads', async () => {
  const [fresh, resume] = tool([
    { op: 'signal', url: 'wss://example.com', token: 't.o.k', protocol: 'v0' },
    { op: 'signal', url: 'wss://example.com', token: 't.o.k', protocol: 'v0', reconnect: true, participant_sid: 'PA_a&b',
      reconnect_reason: ReconnectReason.RR_PUBLISHER_FAILED, auto_subscribe_data_track: true },
  ]);
  const q = new URL(fresh.websocket_url).searchParams;
  // livekit-server v1.13.5 ParseClientInfo maps sdk=cpp to ClientInfo.CPP.
  assert.equal(q.get('sdk'), 'cpp');
  assert.equal(ClientInfo_SDK[q.get('sdk').toUpperCase()], ClientInfo_SDK.CPP);
  assert.equal(q.get('version'), projectVersion);
  assert.equal(q.get('protocol'), String(lk.protocolVersion));
  assert.equal(q.get('client_protocol'), String(lk.clientProtocol));
  assert.equal(q.get('os'), 'linux');
  assert.equal(q.get('auto_subscribe'), '0');
  assert.equal(q.get('auto_subscribe_data_track'), '0');
  assert.equal(q.has('reconnect'), false);
  assert.equal(q.has('join_request'), false);
  const r = new URL(resume.websocket_url).searchParams;
  assert.equal(r.get('reconnect'), '1');
  assert.equal(r.get('sid'), 'PA_a&b');
  assert.equal(r.get('reconnect_reason'), String(ReconnectReason.RR_PUBLISHER_FAILED));
  assert.equal(r.get('auto_subscribe_data_track'), '1');
});

await check('token as Bearer header by default, as access_token on request, never in the redacted URL', async () => {
  const token = one({ op: 'token', api_key: KEY, api_secret: SECRET, identity: 'a', room: 'r' }).token;
  for (const protocol of ['v1', 'v0']) {
    const [header, query] = tool([
      { op: 'signal', url: 'wss://example.com', token, protocol },
      { op: 'signal', url: 'wss://example.com', token, protocol, placement: 'query' },
    ]);
    assert.equal(header.authorization, `Bearer ${token}`);
    for (const url of [header.websocket_url, header.validate_url]) assert.ok(!url.includes(token), url);
    assert.equal(query.authorization, '');
    assert.equal(new URL(query.websocket_url).searchParams.get('access_token'), token);
    assert.equal(new URL(query.validate_url).searchParams.get('access_token'), token);
    for (const answer of [header, query]) {
      assert.ok(!answer.redacted_url.includes(token));
      assert.ok(!answer.redacted_url.includes('join_request'));
      assert.ok(!answer.redacted_url.includes('access_token'));
    }
  }
});

for (const f of failures) console.error(`FAIL ${f}`);
console.log(`signal interop: ${checks} checks passed, ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
