// Runs the server in a child process with lib/udp_buffers.c preloaded, so libwebrtc's UDP
// sockets get large kernel buffers (see the C file for why). The shim is compiled once
// with the system C compiler into a per-user cache; without a compiler the server runs
// as is, with a warning. LIVEKIT_TEST_SFU_NO_PRELOAD=1 turns this off.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { logger } from './log.js';

const SOURCE = fileURLToPath(new URL('./udp_buffers.c', import.meta.url));
const MARK = 'LIVEKIT_TEST_SFU_PRELOADED';
const log = logger('server');

function buildShim() {
  const source = readFileSync(SOURCE);
  const digest = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const dir = path.join(process.env.XDG_CACHE_HOME || os.tmpdir(), `livekit-test-sfu-${process.getuid()}`);
  const lib = path.join(dir, `udp_buffers-${digest}.so`);
  if (existsSync(lib)) return lib;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (statSync(dir).uid !== process.getuid()) throw new Error(`${dir} is not ours`);
  const tmp = `${lib}.${process.pid}.tmp`;
  execFileSync(process.env.CC || 'cc', ['-shared', '-fPIC', '-O2', '-o', tmp, SOURCE, '-ldl'], { stdio: ['ignore', 'ignore', 'pipe'] });
  renameSync(tmp, lib); // atomic: parallel servers never load a half-written file
  return lib;
}

// True when this process only supervises a preloaded child (then run nothing else).
export function relaunchWithUdpBuffers() {
  if (process.env[MARK] || process.env.LIVEKIT_TEST_SFU_NO_PRELOAD === '1' || process.platform !== 'linux') return false;
  let lib;
  try {
    lib = buildShim();
  } catch (e) {
    log.warn(`running without large UDP buffers (cannot build the preload shim: ${e.message.split('\n')[0]})`);
    return false;
  }
  const preload = [lib, process.env.LD_PRELOAD].filter(Boolean).join(':');
  const child = spawn(process.execPath, process.argv.slice(1), {
    stdio: 'inherit',
    env: { ...process.env, LD_PRELOAD: preload, [MARK]: '1' },
  });
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  return true;
}
