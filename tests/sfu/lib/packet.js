// Data-track packet header (docs/protocol.md §6, §9), only as far as the SFU needs it: parse the
// header as livekit-server does, then re-encode it with another track handle.
// The server re-encodes rather than patching bytes 2-3: byte 1 and the two low bits of
// byte 0 come out zero, and padding inside the extension block is trimmed.

const BASE_HEADER = 12;

// Returns {version, start, final, handle, sequence, frame, timestamp, extensions, payloadOffset}
// or null for a packet the server would drop (truncated header or extension overrun).
// A zero extension tag means "padding from here on", as in the Go reader.
export function parseHeader(buf) {
  if (buf.length < BASE_HEADER) return null;
  const b0 = buf[0];
  const h = {
    version: b0 >> 5,
    start: (b0 & 0x10) !== 0,
    final: (b0 & 0x08) !== 0,
    handle: buf.readUInt16BE(2),
    sequence: buf.readUInt16BE(4),
    frame: buf.readUInt16BE(6),
    timestamp: buf.readUInt32BE(8),
    extensions: null, // null: X bit clear; else [{tag, data}]
    payloadOffset: BASE_HEADER,
  };
  if ((b0 & 0x04) === 0) return h;
  if (buf.length < BASE_HEADER + 2) return null;
  let remaining = (buf.readUInt16BE(BASE_HEADER) + 1) * 4 - 2;
  let at = BASE_HEADER + 2;
  h.extensions = [];
  while (remaining > 0) {
    if (at >= buf.length) return null;
    const tag = buf[at];
    if (tag === 0) {
      if (buf.length - at < remaining) return null;
      at += remaining;
      remaining = 0;
      break;
    }
    if (remaining < 2 || at + 1 >= buf.length) return null;
    const len = buf[at + 1];
    remaining -= 2;
    at += 2;
    if (remaining < len || buf.length - at < len) return null;
    h.extensions.push({ tag, data: buf.subarray(at, at + len) });
    remaining -= len;
    at += len;
  }
  h.payloadOffset = at;
  return h;
}

// Encodes header `h` with `handle` in front of the payload of the original packet `buf`.
export function rewriteHandle(buf, h, handle) {
  let extBytes = 0;
  if (h.extensions) for (const e of h.extensions) extBytes += 2 + e.data.length;
  const extBlock = h.extensions ? Math.ceil((2 + extBytes) / 4) * 4 : 0;
  const payload = buf.subarray(h.payloadOffset);
  const out = Buffer.alloc(BASE_HEADER + extBlock + payload.length);
  out[0] = ((h.version & 0x07) << 5) | (h.start ? 0x10 : 0) | (h.final ? 0x08 : 0) | (h.extensions ? 0x04 : 0);
  out.writeUInt16BE(handle, 2);
  out.writeUInt16BE(h.sequence, 4);
  out.writeUInt16BE(h.frame, 6);
  out.writeUInt32BE(h.timestamp, 8);
  let at = BASE_HEADER;
  if (h.extensions) {
    out.writeUInt16BE(extBlock / 4 - 1, at);
    at += 2;
    for (const e of h.extensions) {
      out[at] = e.tag;
      out[at + 1] = e.data.length;
      e.data.copy(out, at + 2);
      at += 2 + e.data.length;
    }
    at = BASE_HEADER + extBlock; // the rest of the block stays zero: padding
  }
  payload.copy(out, at);
  return out;
}
