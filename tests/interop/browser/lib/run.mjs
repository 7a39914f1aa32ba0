// Runs one test scenario: a watchdog so it never hangs, cleanup of everything it started,
// and on failure the server's log and the pages' console to show what went wrong.
import { Browser } from './browser.mjs';
import { TestServer } from './test-server.mjs';

const tail = (text, lines = 60) => text.split('\n').slice(-lines).join('\n');

export class Scenario {
  constructor() {
    this.servers = [];
    this.browser = null;
    this.pages = [];
  }

  async startServer(flags = []) {
    const server = await TestServer.start(flags);
    this.servers.push(server);
    return server;
  }

  async stopServer(server) {
    const exit = await server.stop();
    this.servers = this.servers.filter((s) => s !== server);
    return exit;
  }

  async newClientPage(label) {
    this.browser ??= await Browser.launch();
    const page = await this.browser.newClientPage(label);
    this.pages.push(page);
    return page;
  }

  diagnostics() {
    const parts = [];
    for (const s of this.servers) parts.push(`--- test server stderr (tail) ---\n${tail(s.stderr)}`);
    for (const p of this.pages) {
      parts.push(`--- ${p.label}: signalling ${JSON.stringify(p.signallingPaths())}`);
      parts.push(`--- ${p.label}: console (tail) ---\n${tail(p.console.join('\n'))}`);
    }
    return parts.join('\n');
  }

  async cleanup() {
    await Promise.all(this.servers.map((s) => s.stop()));
    if (this.browser) await this.browser.close();
  }
}

/** Runs `body(scenario)`; exits 0 on success, 1 on failure or after `timeoutMs`. */
export async function runScenario(title, body, { timeoutMs = 60000 } = {}) {
  const scenario = new Scenario();
  const watchdog = setTimeout(() => {
    console.error(`FAIL ${title}: no result after ${timeoutMs} ms\n${scenario.diagnostics()}`);
    process.exit(1);
  }, timeoutMs);
  let failed = false;
  try {
    await body(scenario);
    console.log(`PASS ${title}`);
  } catch (err) {
    failed = true;
    console.error(`FAIL ${title}: ${err.stack ?? err}\n${scenario.diagnostics()}`);
  } finally {
    await scenario.cleanup();
    clearTimeout(watchdog);
  }
  process.exit(failed ? 1 : 0);
}

/** Unwraps a settle() result from the page: returns `ok`, throws with the page's error. */
export function ok(result, what) {
  if (result.error) {
    throw new Error(`${what} failed in the page: ${JSON.stringify(result.error)}`);
  }
  return result.ok;
}
