// Headless Chromium with pages that load the official livekit-client (UMD build) and our
// in-page helpers (client-page.js, exposed as window.lkt). The pages come from a tiny
// static HTTP server on 127.0.0.1, so they are a secure context (crypto.subtle, WebRTC).
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const clientUmd = require.resolve('livekit-client') // the 'require' export is the UMD build;

const FILES = {
  '/': { type: 'text/html', body: '<!doctype html><meta charset="utf-8"><title>lkt</title>'
    + '<script src="/client-page.js"></script><script src="/livekit-client.umd.js"></script>' },
  '/livekit-client.umd.js': { type: 'text/javascript', file: clientUmd },
  '/client-page.js': { type: 'text/javascript', file: path.join(here, 'client-page.js') },
  // The client's own E2EE worker, as shipped in the npm package (classic script build).
  '/livekit-client.e2ee.worker.js': { type: 'text/javascript',
    file: path.join(path.dirname(clientUmd), 'livekit-client.e2ee.worker.js') },
};

// Flags: headless, and no start-up requests to outside hosts; no host name is
// resolved at all (everything is 127.0.0.1, or the namespace address 10.99.0.1 where the real
// livekit-server listens). Chromium gives its WebRTC UDP sockets a 64 KiB
// receive buffer, which a burst of one large frame overflows on a busy machine (lost packets,
// lost frames); libwebrtc's field trial below asks for 4 MiB instead.
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE 10.99.0.1, EXCLUDE *.local',
  '--force-fieldtrials=WebRTC-SetSocketReceiveBuffer/Enabled-4096/'];

function serveStatic() {
  const server = http.createServer((req, res) => {
    const entry = FILES[new URL(req.url, 'http://x').pathname];
    if (!entry) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': entry.type, 'cache-control': 'no-store' });
    res.end(entry.body ?? fs.readFileSync(entry.file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

export class Browser {
  static async launch() {
    const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkt-chromium-'));
    const staticServer = await serveStatic();
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS,
    });
    return new Browser(context, staticServer, userDataDir);
  }

  constructor(context, staticServer, userDataDir) {
    this.context = context;
    this.staticServer = staticServer;
    this.userDataDir = userDataDir;
    this.origin = `http://127.0.0.1:${staticServer.address().port}`;
  }

  /** A fresh page with livekit-client and window.lkt loaded; `label` prefixes its console log. */
  async newClientPage(label) {
    const page = await this.context.newPage();
    const client = new ClientPage(page, label);
    await page.goto(`${this.origin}/`);
    await page.waitForFunction(() => window.LivekitClient && window.lkt);
    return client;
  }

  async close() {
    await this.context.close().catch(() => {});
    await new Promise((resolve) => this.staticServer.close(resolve));
    fs.rmSync(this.userDataDir, { recursive: true, force: true });
  }
}

/** One page = one official client. Records the WebSocket URLs it opens and its console. */
export class ClientPage {
  constructor(page, label) {
    this.page = page;
    this.label = label;
    this.webSocketUrls = [];
    this.console = [];
    page.on('websocket', (ws) => this.webSocketUrls.push(ws.url()));
    page.on('console', (msg) => {
      const line = `[${label}] ${msg.type()}: ${msg.text()}`;
      this.console.push(line);
      if (process.env.LOG) process.stderr.write(line + '\n');
    });
    page.on('pageerror', (err) => this.console.push(`[${label}] pageerror: ${err.message}`));
  }

  /** Calls window.lkt[name](...args) in the page and returns its (JSON-able) result. */
  call(name, ...args) {
    return this.page.evaluate(([n, a]) => window.lkt[n](...a), [name, args]);
  }

  /** The signalling paths this client connected to, e.g. ['/rtc/v1'] or ['/rtc/v1', '/rtc']. */
  signallingPaths() {
    return this.webSocketUrls.map((u) => new URL(u).pathname.replace(/\/+$/, ''));
  }
}
