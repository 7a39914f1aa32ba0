// Runs a LiveKit server for the browser tests as a child process on free ports, and mints
// tokens for it. Two kinds, chosen by LKT_SERVER, with one contract (one readiness line on
// stdout, "... listening on ws://HOST:PORT"; the log on stderr; SIGTERM exits 0):
//   sfu      (default) the bundled test server, tests/sfu/server.js
//   livekit  the real livekit-server v1.13.5 (scripts/livekit-server.sh; built by setup.sh)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { AccessToken } from 'livekit-server-sdk';
import { startV0OnlyFront } from './v0-only-front.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../../..');
const READY = /^\S+ listening on (ws:\/\/\S+)$/m;

export const API_KEY = 'devkey';
export const API_SECRET = 'browser-test-secret';

export const SERVER_KIND = process.env.LKT_SERVER ?? 'sfu';

// Each kind: how to start it and which test-server flags it can honour. The real server
// cannot fake a server without data tracks; tests/sfu is the place for that.
const KINDS = {
  sfu: {
    // LKT_SFU_SCRIPT runs the tests against another server with the same command line.
    // --no-latency-drop: the test server has no latency-based drop rule to switch off.
    command: (flags) => [process.execPath, process.env.LKT_SFU_SCRIPT ?? path.join(root, 'tests/sfu/server.js'),
      '--host', '127.0.0.1', ...flags.filter((f) => f !== '--no-latency-drop')],
    flags: ['--no-v1', '--no-data-tracks', '--data-tracks-disabled', '--ice-lite', '--no-resume', '--no-latency-drop'],
  },
  livekit: {
    // --no-v1 is a proxy in front of it (v0-only-front.mjs), not a server setting.
    command: (flags) => [path.join(root, 'scripts/livekit-server.sh'), ...flags.filter((f) => f !== '--no-v1')],
    flags: ['--no-v1', '--data-tracks-disabled', '--ice-lite', '--no-latency-drop'],
  },
};

/** Why a kind of server cannot run here (then the test reports itself skipped), or null. */
export function serverUnavailable(kind = SERVER_KIND) {
  if (!KINDS[kind]) return `LKT_SERVER=${kind}: not one of ${Object.keys(KINDS).join(', ')}`;
  if (kind !== 'livekit') return null;
  const cache = path.join(root, '.cache/livekit-server');
  if (fs.existsSync(path.join(cache, 'v1.13.5/livekit-server'))) return null;
  const why = fs.existsSync(path.join(cache, 'UNAVAILABLE'))
    ? fs.readFileSync(path.join(cache, 'UNAVAILABLE'), 'utf8').trim() : 'not built (run scripts/setup.sh)';
  return `no livekit-server: ${why}`;
}

/** True when a kind of server can be started with `flags`. */
export function serverSupports(flags, kind = SERVER_KIND) {
  return flags.every((f) => KINDS[kind].flags.includes(f));
}

export class TestServer {
  /** @param {string[]} flags extra server flags, e.g. ['--no-v1'] */
  static async start(flags = [], { kind = SERVER_KIND, readyTimeoutMs = 15000 } = {}) {
    if (!serverSupports(flags, kind)) throw new Error(`${kind} server cannot do ${flags.join(' ')}`);
    const [cmd, ...args] = KINDS[kind].command(flags);
    args.push('--port', '0', '--api-key', API_KEY, '--api-secret', API_SECRET);
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const server = new TestServer(child, kind);
    server.url = await server.#waitReady(readyTimeoutMs);
    if (kind === 'livekit' && flags.includes('--no-v1')) {
      server.front = await startV0OnlyFront(server.url);
      server.url = server.front.url;
    }
    return server;
  }

  constructor(child, kind) {
    this.child = child;
    this.kind = kind;
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
    await this.front?.close();
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
