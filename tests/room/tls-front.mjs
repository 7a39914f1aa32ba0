// A TLS-terminating reverse proxy in front of a LiveKit server, for the room
// tests of wss:// (certificate verification on, and a CA file that makes a
// private certificate verify). Everything, WebSocket upgrades included, is
// passed through unchanged.
//   node tls-front.mjs <upstream ws://HOST:PORT> <cert.pem> <key.pem>
// Prints "tls front listening on wss://HOST:PORT" when ready; SIGTERM stops it.
import fs from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import net from 'node:net';

const [upstreamUrl, certFile, keyFile] = process.argv.slice(2);
const upstream = new URL(upstreamUrl);
const target = { host: upstream.hostname, port: Number(upstream.port) };

const server = https.createServer({ cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) }, (req, res) => {
  const forward = http.request({ ...target, method: req.method, path: req.url, headers: req.headers }, (answer) => {
    res.writeHead(answer.statusCode, answer.headers);
    answer.pipe(res);
  });
  forward.on('error', () => res.destroy());
  req.pipe(forward);
});

server.on('upgrade', (req, client, head) => {
  const up = net.connect(target.port, target.host, () => {
    const lines = [`${req.method} ${req.url} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    up.write(lines.join('\r\n') + '\r\n\r\n');
    up.write(head);
    client.pipe(up).pipe(client);
  });
  up.on('error', () => client.destroy());
  client.on('error', () => up.destroy());
});

server.listen(0, target.host, () => {
  process.stdout.write(`tls front listening on wss://${target.host}:${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
