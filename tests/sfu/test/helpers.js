// Test helpers: start the server as a child process, mint tokens, and speak LiveKit
// signalling over `ws` with @livekit/protocol messages.
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { AccessToken } from 'livekit-server-sdk';
import { ClientInfo, ClientInfo_SDK, ConnectionSettings, DisconnectReason, JoinRequest, LeaveRequest, SignalRequest, SignalResponse, WrappedJoinRequest, WrappedJoinRequest_Compression } from '@livekit/protocol';
import WebSocket from 'ws';

const SERVER = fileURLToPath(new URL('../server.js', import.meta.url));

// Starts the server on a free port; resolves {url, httpUrl, proc, stop()}.
export function startServer(args = [], { timeoutMs = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [SERVER, '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`server not ready: ${err}`)); }, timeoutMs);
    proc.stderr.on('data', (d) => { err += d; if (process.env.SFU_TEST_LOG) process.stderr.write(d); });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}: ${err}`)); });
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/^livekit-test-sfu listening on (ws:\/\/[^\s]+)\n/);
      if (!m) return;
      clearTimeout(timer);
      proc.removeAllListeners('exit');
      const url = m[1];
      resolve({
        url,
        httpUrl: url.replace(/^ws/, 'http'),
        proc,
        stderr: () => err,
        stop: () => new Promise((res) => {
          if (proc.exitCode !== null) return res(proc.exitCode);
          proc.once('exit', (code, signal) => res(code ?? signal));
          proc.kill('SIGTERM');
        }),
      });
    });
  });
}

export async function token({ identity = 'alice', room = 'r1', grant = {}, ttl = '10m', key = 'devkey', secret = 'secret' } = {}) {
  const at = new AccessToken(key, secret, { identity, ttl });
  at.addGrant({ roomJoin: true, room, ...grant });
  return at.toJwt();
}

// base64url WITH padding of a gzip-wrapped JoinRequest, as livekit-client sends it.
export function joinRequestParam({ autoSubscribeDataTrack, publisherOffer, gzip = true, resumeSid } = {}) {
  const jr = new JoinRequest({
    clientInfo: new ClientInfo({ sdk: ClientInfo_SDK.JS, version: '2.23.0', protocol: 17, clientProtocol: 2 }),
    connectionSettings: new ConnectionSettings({ autoSubscribe: false, autoSubscribeDataTrack }),
    publisherOffer,
    reconnect: !!resumeSid,
    participantSid: resumeSid,
  });
  const bytes = jr.toBinary();
  const wrapped = new WrappedJoinRequest({
    compression: gzip ? WrappedJoinRequest_Compression.GZIP : WrappedJoinRequest_Compression.NONE,
    joinRequest: gzip ? gzipSync(bytes) : bytes,
  });
  return Buffer.from(wrapped.toBinary()).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

export function v1Url(base, { tok, joinRequest = joinRequestParam(), validate = false } = {}) {
  const u = new URL(`${base}/rtc/v1${validate ? '/validate' : ''}`);
  if (tok) u.searchParams.set('access_token', tok);
  if (joinRequest) u.searchParams.set('join_request', joinRequest);
  return u.toString();
}

// A signalling connection: send(case, value) and next(case) with a timeout.
export class SignalConnection {
  static open(url, headers = {}) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      ws.binaryType = 'nodebuffer';
      ws.once('open', () => resolve(new SignalConnection(ws)));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d) => { body += d; });
        res.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode} ${body}`), { status: res.statusCode, body })));
      });
      ws.once('error', reject);
    });
  }

  constructor(ws) {
    this.ws = ws;
    this.queue = [];
    this.waiters = [];
    ws.on('message', (data, isBinary) => {
      const msg = isBinary ? SignalResponse.fromBinary(new Uint8Array(data)).message : SignalResponse.fromJsonString(data.toString()).message;
      this.queue.push(msg);
      this.wake();
    });
  }

  wake() {
    for (const w of [...this.waiters]) {
      const i = this.queue.findIndex(w.match);
      if (i >= 0) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve(this.queue.splice(i, 1)[0].value);
      }
    }
  }

  // Next message of `kind` (optionally matching `pred`), skipping nothing else.
  next(kind, pred = () => true, timeoutMs = 5000) {
    return new Promise((resolve, reject) => {
      const w = { match: (m) => m.case === kind && pred(m.value), resolve };
      w.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`no ${kind} within ${timeoutMs} ms; queued: ${this.queue.map((m) => m.case).join(',')}`));
      }, timeoutMs);
      this.waiters.push(w);
      this.wake();
    });
  }

  // True if a message of `kind` arrives within ms.
  async receives(kind, ms) {
    try {
      await this.next(kind, () => true, ms);
      return true;
    } catch {
      return false;
    }
  }

  send(kind, value) {
    this.ws.send(new SignalRequest({ message: { case: kind, value } }).toBinary());
  }

  // A polite goodbye, as clients do: leave, then close. drop() is the abrupt kind.
  close() {
    if (this.ws.readyState === WebSocket.OPEN) this.send('leave', new LeaveRequest({ reason: DisconnectReason.CLIENT_INITIATED }));
    this.ws.close();
  }

  drop() {
    this.ws.terminate();
  }
}

// A hand-made HS256 JWT, for tokens livekit-server-sdk will not mint (expired, odd claims).
export function signJwt(claims, secret = 'secret') {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(claims)}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

export function claims({ identity = 'alice', room = 'r1', video = { roomJoin: true, room }, expIn = 600, key = 'devkey' } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return { iss: key, sub: identity, nbf: now - 10, exp: now + expIn, video };
}

// GET on the server; resolves {status, body, headers}.
export async function get(url, headers = {}) {
  const res = await fetch(url, { headers });
  return { status: res.status, body: await res.text(), headers: res.headers };
}
