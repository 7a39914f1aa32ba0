// Passing HTTP requests and WebSocket upgrades through to an upstream server
// unchanged: the shared part of the test proxies put in front of a LiveKit
// server (tests/interop/browser/lib/v0-only-front.mjs hides /rtc/v1;
// tests/room/tls-front.mjs adds TLS).
import http from 'node:http';
import net from 'node:net';

/** Forwards one request to target {host, port} and its answer back. */
export function forwardRequest(req, res, target) {
  const forward = http.request({ ...target, method: req.method, path: req.url, headers: req.headers }, (answer) => {
    res.writeHead(answer.statusCode, answer.headers);
    answer.pipe(res);
  });
  forward.on('error', () => res.destroy());
  req.pipe(forward);
}

/** Replays an upgrade request's head to target and splices the two sockets; returns the upstream socket. */
export function spliceUpgrade(req, client, head, target) {
  const up = net.connect(target.port, target.host, () => {
    const lines = [`${req.method} ${req.url} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    up.write(lines.join('\r\n') + '\r\n\r\n');
    up.write(head);
    client.pipe(up).pipe(client);
  });
  up.on('error', () => client.destroy());
  client.on('error', () => up.destroy());
  return up;
}
