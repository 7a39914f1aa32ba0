// Logs go to stderr so stdout carries only the readiness line. LOG=debug shows more.
const debugOn = (process.env.LOG || '').toLowerCase() === 'debug';

function write(level, scope, msg) {
  process.stderr.write(`${new Date().toISOString()} ${level} [${scope}] ${msg}\n`);
}

export function logger(scope) {
  return {
    debug: (msg) => { if (debugOn) write('DEBUG', scope, msg); },
    info: (msg) => write('INFO', scope, msg),
    warn: (msg) => write('WARN', scope, msg),
    error: (msg) => write('ERROR', scope, msg),
  };
}
