// Runs tests/sfu/server.js as a child process on a free port and mints tokens for it.
// Contract (see the brief shared with "sfu"): one readiness line on stdout,
// "livekit-test-sfu listening on ws://HOST:PORT"; SIGTERM closes it with exit code 0.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { AccessToken } from 'livekit-server-sdk';

const here = path.dirname(fileURLToPath(import.meta.url));
// LKT_SFU_SCRIPT runs the tests against another server with the same command line.
const serverScript = process.env.LKT_SFU_SCRIPT ?? path.resolve(here, '../../../sfu/server.js');
const READY = /^livekit-test-sfu listening on (ws:\/\/\S+)$/m;

export const API_KEY = 'devkey';
export const API_SECRET = 'browser-test-secret';

export class TestServer {
  /** @param {string[]} flags extra server flags, e.g. ['--no-v1'] */
  static async start(flags = [], { readyTimeoutMs = 15000 } = {}) {
    const args = [serverScript, '--host', '127.0.0.1', '--port', '0',
      '--api-key', API_KEY, '--api-secret', API_SECRET, ...flags];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const server = new TestServer(child);
    server.url = await server.#waitReady(readyTimeoutMs);
    return server;
  }

  constructor(child) {
    this.child = child;
    this.stderr = '';
    this.exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    // Keep the server's log: it is printed when a test fails (and live with LOG set).
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      this.stderr += chunk;
      if (process.env.LOG) process.stderr.write(chunk);
    });
  }

  #waitReady(timeoutMs) {
    return new Promise((resolve, reject) => {
      let stdout = '';
      const timer = setTimeout(() => fail(`no readiness line within ${timeoutMs} ms`), timeoutMs);
      const fail = (why) => {
        clearTimeout(timer);
        this.child.kill('SIGKILL');
        reject(new Error(`test server did not start: ${why}\nstdout: ${stdout}\nstderr: ${this.stderr}`));
      };
      this.child.stdout.setEncoding('utf8');
      this.child.stdout.on('data', (chunk) => {
        stdout += chunk;
        const m = READY.exec(stdout);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      this.exit.then(({ code, signal }) => fail(`exited early (code ${code}, signal ${signal})`));
    });
  }

  /** SIGTERM, then the exit status; the contract says it exits 0. */
  async stop({ timeoutMs = 5000 } = {}) {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exit;
    this.child.kill('SIGTERM');
    const timeout = new Promise((resolve) => setTimeout(resolve, timeoutMs, null));
    const result = await Promise.race([this.exit, timeout]);
    if (result) return result;
    this.child.kill('SIGKILL');
    return { code: null, signal: 'SIGKILL', hung: true };
  }

  /** A join token for `identity` in `room`, signed with this server's secret (or `secret`). */
  token(identity, room, { secret = API_SECRET, grants = {} } = {}) {
    const at = new AccessToken(API_KEY, secret, { identity, ttl: '10m' });
    at.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true, canPublishData: true, ...grants });
    return at.toJwt();
  }
}
