// Frame delivery from page A to page B, checked frame by frame.
// Data-track packets travel on an unordered channel without retransmissions: a packet lost on
// the way (a UDP receive buffer overflowing under a 1 MiB burst, or SCTP abandoning a chunk
// acknowledged late on a busy machine) loses its frame, as with livekit-server. A lost frame
// is not a server fault, so the frames are re-sent, up to `maxAttempts` times; a corrupted,
// reordered or foreign frame fails at once.
import assert from 'node:assert/strict';
import { ok } from './run.mjs';

/** Checks what B got against what A sent (matched by user timestamp); returns what is missing. */
export function checkDelivery(sent, got) {
  let next = 0;
  for (const f of got) {
    const i = sent.findIndex((s) => s.userTimestamp === f.userTimestamp);
    assert.ok(i >= 0, `B received a frame A did not send in this attempt: ${f.size} B @${f.userTimestamp}`);
    assert.ok(i >= next, `frame ${i} (${f.size} B) arrived after frame ${next - 1}: out of order`);
    assert.equal(f.size, sent[i].size, `size of frame ${i}`);
    assert.equal(f.sha256, sent[i].sha256, `payload of frame ${i} (${f.size} B)`);
    next = i + 1;
  }
  const arrived = new Set(got.map((f) => f.userTimestamp));
  return sent.filter((s) => !arrived.has(s.userTimestamp));
}

/**
 * A pushes framesFor(attempt) back to back (distinct user timestamps per attempt) until B
 * receives one attempt completely. Returns that attempt's {sent, got} and notes on losses.
 */
export async function deliverFrames(a, b, name, framesFor, { maxAttempts = 5 } = {}) {
  const lossNotes = [];
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    await b.call('clearFrames', name);
    const sent = ok(await a.call('pushFrames', name, framesFor(attempt)), 'A tryPush');
    const got = ok(await b.call('receivedFrames', name, sent.length, 15000, 3000), 'B receive');
    assert.equal(got.end, null, `B's stream ended early: ${JSON.stringify(got.end)}`);
    const missing = checkDelivery(sent, got.frames);
    if (missing.length === 0) return { sent, got: got.frames, lossNotes };
    lossNotes.push(`attempt ${attempt + 1} lost ${missing.map((f) => `${f.size} B`).join(', ')}`);
  }
  throw new Error(`no attempt delivered every frame: ${lossNotes.join('; ')}`);
}
