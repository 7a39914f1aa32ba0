// The real livekit-server v1.13.5 accepts what lib/signal builds: its validate
// endpoints (/rtc/v1/validate, /rtc/validate) answer 200 to our token (Bearer
// header or access_token) and our join_request or v0 query, its log shows our
// ClientInfo as it decoded it, and it answers 401 to a token signed with
// another secret. Runs inside a network namespace (scripts/netns-run.sh), so
// its fixed ports collide with nothing.
// Usage: node real_server_validate.mjs LIVEKIT_SERVER TOOL PROJECT_VERSION
// Exits 77 (skipped) when the server binary is absent (scripts/setup.sh says why).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const [serverPath, toolPath, projectVersion] = process.argv.slice(2);
if (!existsSync(serverPath)) {
  const reason = path.join(path.dirname(path.dirname(serverPath)), 'UNAVAILABLE');
  console.log(`skipped: no livekit-server at ${serverPath}${existsSync(reason) ? `: ${readFileSync(reason, 'utf8').trim()}` : ''}`);
  process.exit(77);
}

const KEY = 'devkey';
const SECRET = 'validate-test-secret';
const PORT = 7880;
const BASE = `http://127.0.0.1:${PORT}`;

function tool(requests) {
  const run = spawnSync(toolPath, [], { input: requests.map((r) => JSON.stringify(r)).join('\n') + '\n', encoding: 'utf8' });
  assert.equal(run.status, 0, `signal-tool failed: ${run.stderr}`);
  return run.stdout.trim().split('\n').map((line) => JSON.parse(line));
}

const config = `
port: ${PORT}
bind_addresses: [127.0.0.1]
keys:
  ${KEY}: ${SECRET}
rtc:
  tcp_port: 7881
  udp_port: 7882
  node_ip: 127.0.0.1
logging:
  level: debug
  json: true
`;
const server = spawn(serverPath, ['--config-body', config], { stdio: ['ignore', 'pipe', 'pipe'] });
let log = '';
server.stdout.on('data', (d) => { log += d; });
server.stderr.on('data', (d) => { log += d; });
let exited = false;
server.on('exit', () => { exited = true; });

const failures = [];
let checks = 0;
try {
  const deadline = Date.now() + 30000;
  for (;;) {
    assert.ok(!exited, `livekit-server exited: ${log.slice(-2000)}`);
    assert.ok(Date.now() < deadline, `livekit-server not ready in 30 s: ${log.slice(-2000)}`);
    try {
      if ((await fetch(`${BASE}/`)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }

  const [good, wrongSecret] = tool([
    { op: 'token', api_key: KEY, api_secret: SECRET, identity: 'validator', room: 'validate-room' },
    { op: 'token', api_key: KEY, api_secret: `${SECRET}-not`, identity: 'validator', room: 'validate-room' },
  ]);
  const cases = [
    { label: 'v1, Bearer header', protocol: 'v1', token: good.token, status: 200 },
    { label: 'v1, access_token', protocol: 'v1', token: good.token, placement: 'query', status: 200 },
    { label: 'v1, resume fields', protocol: 'v1', token: good.token, reconnect: true, participant_sid: 'PA_resume', reconnect_reason: 1, status: 200 },
    { label: 'v0, Bearer header', protocol: 'v0', token: good.token, status: 200 },
    { label: 'v0, access_token', protocol: 'v0', token: good.token, placement: 'query', status: 200 },
    { label: 'v1, wrong secret', protocol: 'v1', token: wrongSecret.token, status: 401 },
  ];
  const answers = tool(cases.map(({ label, status, ...request }) => ({ op: 'signal', url: BASE, ...request })));
  for (const [i, c] of cases.entries()) {
    const answer = answers[i];
    try {
      assert.ok(answer.ok, answer.error);
      const headers = answer.authorization ? { Authorization: answer.authorization } : {};
      const response = await fetch(answer.validate_url, { headers });
      const body = await response.text();
      assert.equal(response.status, c.status, `${answer.redacted_url}: ${response.status} ${c.status === 200 ? body : ''}`);
      if (c.status === 200) assert.equal(body, 'success');
      checks++;
    } catch (e) {
      failures.push(`${c.label}: ${e.message}`);
    }
  }

  // The server's own reading of our v1 ClientInfo, from its debug log.
  try {
    const decoded = log.split('\n').filter((l) => l.includes('processing join request')).map((l) => JSON.parse(l).joinRequest);
    assert.equal(decoded.length, 3, 'one decoded join request per v1 request that passed the token check');
    for (const join of decoded) {
      assert.deepEqual(
        { sdk: join.clientInfo.sdk, version: join.clientInfo.version, protocol: join.clientInfo.protocol, os: join.clientInfo.os },
        { sdk: 'CPP', version: projectVersion, protocol: 17, os: 'linux' },
      );
    }
    assert.ok(decoded.some((j) => j.reconnect === true && j.participantSid === 'PA_resume'), 'resume fields decoded');
    checks++;
  } catch (e) {
    failures.push(`server log: ${e.message}`);
  }
} catch (e) {
  failures.push(e.message);
} finally {
  if (!exited) {
    const gone = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    const timer = setTimeout(() => server.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  }
}

for (const f of failures) console.error(`FAIL ${f}`);
console.log(`livekit-server validate: ${checks} checks passed, ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
