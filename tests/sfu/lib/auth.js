// Access-token checks as livekit-server does them: HS256 JWT signed with the API secret,
// looked up by the `iss` claim. Returns errors as values: {status, message} with the
// server's own texts, so clients see what they would see against livekit-server.
import { createHmac, timingSafeEqual } from 'node:crypto';

const BEARER = 'Bearer ';
const LEEWAY_S = 60; // go-jose's default leeway for exp/nbf

const refuse = (status, message) => ({ ok: false, status, message });

function b64urlJson(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

// Token from the Authorization header (wins) or the access_token query parameter.
export function tokenFromRequest(headers, query) {
  const header = headers.authorization;
  if (header) {
    if (!header.startsWith(BEARER)) {
      return refuse(401, 'invalid authorization header. Must start with ' + BEARER);
    }
    return { ok: true, token: header.slice(BEARER.length) };
  }
  return { ok: true, token: query.get('access_token') || '' };
}

// Verifies a token; `keys` maps API key -> secret. On success returns the claims.
export function verifyToken(token, keys, nowS = Date.now() / 1000) {
  const parts = token.split('.');
  let header;
  let claims;
  try {
    if (parts.length !== 3) throw new Error('not a JWS');
    header = b64urlJson(parts[0]);
    claims = b64urlJson(parts[1]);
  } catch {
    return refuse(401, 'invalid authorization token');
  }
  const apiKey = claims.iss;
  const secret = keys.get(apiKey);
  if (!secret) return refuse(401, 'invalid API key');
  if (header.alg !== 'HS256') {
    return refuse(401, 'invalid authorization token: go-jose/go-jose: unexpected signature algorithm');
  }
  const expected = createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest();
  const given = Buffer.from(parts[2], 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return refuse(401, 'invalid authorization token: go-jose/go-jose: error in cryptographic primitive');
  }
  if (typeof claims.exp === 'number' && nowS > claims.exp + LEEWAY_S) {
    return refuse(401, 'invalid authorization token: go-jose/go-jose/jwt: validation failed, token is expired (exp)');
  }
  if (typeof claims.nbf === 'number' && nowS < claims.nbf - LEEWAY_S) {
    return refuse(401, 'invalid authorization token: go-jose/go-jose/jwt: validation failed, token not valid yet (nbf)');
  }
  return { ok: true, apiKey, claims };
}

// The grants a participant gets from verified claims, with LiveKit's defaults:
// canPublish/canSubscribe default true, canPublishData defaults to canPublish.
export function joinGrants(claims) {
  const video = claims?.video;
  if (!video) return refuse(401, 'no permissions to access the room');
  if (!video.roomJoin) return refuse(401, 'permissions denied');
  const identity = claims.sub || claims.jti || '';
  if (!identity) return refuse(400, 'identity cannot be empty');
  if (!video.room) return refuse(400, 'no room name');
  const canPublish = video.canPublish ?? true;
  return {
    ok: true,
    room: video.room,
    identity,
    name: claims.name || '',
    metadata: claims.metadata || '',
    attributes: claims.attributes || {},
    canPublish,
    canSubscribe: video.canSubscribe ?? true,
    canPublishData: video.canPublishData ?? canPublish,
    hidden: !!video.hidden,
  };
}
