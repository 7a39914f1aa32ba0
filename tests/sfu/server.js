#!/usr/bin/env node
// LiveKit-compatible test server for data tracks (a test/demo fixture, never production).
//   node tests/sfu/server.js [--host 127.0.0.1] [--port 7880] [--api-key devkey]
//     [--api-secret secret] [--no-v1] [--no-data-tracks | --data-tracks-disabled] [--ice-lite] [--no-resume]
// Prints one line "livekit-test-sfu listening on ws://HOST:PORT" when ready (port 0 picks a
// free port); logs go to stderr (LOG=debug for more); SIGTERM closes everything, exit 0.
import { parseArgs } from 'node:util';
import { logger } from './lib/log.js';
import { relaunchWithUdpBuffers } from './lib/udp_buffers.js';

const log = logger('server');

function parseCli(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '7880' },
      'api-key': { type: 'string', default: 'devkey' },
      'api-secret': { type: 'string', default: 'secret' },
      'no-v1': { type: 'boolean', default: false },
      'no-data-tracks': { type: 'boolean', default: false },
      'data-tracks-disabled': { type: 'boolean', default: false },
      'ice-lite': { type: 'boolean', default: false },
      'no-resume': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65535) throw new Error(`--port: not a port number: ${values.port}`);
  return {
    host: values.host,
    port,
    keys: new Map([[values['api-key'], values['api-secret']]]),
    v1: !values['no-v1'],
    dataTracks: !values['no-data-tracks'],
    dataTracksAllowed: !values['data-tracks-disabled'],
    iceLite: values['ice-lite'],
    resume: !values['no-resume'],
  };
}

async function serve(config) {
  // Loaded only here: a supervising parent (see udp_buffers.js) never starts libwebrtc.
  const { randomId } = await import('./lib/ids.js');
  const { RoomRegistry } = await import('./lib/room.js');
  const { createSfuServer } = await import('./lib/http_server.js');

  const rooms = new RoomRegistry({ dataTracksEnabled: config.dataTracks, dataTracksAllowed: config.dataTracksAllowed });
  const server = createSfuServer({ ...config, rooms, nodeId: randomId('ND_') });
  server.http.on('error', (e) => {
    process.stderr.write(`livekit-test-sfu: cannot listen on ${config.host}:${config.port}: ${e.message}\n`);
    process.exit(1);
  });
  server.http.listen(config.port, config.host, () => {
    const { port } = server.http.address();
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    process.stdout.write(`livekit-test-sfu listening on ws://${host}:${port}\n`);
    log.info(`v1 ${config.v1 ? 'on' : 'off'}, data tracks ${!config.dataTracks ? 'absent' : config.dataTracksAllowed ? 'on' : 'disabled'}, ice-lite ${config.iceLite ? 'on' : 'off'}`);
  });

  let stopping = false;
  const stop = (signal) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: closing`);
    server.close();
    // Let the leave frames go out, then exit even if libwebrtc threads linger.
    setTimeout(() => process.exit(0), 200).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

let config;
try {
  config = parseCli(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`livekit-test-sfu: ${e.message}\n`);
  process.exit(2);
}
if (!relaunchWithUdpBuffers()) await serve(config);
