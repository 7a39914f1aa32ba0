// The server's data-track header handling: parse as livekit-server does, re-encode with
// the subscriber handle (byte 1 and low bits of byte 0 zero, padding trimmed), reject what
// the server drops.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseHeader, rewriteHandle } from '../lib/packet.js';

const hex = (s) => Buffer.from(s.replace(/[\s|]/g, ''), 'hex');
const rewrite = (buf, handle) => {
  const h = parseHeader(buf);
  assert.ok(h, 'parses');
  return rewriteHandle(buf, h, handle);
};

test('single packet without extensions: only the handle changes', () => {
  const pkt = hex('18 00 00 65 00 66 00 67 00 00 00 68 | c0ffee');
  const h = parseHeader(pkt);
  assert.deepEqual({ ...h, extensions: h.extensions }, { version: 0, start: true, final: true, handle: 101, sequence: 102, frame: 103, timestamp: 104, extensions: null, payloadOffset: 12 });
  assert.equal(rewrite(pkt, 0xbeef).toString('hex'), '1800beef006600670000006' + '8c0ffee');
});

test('E2EE and user-timestamp extensions pass unchanged', () => {
  const pkt = hex('0C 00 88 11 44 22 44 11 44 22 11 88 | 00 06 | 01 0D FA' + ' 3C'.repeat(12) + '| 02 08 44 11 22 11 11 11 88 11 | 00 | 0102030405');
  const out = rewrite(pkt, 3);
  const expected = Buffer.from(pkt);
  expected.writeUInt16BE(3, 2);
  assert.deepEqual(out, expected);
});

test('reserved bits come out zero', () => {
  const pkt = hex('1b ff 00 01 00 02 00 03 00 00 00 04 | aa');
  assert.equal(rewrite(pkt, 9).toString('hex'), '180000090002000300000004aa');
});

test('surplus padding is trimmed and the payload kept', () => {
  // L=3 (14 bytes after L): user timestamp TLV (10 bytes) then 4 bytes of padding
  const pkt = hex('14 00 00 01 00 02 00 03 00 00 00 04 | 00 03 | 02 08 0102030405060708 | 00000000 | 99 98');
  const out = rewrite(pkt, 2);
  assert.equal(out.toString('hex'), '140000020002000300000004' + '0002' + '02080102030405060708' + '9998');
});

test('a zero tag starts the padding: TLVs after it are not forwarded', () => {
  const pkt = hex('14 00 00 01 00 02 00 03 00 00 00 04 | 00 02 | 00 00 | 02 04 01020304 | 00 00 | 77');
  const h = parseHeader(pkt);
  assert.deepEqual(h.extensions, []);
  assert.equal(rewrite(pkt, 5).toString('hex'), '140000050002000300000004' + '00000000' + '77');
});

test('a version above 0 is forwarded, not judged', () => {
  const pkt = hex('38 00 00 01 00 02 00 03 00 00 00 04');
  assert.equal(parseHeader(pkt).version, 1);
  assert.equal(rewrite(pkt, 4)[0], 0x38);
});

test('empty payload is fine', () => {
  const pkt = hex('18 00 00 01 00 02 00 03 00 00 00 04');
  assert.equal(rewrite(pkt, 6).length, 12);
});

test('malformed packets are rejected', () => {
  const cases = {
    'shorter than 12 bytes': '18 00 00 01 00 02 00 03 00 00 00',
    'X set, no room for L': '1c 00 00 01 00 02 00 03 00 00 00 04 00',
    'extension block past the end': '1c 00 00 01 00 02 00 03 00 00 00 04 | 00 02 | 02 08 01 02',
    'TLV longer than the block': '1c 00 00 01 00 02 00 03 00 00 00 04 | 00 01 | 02 08 01 02 03 04 05 06 07 08',
    'padding past the end': '1c 00 00 01 00 02 00 03 00 00 00 04 | 00 03 | 00 00',
    'empty message': '',
  };
  for (const [what, bytes] of Object.entries(cases)) assert.equal(parseHeader(hex(bytes)), null, what);
});
