// Runs the cases of one test file in one shared Chromium: a watchdog so nothing hangs,
// cleanup of what each case started, and on failure the server's log and the pages' console.
import { Browser } from './browser.mjs';
import { TestServer, SERVER_KIND, serverUnavailable } from './test-server.mjs';
import { RoomPeer } from './room-peer.mjs';

const tail = (text, lines = 60) => text.split('\n').slice(-lines).join('\n');

/** What one case starts: test servers, pages in the shared browser and our room peers. */
export class Scenario {
  constructor(browser) {
    this.browser = browser;
    this.servers = [];
    this.pages = [];
    this.roomPeers = [];
  }

  async startServer(flags = [], options = {}) {
    const server = await TestServer.start(flags, options);
    this.servers.push(server);
    return server;
  }

  async stopServer(server) {
    const exit = await server.stop();
    this.servers = this.servers.filter((s) => s !== server);
    return exit;
  }

  async newClientPage(label) {
    const page = await this.browser.newClientPage(label);
    this.pages.push(page);
    return page;
  }

  /** Our lib/room participant (tests/interop/room/room_peer.cpp), stopped with the case. */
  startRoomPeer(label) {
    const peer = new RoomPeer(label);
    this.roomPeers.push(peer);
    return peer;
  }

  diagnostics() {
    const parts = [];
    for (const s of this.servers) parts.push(`--- test server stderr (tail) ---\n${tail(s.stderr)}`);
    for (const p of this.pages) {
      parts.push(`--- ${p.label}: signalling ${JSON.stringify(p.signallingPaths())}`);
      parts.push(`--- ${p.label}: console (tail) ---\n${tail(p.console.join('\n'))}`);
    }
    for (const r of this.roomPeers) {
      parts.push(`--- ${r.label}: events (tail) ---\n${tail(r.events.map((e) => JSON.stringify(e)).join('\n'), 20)}`);
      parts.push(`--- ${r.label}: stderr (tail) ---\n${tail(r.stderr)}`);
    }
    return parts.join('\n');
  }

  async cleanup() {
    await Promise.all(this.pages.map((p) => p.page.close().catch(() => {})));
    await Promise.all(this.roomPeers.map((r) => r.stop()));
    await Promise.all(this.servers.map((s) => s.stop()));
  }
}

const running = new Set(); // scenarios whose diagnostics the watchdog prints

async function runCase(browser, title, body) {
  const scenario = new Scenario(browser);
  running.add(scenario);
  try {
    await body(scenario);
    console.log(`PASS ${title}`);
    return true;
  } catch (err) {
    console.error(`FAIL ${title}: ${err.stack ?? err}\n${scenario.diagnostics()}`);
    return false;
  } finally {
    running.delete(scenario);
    await scenario.cleanup();
  }
}

/**
 * Runs the named cases (all of `cases` when `names` is empty) in one browser, one after the
 * other or all at once (`concurrent`); exits 0 when all pass, 1 on a failure or after `timeoutMs`.
 */
export async function runCases(file, cases, names, { concurrent = false, timeoutMs = 120000 } = {}) {
  const unknown = names.filter((n) => !cases[n]);
  if (unknown.length) {
    console.error(`usage: ${file} [${Object.keys(cases).join('|')}]...`);
    process.exit(2);
  }
  const selected = names.length ? names : Object.keys(cases);
  const unavailable = serverUnavailable();
  if (unavailable) {
    console.log(`SKIP ${file}: ${unavailable}`);
    process.exit(77); // meson's "skipped"
  }
  console.log(`${file}: LKT_SERVER=${SERVER_KIND}`);
  const watchdog = setTimeout(() => {
    console.error(`FAIL ${file}: no result after ${timeoutMs} ms`);
    for (const scenario of running) console.error(scenario.diagnostics());
    process.exit(1);
  }, timeoutMs);
  const browser = await Browser.launch();
  let results;
  try {
    const run = (name) => runCase(browser, `${file} ${name}`, cases[name]);
    if (concurrent) {
      results = await Promise.all(selected.map(run));
    } else {
      results = [];
      for (const name of selected) results.push(await run(name));
    }
  } finally {
    await browser.close();
    clearTimeout(watchdog);
  }
  process.exit(results.every(Boolean) ? 0 : 1);
}

/** Unwraps a settle() result from the page: returns `ok`, throws with the page's error. */
export function ok(result, what) {
  if (result.error) {
    throw new Error(`${what} failed in the page: ${JSON.stringify(result.error)}`);
  }
  return result.ok;
}
