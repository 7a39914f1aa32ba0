// Runs peer.mjs as a child process and speaks its JSON-lines protocol; used by
// the Node tests that pair two libwebrtc peers.
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export class PeerProcess {
  constructor(name) {
    this.name = name;
    this.events = [];     // every event seen, in order
    this.waiters = [];
    this.child = spawn(process.execPath, [path.join(here, 'peer.mjs')],
                       { stdio: ['pipe', 'pipe', 'inherit'] });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => {
      this.exitCode = code ?? signal;
      resolve(this.exitCode);
    }));
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => {
      const ev = JSON.parse(line);
      this.events.push(ev);
      this.waiters = this.waiters.filter((w) => !w.match(ev));
      this.onEvent?.(ev);
    });
  }

  send(cmd) {
    this.child.stdin.write(JSON.stringify(cmd) + '\n');
  }

  // Resolves with the first event (already seen from index `from`, or yet to
  // come) that satisfies pred; rejects after timeoutMs naming what it waited for.
  waitFor(what, pred, timeoutMs = 10000, from = 0) {
    const seen = this.events.slice(from).find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push({ match: (ev) => {
        if (!pred(ev)) return false;
        clearTimeout(timer);
        resolve(ev);
        return true;
      } });
    });
  }

  kill() {
    this.child.kill('SIGKILL');
  }
}

// Relays SDP and candidates from a to b and back, as a signalling server would.
export function relay(a, b) {
  const forward = (to) => (ev) => {
    if (ev.ev === 'sdp') to.send({ cmd: 'setRemote', type: ev.type, sdp: ev.sdp });
    if (ev.ev === 'candidate') to.send({ cmd: 'candidate', candidate: ev.candidate, sdpMid: ev.sdpMid });
  };
  a.onEvent = forward(b);
  b.onEvent = forward(a);
}
