// A reverse proxy in front of a LiveKit server whose WebSockets the test can
// cut, as a network blip would: no leave, no close frame, the server's peer
// connections untouched. GET /debug/cut-signal (answered here, not passed on)
// ends every WebSocket spliced so far and answers how many; everything else
// goes through unchanged. For the resume tests on the real server
// (tests/room/fault_test.cpp).
//   node cut-front.mjs <upstream ws://HOST:PORT>
// Prints "cut front listening on ws://HOST:PORT" when ready; SIGTERM stops it.
import http from 'node:http';
import { forwardRequest, spliceUpgrade } from '../support/http-front.mjs';

const upstream = new URL(process.argv[2]);
const target = { host: upstream.hostname, port: Number(upstream.port) };
const spliced = new Set(); // [client, upstream] socket pairs

const server = http.createServer((req, res) => {
  if (req.url === '/debug/cut-signal') {
    const cut = spliced.size;
    for (const pair of spliced) for (const socket of pair) socket.destroy();
    spliced.clear();
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`${cut}\n`);
    return;
  }
  forwardRequest(req, res, target);
});
server.on('upgrade', (req, client, head) => {
  const pair = [client, spliceUpgrade(req, client, head, target)];
  spliced.add(pair);
  client.on('close', () => spliced.delete(pair));
});

server.listen(0, target.host, () => {
  process.stdout.write(`cut front listening on ws://${target.host}:${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
