// A reverse proxy in front of the real livekit-server that makes it look like a server from
// before single-peer-connection signalling: /rtc/v1 (WebSocket and validate) answers 404 the
// way Go's HTTP mux does for a route it lacks, with livekit-server's CORS headers so the
// page's fetch() can read it; everything else (/rtc, /rtc/validate, ...) goes through
// unchanged. The official client then falls back to /rtc, as it does with a real old server.
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { forwardRequest, spliceUpgrade } from '../../../support/http-front.mjs';

const CORS = { 'access-control-allow-origin': '*', 'access-control-allow-headers': '*',
  'access-control-allow-methods': 'GET, POST, OPTIONS' };
const isV1 = (url) => url === '/rtc/v1' || url.startsWith('/rtc/v1/') || url.startsWith('/rtc/v1?');

/** Listens next to `upstreamUrl` (ws://HOST:PORT); resolves to { url, close() }. */
export async function startV0OnlyFront(upstreamUrl) {
  const upstream = new URL(upstreamUrl);
  const target = { host: upstream.hostname, port: Number(upstream.port) };
  const sockets = new Set();

  const server = http.createServer((req, res) => {
    if (isV1(req.url)) {
      res.writeHead(req.method === 'OPTIONS' ? 204 : 404, { ...CORS, 'content-type': 'text/plain; charset=utf-8' });
      res.end(req.method === 'OPTIONS' ? undefined : '404 page not found\n');
      return;
    }
    forwardRequest(req, res, target);
  });

  // WebSocket upgrades: refuse v1; otherwise replay the request head and splice the sockets.
  server.on('upgrade', (req, client, head) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    if (isV1(req.url)) {
      client.end('HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\ncontent-length: 19\r\n\r\n404 page not found\n');
      return;
    }
    const up = spliceUpgrade(req, client, head, target);
    sockets.add(up);
    up.on('close', () => { sockets.delete(up); client.destroy(); });
  });

  await new Promise((resolve) => server.listen(0, target.host, resolve));
  return {
    url: `ws://${target.host}:${server.address().port}`,
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
      server.closeAllConnections?.();
    }),
  };
}

// Run on its own (the room tests do): node v0-only-front.mjs ws://UPSTREAM
// prints "v0-only front listening on ws://HOST:PORT"; SIGTERM stops it.
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const front = await startV0OnlyFront(process.argv[2]);
  process.stdout.write(`v0-only front listening on ${front.url}\n`);
  process.on('SIGTERM', () => front.close().then(() => process.exit(0)));
}
