// Runs tests/interop/room/room_peer (our lib/room, one participant) as a child process and
// speaks its JSON-lines protocol: commands {cmd, ...} on stdin, events {ev, ...} on stdout.
// LKT_ROOM_PEER names the binary (meson sets it); by default the one in build/.
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../../..');
const BINARY = process.env.LKT_ROOM_PEER ?? path.join(root, 'build/tests/interop/room/room-peer');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class RoomPeer {
  constructor(label) {
    this.label = label;
    this.events = []; // every event, in order
    this.frames = new Map(); // track name -> frame events since clearFrames()
    this.stderr = '';
    this.child = spawn(BINARY, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.exit = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (chunk) => {
      this.stderr += chunk;
      if (process.env.LOG) process.stderr.write(`[${label}] ${chunk}`);
    });
    this.cursor = 0; // events before it answered earlier commands
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => {
      const ev = JSON.parse(line);
      if (ev.ev === 'frame') {
        if (!this.frames.has(ev.name)) this.frames.set(ev.name, []);
        this.frames.get(ev.name).push(ev);
      } else {
        this.events.push(ev);
      }
    });
  }

  /** Resolves with the first event after the cursor that `match` accepts; rejects on timeout. */
  async waitFor(what, match, timeoutMs = 30000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.events.findIndex((ev, j) => j >= this.cursor && match(ev));
      if (i >= 0) {
        this.cursor = i + 1;
        return this.events[i];
      }
      if (Date.now() > deadline) throw new Error(`${this.label}: no ${what} within ${timeoutMs} ms`);
      await sleep(10);
    }
  }

  /** Sends a command and returns its answer `ev`; throws with the peer's error message. */
  async request(command, ev, timeoutMs) {
    this.child.stdin.write(JSON.stringify(command) + '\n');
    const answer = await this.waitFor(`${ev} or error for ${command.cmd}`,
      (e) => e.ev === ev || (e.ev === 'error' && e.cmd === command.cmd), timeoutMs);
    if (answer.ev === 'error') throw new Error(`${this.label} ${command.cmd}: ${answer.message}`);
    return answer;
  }

  clearFrames(name) {
    this.frames.set(name, []);
  }

  /** The frames of `name` once `count` arrived, or nothing new came for `idleMs`. */
  async receivedFrames(name, count, timeoutMs = 15000, idleMs = 3000) {
    const deadline = Date.now() + timeoutMs;
    let seen = -1;
    let lastChange = Date.now();
    for (;;) {
      const frames = this.frames.get(name) ?? [];
      if (frames.length >= count || Date.now() > deadline || Date.now() - lastChange > idleMs) return frames;
      if (frames.length !== seen) {
        seen = frames.length;
        lastChange = Date.now();
      }
      await sleep(20);
    }
  }

  /** Closes stdin (the peer leaves and exits) and returns its exit status; kills it after `timeoutMs`. */
  async stop(timeoutMs = 10000) {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.stdin.end();
      const timeout = new Promise((resolve) => setTimeout(resolve, timeoutMs, null));
      const result = await Promise.race([this.exit, timeout]);
      if (result) return result;
      this.child.kill('SIGKILL');
      return { code: null, signal: 'SIGKILL', hung: true };
    }
    return this.exit;
  }
}
