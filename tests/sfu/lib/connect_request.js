// Turns an HTTP request on /rtc, /rtc/v1 or their /validate twins into either a refusal
// {ok:false, status, message} or what a session needs to start, in livekit-server's order:
// token -> grants present -> join_request decode -> roomJoin/identity/room checks.
import { gunzipSync } from 'node:zlib';
import { ClientInfo_SDK, JoinRequest, WrappedJoinRequest, WrappedJoinRequest_Compression } from '@livekit/protocol';
import { joinGrants, tokenFromRequest, verifyToken } from './auth.js';

const MAX_JOIN_REQUEST = 1 << 20;
// Go decodes with padded base64.URLEncoding: no standard alphabet, padding required.
const PADDED_BASE64URL = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}==|[A-Za-z0-9_-]{3}=)?$/;

const refuse = (status, message) => ({ ok: false, status, message });
// Query booleans are true only for "1" or "true", as in the Go server.
const boolParam = (v) => v === '1' || v === 'true';

function decodeJoinRequest(b64) {
  if (!PADDED_BASE64URL.test(b64)) return refuse(400, 'cannot base64 decode wrapped join request');
  let wrapped;
  try {
    wrapped = WrappedJoinRequest.fromBinary(Buffer.from(b64, 'base64url'));
  } catch {
    return refuse(400, 'cannot unmarshal wrapped join request');
  }
  let bytes = wrapped.joinRequest;
  if (wrapped.compression === WrappedJoinRequest_Compression.GZIP) {
    try {
      bytes = gunzipSync(bytes, { maxOutputLength: MAX_JOIN_REQUEST });
    } catch (e) {
      return refuse(400, e instanceof RangeError ? 'join request too large' : 'cannot read decompressed join request');
    }
  } else if (bytes.length > MAX_JOIN_REQUEST) {
    return refuse(400, 'join request too large');
  }
  try {
    return { ok: true, request: JoinRequest.fromBinary(bytes) };
  } catch {
    return refuse(400, 'cannot unmarshal join request');
  }
}

// Session options from a v1 JoinRequest.
function optionsFromJoinRequest(req) {
  const cs = req.connectionSettings;
  return {
    singlePC: true,
    clientInfo: req.clientInfo,
    autoSubscribe: cs?.autoSubscribe ?? false,
    autoSubscribeDataTrack: cs?.autoSubscribeDataTrack ?? false,
    publisherOffer: req.publisherOffer,
    reconnect: req.reconnect,
    participantSid: req.participantSid,
  };
}

// v0 names the SDK in a query parameter ("js", "rust", "react-native", ...).
function sdkFromName(name) {
  return ClientInfo_SDK[(name || '').toUpperCase().replace(/-/g, '_')] ?? ClientInfo_SDK.UNKNOWN;
}

// Session options from v0 query parameters.
function optionsFromQuery(q) {
  return {
    singlePC: false,
    clientInfo: {
      sdk: sdkFromName(q.get('sdk')),
      version: q.get('version') || '',
      protocol: Number.parseInt(q.get('protocol') || '0', 10) || 0,
    },
    autoSubscribe: q.has('auto_subscribe') ? boolParam(q.get('auto_subscribe')) : true,
    autoSubscribeDataTrack: boolParam(q.get('auto_subscribe_data_track')),
    publisherOffer: undefined,
    reconnect: boolParam(q.get('reconnect')),
    participantSid: q.get('sid') || '',
  };
}

// url: URL of the request; headers: Node's lower-cased header object; keys: Map key->secret.
export function parseConnectRequest(url, headers, keys, needsJoinRequest) {
  const q = url.searchParams;
  const fromRequest = tokenFromRequest(headers, q);
  if (!fromRequest.ok) return fromRequest;
  let claims;
  if (fromRequest.token) {
    const verified = verifyToken(fromRequest.token, keys);
    if (!verified.ok) return verified;
    claims = verified.claims;
  }
  if (!claims?.video) return refuse(401, 'no permissions to access the room');

  let options;
  const b64 = q.get('join_request') || '';
  if (b64) {
    const decoded = decodeJoinRequest(b64);
    if (!decoded.ok) return decoded;
    options = optionsFromJoinRequest(decoded.request);
  } else if (needsJoinRequest) {
    return refuse(400, 'join_request is required');
  } else {
    options = optionsFromQuery(q);
  }

  const grants = joinGrants(claims);
  if (!grants.ok) return grants;
  return { ok: true, grants, options };
}
