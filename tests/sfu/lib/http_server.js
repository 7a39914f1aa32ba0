// HTTP side of the server: the validate endpoints, the WebSocket upgrade on /rtc and
// /rtc/v1 (refused with the server's status and message when the request is not valid),
// CORS headers for browsers, and /debug/stats with the data-track counters.
import http from 'node:http';
import { DisconnectReason } from '@livekit/protocol';
import { WebSocketServer } from 'ws';
import { parseConnectRequest } from './connect_request.js';
import { logger } from './log.js';
import { SignalSession } from './session.js';

const MAX_SIGNAL_MESSAGE = 1 << 20;
const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
  'Access-Control-Allow-Headers': 'Authorization, Content-Type',
};

// "//rtc/v1/" -> "/rtc/v1"
function normalizePath(pathname) {
  return pathname.replace(/^\/+/, '/').replace(/(.)\/+$/, '$1');
}

export function createSfuServer({ keys, v1, iceLite, resume, rooms, nodeId }) {
  const log = logger('http');
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_SIGNAL_MESSAGE, perMessageDeflate: false });
  const sessions = new Map(); // participant sid -> SignalSession (resumes find them here)
  const routes = { '/rtc': false, '/rtc/validate': false };
  if (v1) Object.assign(routes, { '/rtc/v1': true, '/rtc/v1/validate': true });

  function answer(res, status, body, type = 'text/plain; charset=utf-8') {
    res.writeHead(status, { ...CORS, 'Content-Type': type });
    res.end(body);
  }

  const server = http.createServer((req, res) => {
    try {
      route(req, res);
    } catch (e) {
      log.error(`${req.method} ${req.url}: ${e.stack}`);
      if (!res.headersSent) answer(res, 400, 'bad request');
    }
  });

  function route(req, res) {
    const url = new URL(req.url, 'http://localhost');
    const path = normalizePath(url.pathname);
    if (req.method === 'OPTIONS') return answer(res, 204, '');
    if (path === '/') return answer(res, 200, 'OK');
    if (path === '/debug/stats') return answer(res, 200, JSON.stringify(rooms.stats()), 'application/json');
    if (path === '/debug/drop-signal') return dropSignal(url.searchParams, res);
    if (path === '/debug/fault') return fault(url.searchParams, res);
    if (path === '/rtc/validate' || (path === '/rtc/v1/validate' && v1)) {
      const r = parseConnectRequest(url, req.headers, keys, routes[path]);
      return r.ok ? answer(res, 200, 'success') : answer(res, r.status, r.message);
    }
    // /rtc and /rtc/v1 only speak WebSocket.
    return answer(res, 404, '404 page not found');
  }

  // Test hook: cuts a participant's WebSocket without a leave, as a network blip would,
  // so tests can make clients resume. ?room=NAME&identity=ID
  function dropSignal(q, res) {
    for (const session of sessions.values()) {
      if (session.grants.room === q.get('room') && session.grants.identity === q.get('identity') && !session.closed) {
        session.ws.terminate();
        return answer(res, 200, session.participant.sid);
      }
    }
    return answer(res, 404, 'no such participant');
  }

  // Test hook: faults a real server cannot be told to make. ?room=NAME&identity=ID&kind=K
  // close-pc: closes the participant's peer connection(s) (the client sees its transport end);
  // leave-resume: leave{RESUME} and the WebSocket cut, the session kept for a resume;
  // leave-reconnect: leave{RECONNECT} and the session ended.
  function fault(q, res) {
    const kinds = ['close-pc', 'leave-resume', 'leave-reconnect'];
    if (!kinds.includes(q.get('kind'))) return answer(res, 400, `kind must be one of ${kinds.join(', ')}`);
    for (const session of sessions.values()) {
      if (session.grants.room === q.get('room') && session.grants.identity === q.get('identity') && !session.closed) {
        session.fault(q.get('kind'));
        return answer(res, 200, session.participant.sid);
      }
    }
    return answer(res, 404, 'no such participant');
  }

  server.on('upgrade', (req, socket, head) => {
    try {
      upgrade(req, socket, head);
    } catch (e) {
      log.error(`upgrade ${req.url}: ${e.stack}`);
      socket.destroy();
    }
  });

  function upgrade(req, socket, head) {
    const url = new URL(req.url, 'http://localhost');
    const path = normalizePath(url.pathname);
    const refuse = (status, message) => {
      log.info(`upgrade ${path} refused: ${status} ${message}`);
      const body = Buffer.from(message);
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
        `Access-Control-Allow-Origin: *\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${message}`);
    };
    if (path !== '/rtc' && !(path === '/rtc/v1' && v1)) return refuse(404, '404 page not found');
    const connect = parseConnectRequest(url, req.headers, keys, routes[path]);
    if (!connect.ok) return refuse(connect.status, connect.message);
    wss.handleUpgrade(req, socket, head, (ws) => {
      const resumable = connect.options.reconnect ? sessions.get(connect.options.participantSid) : undefined;
      if (resumable?.canResume(connect.grants)) {
        resumable.resume(ws, connect.options);
        return;
      }
      const session = new SignalSession(ws, connect, { rooms, iceLite, nodeId, resume });
      sessions.set(session.participant.sid, session);
      session.onClosed = () => {
        if (sessions.get(session.participant.sid) === session) sessions.delete(session.participant.sid);
      };
      try {
        session.start();
      } catch (e) {
        log.error(`session start: ${e.stack}`);
        session.close();
      }
    });
  }

  return {
    http: server,
    close() {
      rooms.closeAll(DisconnectReason.SERVER_SHUTDOWN);
      for (const s of [...sessions.values()]) s.close();
      wss.close();
      server.close();
      server.closeAllConnections?.();
    },
  };
}
