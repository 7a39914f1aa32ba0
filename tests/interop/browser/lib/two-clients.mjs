// The shared opening of the browser tests and the demo: two official clients (pages A and B)
// join one room; A publishes a data track and B subscribes to it.
import { ok } from './run.mjs';

export const ROOM = 'browser-room';

/** Pages A ("alice") and B ("bob") joined to `server` with the given client options. */
export async function connectPair(scenario, server, clientOptions = {}) {
  const a = await scenario.newClientPage('A');
  const b = await scenario.newClientPage('B');
  const [ra, rb] = await Promise.all([
    a.call('connect', server.url, await server.token('alice', ROOM), clientOptions),
    b.call('connect', server.url, await server.token('bob', ROOM), clientOptions),
  ]);
  return { a, b, alice: ok(ra, 'A connect'), bob: ok(rb, 'B connect') };
}

/**
 * A publishes `name`; B finds it through dataTracks.getDeferred and subscribes.
 * Returns the publication as A saw it and as B saw it.
 */
export async function publishAndSubscribe(a, b, name, subscribeOptions = {}) {
  const published = ok(await a.call('publish', name), 'A publishDataTrack');
  const seen = ok(await b.call('awaitRemoteTrack', 'alice', name, 15000), 'B dataTracks.getDeferred');
  ok(await b.call('subscribe', 'alice', name, subscribeOptions), 'B subscribe');
  await waitUntilLive(a, b, name);
  return { published, seen };
}

/**
 * A subscription only receives frames pushed after it is active, and the client does not
 * say when that is: A pushes probe frames until B has received one.
 */
export async function waitUntilLive(a, b, name, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    ok(await a.call('pushProbe', name), 'A probe push');
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (await b.call('receivedProbes', name) > 0) return;
  }
  throw new Error(`B received none of A's probe frames within ${timeoutMs} ms of subscribing`);
}
