// One end of a bench/e2e path as a process speaking peer_protocol.h (gst_peer, room_peer,
// pion_lk): one command line in, one JSON line out. Used by e2e.mjs and cross_check.mjs.
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { API_KEY, API_SECRET } from '../../tests/interop/browser/lib/test-server.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const build = (p) => path.join(root, 'build', p);

/** The peer programs by kind; the environment overrides the build/ defaults. */
export const PEERS = {
  gst: process.env.LKT_E2E_GST_PEER ?? build('bench/e2e/gst_peer'),
  room: process.env.LKT_E2E_ROOM_PEER ?? build('bench/e2e/room_peer'),
  pion: process.env.LKT_E2E_PION_PEER || build('bench/e2e/pion_lk/pion_lk'),
};
export const PLUGIN_DIR = process.env.LKT_PLUGIN_DIR ?? build('gst');

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class PeerProcess {
  /**
   * `via` is a key of PEERS; a receiver subscribes to `publisher`'s track "bench". `build` runs
   * another build's program and plugin (bench/e2e/ab.mjs), with more environment variables.
   */
  constructor(role, via, server, room, identity, publisher, build = {}) {
    const { program = PEERS[via], pluginDir = PLUGIN_DIR, env = {} } = build;
    this.label = `${via} ${role}`;
    this.stderr = '';
    const argv = [role, '--room', room, '--identity', identity, '--track', 'bench'];
    if (role === 'recv') argv.push('--participant', publisher);
    this.child = spawn(program, argv, {
      env: { ...process.env, GST_PLUGIN_PATH: pluginDir, LIVEKIT_URL: server.url, LIVEKIT_API_KEY: API_KEY,
        LIVEKIT_API_SECRET: API_SECRET, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stderr.on('data', (d) => { this.stderr = (this.stderr + d).slice(-4000); });
    this.child.stdin.on('error', () => {}); // a peer gone: its exit below says why
    this.waiters = [];
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => {
      const answer = JSON.parse(line);
      const waiter = this.waiters.shift();
      if (answer.ev === 'error') waiter?.reject(new Error(`${this.label}: ${answer.message}`));
      else waiter?.resolve(answer);
    });
    this.exit = new Promise((resolve) => {
      const gone = (why) => {
        for (const w of this.waiters.splice(0)) w.reject(new Error(`${this.label} ${why}: ${this.stderr}`));
        resolve(why);
      };
      this.child.on('exit', (code) => gone(`exited (${code})`));
      this.child.on('error', (err) => gone(`did not start (${program}: ${err.message})`));
    });
  }

  request(line) {
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.child.stdin.write(`${line}\n`);
    });
  }

  pids() { return [this.child.pid]; }
  probe() { return this.request('probe'); }
  push(size, count, rate) { return this.request(`push ${size} ${count} ${rate}`); }
  async probes() { return (await this.request('probes')).count; }
  collect(count, timeoutMs, idleMs) { return this.request(`collect ${count} ${timeoutMs} ${idleMs}`); }

  async close() {
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15000);
    await this.exit;
    clearTimeout(timer);
  }
}

/** Probes until the receiver's subscription delivers (frames pushed before that are not counted). */
export async function waitLive(tx, rx, timeoutMs = 30000) {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
    await tx.probe();
    await sleep(100);
    if (await rx.probes() > 0) return;
  }
  throw new Error(`the receiver got no probe frame within ${timeoutMs} ms`);
}
