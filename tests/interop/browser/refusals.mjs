// Official livekit-client (Chromium) against a LiveKit server (LKT_SERVER) when it must say no.
//   node refusals.mjs [bad-token|data-tracks-disabled|no-data-tracks]...   (all when none is named)
//   bad-token       a token signed with the wrong secret: room.connect rejects with
//                   ConnectionError NotAllowed, HTTP status 401
//   data-tracks-disabled  data tracks switched off on the server (livekit-server's
//                   enable_data_tracks: false): publishDataTrack rejects at once with
//                   DataTrackPublishError NotAllowed and the server's text
//   no-data-tracks  a server without data tracks (tests/sfu --no-data-tracks only): publishDataTrack
//                   rejects with the client's own ~10 s Timeout
// Run inside scripts/netns-run.sh.
import assert from 'node:assert/strict';
import { runCases, ok } from './lib/run.mjs';
import { ROOM } from './lib/two-clients.mjs';

const CASES = {
  'bad-token': async (scenario) => {
    const server = await scenario.startServer();
    const page = await scenario.newClientPage('A');
    const token = await server.token('mallory', ROOM, { secret: 'not-the-server-secret' });
    const result = await page.call('connect', server.url, token);
    assert.ok(result.error, `connect with a forged token succeeded: ${JSON.stringify(result)}`);
    assert.equal(result.error.name, 'ConnectionError', JSON.stringify(result.error));
    assert.equal(result.error.reasonName, 'NotAllowed', JSON.stringify(result.error));
    assert.equal(result.error.status, 401, JSON.stringify(result.error));
    assert.ok(result.elapsedMs < 10000, `refusal took ${result.elapsedMs} ms`);
  },

  'data-tracks-disabled': async (scenario) => {
    const server = await scenario.startServer(['--data-tracks-disabled']);
    const page = await scenario.newClientPage('A');
    ok(await page.call('connect', server.url, await server.token('alice', ROOM)), 'connect');
    const result = await page.call('publish', 'telemetry');
    assert.ok(result.error, `publishDataTrack succeeded with data tracks disabled: ${JSON.stringify(result)}`);
    assert.equal(result.error.name, 'DataTrackPublishError', JSON.stringify(result.error));
    assert.equal(result.error.reasonName, 'NotAllowed', JSON.stringify(result.error));
    assert.equal(result.error.rawMessage, 'does not have permission to publish data', JSON.stringify(result.error));
    assert.ok(result.elapsedMs < 5000, `refusal took ${result.elapsedMs} ms`);
  },

  'no-data-tracks': async (scenario) => {
    const server = await scenario.startServer(['--no-data-tracks']);
    const page = await scenario.newClientPage('A');
    ok(await page.call('connect', server.url, await server.token('alice', ROOM)), 'connect');
    const result = await page.call('publish', 'telemetry');
    assert.ok(result.error, `publishDataTrack succeeded on a server without data tracks: ${JSON.stringify(result)}`);
    assert.equal(result.error.name, 'DataTrackPublishError', JSON.stringify(result.error));
    assert.equal(result.error.reasonName, 'Timeout', JSON.stringify(result.error));
    // The client's publish timeout is 10 s: an earlier refusal would be a different behaviour.
    assert.ok(result.elapsedMs > 9000 && result.elapsedMs < 14000, `publish gave up after ${result.elapsedMs} ms`);
  },
};

// All at once in one browser: the refusals come while the no-data-tracks publish waits out its timeout.
await runCases('refusals.mjs', CASES, process.argv.slice(2), { concurrent: true, timeoutMs: 60000 });
