// One participant's signalling session: its WebSocket, its peer connection(s) and the
// dispatch of SignalRequests to the room. v1 (/rtc/v1): one client-offered PC. v0 (/rtc):
// a client-offered publisher PC and, when subscriber_primary, a server-offered subscriber PC
// with the server's own _reliable/_lossy/_data_track channels. When the WebSocket drops, the
// participant and its PCs wait RESUME_WINDOW_MS for the client to resume on a new one.
import {
  ClientConfigSetting,
  ClientConfiguration,
  DisconnectReason,
  JoinResponse,
  LeaveRequest,
  LeaveRequest_Action,
  Pong,
  ReconnectResponse,
  ServerInfo,
  ServerInfo_Edition,
  SessionDescription,
  SignalRequest,
  SignalResponse,
  SignalTarget,
  TrickleRequest,
} from '@livekit/protocol';
import { logger } from './log.js';
import { Participant } from './participant.js';
import { PeerTransport } from './transport.js';

export const SERVER_VERSION = '1.13.5';
export const PROTOCOL_VERSION = 17;
const PING_INTERVAL_S = 5;
const PING_TIMEOUT_S = 15;
// A participant whose peer connection never comes up is removed, as livekit-server does.
const CONNECT_TIMEOUT_MS = 60 * 1000;
const RESUME_WINDOW_MS = 20 * 1000;
const MAX_HELD_MESSAGES = 1000; // kept for the client while its WebSocket is gone

export class SignalSession {
  // ws: a connected `ws` WebSocket; connect: {grants, options} from parseConnectRequest;
  // ctx: {rooms, iceLite, nodeId}
  constructor(ws, connect, ctx) {
    this.ws = ws;
    this.ctx = ctx;
    this.options = connect.options;
    this.grants = connect.grants;
    this.useText = false; // reply with protobuf-JSON after a text frame
    this.closed = false;
    this.held = null; // messages for the client while it has no WebSocket (resume window)
    this.onClosed = () => {};
    this.lastSeen = Date.now();
    this.nextOfferId = 1;
    this.participant = new Participant(connect.grants, connect.options, (message) => this.send(message));
    this.participant.disconnect = (reason) => this.leaveAndClose(reason, LeaveRequest_Action.DISCONNECT);
    this.log = logger(`session ${this.grants.identity}`);
    const protocol = this.options.clientInfo?.protocol ?? 0;
    this.subscriberPrimary = !this.options.singlePC && protocol > 2 && this.grants.canSubscribe;
  }

  start() {
    this.attach(this.ws);
    if (this.options.reconnect) {
      // A resume for a session that is gone: ask the client for a full reconnect.
      this.log.info('resume of an unknown session: asking for a full reconnect');
      this.leaveAndClose(DisconnectReason.STATE_MISMATCH, LeaveRequest_Action.RECONNECT);
      return;
    }
    this.room = this.ctx.rooms.get(this.grants.room);
    this.publisher = this.makeTransport('publisher', SignalTarget.PUBLISHER);
    if (this.subscriberPrimary) {
      this.subscriber = this.makeTransport('subscriber', SignalTarget.SUBSCRIBER);
      this.subscriber.createServerChannels({ dataTracks: this.room.dataTracksEnabled && this.room.dataTracksAllowed });
    }
    this.room.join(this.participant);
    this.send({ case: 'join', value: this.joinResponse() });
    if (this.options.publisherOffer?.sdp) this.answerOffer(this.options.publisherOffer);
    if (this.subscriber) this.offerSubscriber();
    this.keepalive = setInterval(() => this.checkAlive(), PING_INTERVAL_S * 1000);
    this.connectTimer = setTimeout(() => {
      if (this.participant.isActive) return;
      this.log.info('peer connection never connected: removing the participant');
      this.leaveAndClose(DisconnectReason.CONNECTION_TIMEOUT, LeaveRequest_Action.DISCONNECT);
    }, CONNECT_TIMEOUT_MS);
  }

  attach(ws) {
    this.ws = ws;
    ws.on('message', (data, isBinary) => { if (this.ws === ws) this.onFrame(data, isBinary); });
    ws.on('close', () => { if (this.ws === ws) this.onSocketClosed(); });
    ws.on('error', (e) => this.log.warn(`websocket error: ${e.message}`));
  }

  onSocketClosed() {
    if (this.closed || this.held) return;
    if (!this.room) {
      this.close();
      return;
    }
    this.log.info(`signal connection lost: waiting ${RESUME_WINDOW_MS / 1000} s for a resume`);
    this.held = [];
    this.resumeTimer = setTimeout(() => this.close(), RESUME_WINDOW_MS);
  }

  // Same participant, same room, session still alive: a resume may take it over.
  canResume(grants) {
    return !this.closed && !!this.room && grants.identity === this.grants.identity && grants.room === this.grants.room;
  }

  // The client resumes on a new WebSocket: `reconnect` first, then what was held back, then
  // ICE restarts (the client's offer is answered as usual; we restart the subscriber PC).
  resume(ws, options) {
    clearTimeout(this.resumeTimer);
    const old = this.ws;
    this.attach(ws);
    if (old !== ws && old.readyState === old.OPEN) old.close(1000);
    this.log.info('resumed');
    this.lastSeen = Date.now();
    this.useText = false;
    const held = this.held ?? [];
    this.held = null;
    this.send({ case: 'reconnect', value: new ReconnectResponse({ iceServers: [], clientConfiguration: new ClientConfiguration(), serverInfo: this.serverInfo() }) });
    for (const message of held) this.send(message);
    if (options.publisherOffer?.sdp) this.answerOffer(options.publisherOffer);
    if (this.subscriber) this.offerSubscriber({ iceRestart: true });
  }

  serverInfo() {
    return new ServerInfo({ edition: ServerInfo_Edition.Standard, version: SERVER_VERSION, protocol: PROTOCOL_VERSION, nodeId: this.ctx.nodeId });
  }

  joinResponse() {
    const info = this.serverInfo();
    return new JoinResponse({
      room: this.room.info(),
      participant: this.participant.info(),
      otherParticipants: this.room.otherInfos(this.participant),
      iceServers: [],
      subscriberPrimary: this.subscriberPrimary,
      clientConfiguration: new ClientConfiguration({ resumeConnection: this.ctx.resume ? ClientConfigSetting.UNSET : ClientConfigSetting.DISABLED }),
      pingInterval: PING_INTERVAL_S,
      pingTimeout: PING_TIMEOUT_S,
      serverInfo: info,
      serverVersion: SERVER_VERSION,
      fastPublish: this.grants.canPublish,
    });
  }

  makeTransport(name, target) {
    const primary = (target === SignalTarget.SUBSCRIBER) === this.subscriberPrimary;
    return new PeerTransport({
      name: `${this.grants.identity} ${name}`,
      iceLite: this.ctx.iceLite,
      onCandidate: (c) => {
        if (c) this.send({ case: 'trickle', value: new TrickleRequest({ candidateInit: JSON.stringify(c), target }) });
      },
      onChannel: (label, ch) => this.adoptChannel(label, ch, target),
      onConnectionState: (state) => {
        this.log.debug(`${name} pc ${state}`);
        if (primary && state === 'connected') this.room.activate(this.participant);
      },
    });
  }

  // Packets arriving on any _data_track are data-track uplink; the downlink is the client's
  // channel (v1, v0 publisher-primary) or ours on the subscriber PC (v0 subscriber-primary).
  adoptChannel(label, ch, target) {
    this.log.debug(`channel ${label} on ${target === SignalTarget.SUBSCRIBER ? 'subscriber' : 'publisher'} pc`);
    if (label !== '_data_track') return;
    ch.binaryType = 'arraybuffer';
    ch.onmessage = (ev) => {
      if (this.closed) return;
      const buf = typeof ev.data === 'string' ? Buffer.alloc(0) : Buffer.from(ev.data);
      try {
        this.room.onDataTrackPacket(this.participant, buf);
      } catch (e) {
        this.log.error(`data-track packet: ${e.stack}`);
      }
    };
    if ((target === SignalTarget.SUBSCRIBER) === this.subscriberPrimary) this.participant.downlink.setChannel(ch);
  }

  answerOffer(sd) {
    this.publisher.answer(sd.sdp).then(
      (sdp) => this.send({ case: 'answer', value: new SessionDescription({ type: 'answer', sdp, id: sd.id }) }),
      (e) => this.log.warn(`cannot answer offer: ${e.message}`),
    );
  }

  offerSubscriber(options = {}) {
    const id = this.nextOfferId++;
    this.subscriber.offer(options).then(
      (sdp) => this.send({ case: 'offer', value: new SessionDescription({ type: 'offer', sdp, id }) }),
      (e) => this.log.warn(`cannot offer subscriber pc: ${e.message}`),
    );
  }

  onFrame(data, isBinary) {
    this.lastSeen = Date.now();
    let req;
    try {
      this.useText = !isBinary;
      req = isBinary ? SignalRequest.fromBinary(new Uint8Array(data)) : SignalRequest.fromJsonString(data.toString('utf8'));
    } catch (e) {
      this.log.warn(`undecodable signal request dropped: ${e.message}`);
      return;
    }
    if (this.closed || !this.room) return;
    try {
      this.dispatch(req.message);
    } catch (e) {
      // A request we cannot handle must not take the server down.
      this.log.error(`${req.message.case}: ${e.stack}`);
    }
  }

  dispatch({ case: kind, value }) {
    const p = this.participant;
    switch (kind) {
      case 'offer':
        this.answerOffer(value);
        break;
      case 'answer':
        if (this.subscriber) this.subscriber.acceptAnswer(value.sdp).catch((e) => this.log.warn(`bad answer: ${e.message}`));
        break;
      case 'trickle':
        this.addCandidate(value);
        break;
      case 'leave':
        this.log.info('client left');
        this.close();
        break;
      case 'ping':
        this.send({ case: 'pong', value: BigInt(Date.now()) });
        break;
      case 'pingReq':
        this.send({ case: 'pongResp', value: new Pong({ lastPingTimestamp: value.timestamp, timestamp: BigInt(Date.now()) }) });
        break;
      case 'publishDataTrackRequest':
        this.room.publishDataTrack(p, value);
        break;
      case 'unpublishDataTrackRequest':
        this.room.unpublishDataTrack(p, value);
        break;
      case 'updateDataSubscription':
        this.room.updateDataSubscription(p, value);
        break;
      case 'syncState':
        this.checkSyncState(value);
        break;
      default:
        this.log.debug(`ignored signal request ${kind}`);
    }
  }

  // After a resume the client lists its published data tracks; one we do not know means the
  // states diverged: full reconnect, as livekit-server asks for.
  checkSyncState(state) {
    for (const { info } of state.publishDataTracks) {
      const track = this.participant.published.get(info?.pubHandle);
      if (!track || track.sid !== info.sid) {
        this.log.info(`sync_state names data track ${info?.sid} (handle ${info?.pubHandle}) we do not have: full reconnect`);
        this.leaveAndClose(DisconnectReason.STATE_MISMATCH, LeaveRequest_Action.RECONNECT);
        return;
      }
    }
  }

  addCandidate(trickle) {
    let init;
    try {
      init = JSON.parse(trickle.candidateInit);
    } catch {
      this.log.warn('trickle with unparseable candidateInit dropped');
      return;
    }
    const pc = trickle.target === SignalTarget.SUBSCRIBER ? this.subscriber : this.publisher;
    pc?.addCandidate(init);
  }

  send(message) {
    if (this.closed) return;
    if (this.held) {
      if (this.held.length < MAX_HELD_MESSAGES) this.held.push(message);
      return;
    }
    if (this.ws.readyState !== this.ws.OPEN) return;
    const res = new SignalResponse({ message });
    this.ws.send(this.useText ? res.toJsonString() : res.toBinary());
  }

  checkAlive() {
    if (this.held) return; // no WebSocket: the resume window runs
    if (Date.now() - this.lastSeen > PING_TIMEOUT_S * 1000) {
      this.log.info('no signal for ping timeout: dropping the WebSocket');
      this.ws.terminate();
      return;
    }
    if (this.ws.readyState === this.ws.OPEN) this.ws.ping();
  }

  // A fault on demand (http_server.js /debug/fault).
  fault(kind) {
    this.log.info(`fault: ${kind}`);
    if (kind === 'close-pc') {
      this.publisher?.close();
      this.subscriber?.close();
    } else if (kind === 'leave-resume') {
      this.send({ case: 'leave', value: new LeaveRequest({ reason: DisconnectReason.SIGNAL_CLOSE, action: LeaveRequest_Action.RESUME }) });
      this.ws.terminate();
    } else if (kind === 'leave-reconnect') {
      this.leaveAndClose(DisconnectReason.SIGNAL_CLOSE, LeaveRequest_Action.RECONNECT);
    }
  }

  leaveAndClose(reason, action) {
    this.held = null; // a detached client cannot be told; just end
    this.send({ case: 'leave', value: new LeaveRequest({ reason, action }) });
    this.close();
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.keepalive);
    clearTimeout(this.connectTimer);
    clearTimeout(this.resumeTimer);
    this.room?.leave(this.participant);
    this.participant.downlink.close();
    this.publisher?.close();
    this.subscriber?.close();
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(1000);
    this.onClosed();
  }
}
