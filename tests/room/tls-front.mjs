// A TLS-terminating reverse proxy in front of a LiveKit server, for the room
// tests of wss:// (certificate verification on, and a CA file that makes a
// private certificate verify). Everything, WebSocket upgrades included, is
// passed through unchanged.
//   node tls-front.mjs <upstream ws://HOST:PORT> <cert.pem> <key.pem>
// Prints "tls front listening on wss://HOST:PORT" when ready; SIGTERM stops it.
import fs from 'node:fs';
import https from 'node:https';
import { forwardRequest, spliceUpgrade } from '../support/http-front.mjs';

const [upstreamUrl, certFile, keyFile] = process.argv.slice(2);
const upstream = new URL(upstreamUrl);
const target = { host: upstream.hostname, port: Number(upstream.port) };

const server = https.createServer({ cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) },
  (req, res) => forwardRequest(req, res, target));
server.on('upgrade', (req, client, head) => spliceUpgrade(req, client, head, target));

server.listen(0, target.host, () => {
  process.stdout.write(`tls front listening on wss://${target.host}:${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
