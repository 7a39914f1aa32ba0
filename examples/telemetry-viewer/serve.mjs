#!/usr/bin/env node
// Serves the telemetry viewer: the page, livekit-client, and join tokens for
// it (subscribe-only), so one command shows a data track live in a browser.
//   node examples/telemetry-viewer/serve.mjs [--port 8080] [--host 127.0.0.1]
// The LiveKit server comes from LIVEKIT_URL, LIVEKIT_API_KEY and
// LIVEKIT_API_SECRET (LiveKit's own variables; default: a local
// livekit-server --dev at ws://127.0.0.1:7880 with devkey / secret).
// Open http://HOST:PORT/?room=ROOM&participant=PUBLISHER&track=TRACK
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AccessToken } from 'livekit-server-sdk';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const { values } = parseArgs({ options: { port: { type: 'string', default: '8080' }, host: { type: 'string', default: '127.0.0.1' } } });

const livekit = {
  url: process.env.LIVEKIT_URL ?? 'ws://127.0.0.1:7880',
  key: process.env.LIVEKIT_API_KEY ?? 'devkey',
  secret: process.env.LIVEKIT_API_SECRET ?? 'secret',
};

const FILES = {
  '/': ['text/html', path.join(here, 'index.html')],
  '/viewer.js': ['text/javascript', path.join(here, 'viewer.js')],
  '/livekit-client.umd.js': ['text/javascript', require.resolve('livekit-client')],
};

// A subscribe-only token for one viewer.
async function token(room, identity) {
  const at = new AccessToken(livekit.key, livekit.secret, { identity, ttl: '1h' });
  at.addGrant({ roomJoin: true, room, canSubscribe: true, canPublish: false, canPublishData: false });
  return at.toJwt();
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/token') {
    const room = url.searchParams.get('room');
    if (!room) return res.writeHead(400).end('room is required');
    const identity = `viewer-${Math.random().toString(36).slice(2, 8)}`;
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify({ url: livekit.url, token: await token(room, identity) }));
  }
  const file = FILES[url.pathname];
  if (!file) return res.writeHead(404).end();
  res.writeHead(200, { 'content-type': file[0], 'cache-control': 'no-store' });
  res.end(fs.readFileSync(file[1]));
});

server.listen(Number(values.port), values.host, () => {
  const { port } = server.address();
  process.stdout.write(`telemetry viewer listening on http://${values.host}:${port}/ (LiveKit ${livekit.url})\n`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
