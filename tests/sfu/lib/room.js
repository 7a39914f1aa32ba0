// Rooms: who is in them, which data tracks are published, who subscribes to what, and the
// signalling those changes cause (participant updates, publish answers, handle snapshots).
// A room is created by its first join and closed when its last participant leaves.
import {
  DataTrackInfo,
  DisconnectReason,
  ParticipantInfo_State,
  ParticipantUpdate,
  PublishDataTrackRequest,
  PublishDataTrackResponse,
  RequestResponse,
  RequestResponse_Reason,
  Room as RoomInfo,
  UnpublishDataTrackRequest,
  UnpublishDataTrackResponse,
} from '@livekit/protocol';
import { DataTrack } from './data_track.js';
import { randomId } from './ids.js';
import { logger } from './log.js';
import { parseHeader } from './packet.js';
import { validatePublish } from './publish_validation.js';

export class Room {
  // dataTracksEnabled: false models a server without data-track support (requests unanswered);
  // dataTracksAllowed: false one with them switched off (livekit-server's enable_data_tracks:
  // false: publishes refused with NOT_ALLOWED, no server _data_track channel).
  constructor(name, { dataTracksEnabled, dataTracksAllowed = true, onEmpty, onLeft }) {
    this.name = name;
    this.sid = randomId('RM_');
    this.creationTime = BigInt(Math.floor(Date.now() / 1000));
    this.dataTracksEnabled = dataTracksEnabled;
    this.dataTracksAllowed = dataTracksAllowed;
    this.onEmpty = onEmpty;
    this.onLeft = onLeft;
    this.participants = new Map(); // identity -> Participant
    this.tracks = new Map(); // track sid -> DataTrack
    this.log = logger(`room ${name}`);
  }

  info() {
    return new RoomInfo({ sid: this.sid, name: this.name, creationTime: this.creationTime, numParticipants: this.participants.size, emptyTimeout: 300, departureTimeout: 20 });
  }

  otherInfos(p) {
    return [...this.participants.values()].filter((o) => o !== p && !o.grants.hidden).map((o) => o.info());
  }

  // Sends p's current info to the others (and to p itself unless skipSource).
  broadcast(p, { skipSource = true, info = p.info() } = {}) {
    if (p.grants.hidden) return;
    const update = { case: 'update', value: new ParticipantUpdate({ participants: [info] }) };
    for (const o of this.participants.values()) {
      if (o === p && skipSource) continue;
      o.send(update);
    }
  }

  join(p) {
    const previous = this.participants.get(p.identity);
    // The newcomer takes the identity first, so the room never looks empty in between.
    this.participants.set(p.identity, p);
    if (previous) {
      this.log.info(`${p.identity} joined again: removing the previous session`);
      previous.disconnect?.(DisconnectReason.DUPLICATE_IDENTITY);
      this.leave(previous);
    }
    p.setState(ParticipantInfo_State.JOINED);
    this.log.info(`${p.identity} (${p.sid}) joined; ${this.participants.size} in room`);
    this.broadcast(p);
  }

  // The participant's primary peer connection is up: it is ACTIVE and may be auto-subscribed.
  activate(p) {
    if (this.participants.get(p.identity) !== p || p.isActive) return;
    p.setState(ParticipantInfo_State.ACTIVE);
    this.broadcast(p);
    if (p.options.autoSubscribeDataTrack) {
      let changed = false;
      for (const track of this.tracks.values()) changed = this.subscribe(p, track) || changed;
      if (changed) p.sendSubscriberHandles();
    }
  }

  leave(p) {
    if (p.state === ParticipantInfo_State.DISCONNECTED) return;
    const replaced = this.participants.get(p.identity) !== p;
    if (!replaced) this.participants.delete(p.identity);
    for (const track of [...p.published.values()]) this.removeTrack(track);
    for (const { track } of p.subscriptions.values()) track.subscribers.delete(p);
    p.subscriptions.clear();
    p.setState(ParticipantInfo_State.DISCONNECTED);
    this.log.info(`${p.identity} (${p.sid}) left (stats ${JSON.stringify(p.stats)}); ${this.participants.size} in room`);
    // A replaced participant is superseded by the newcomer's update (same identity, new sid).
    if (!replaced) this.broadcast(p, { info: p.departedInfo() });
    this.onLeft(p);
    if (this.participants.size === 0) this.onEmpty(this);
  }

  close(reason) {
    for (const p of [...this.participants.values()]) {
      p.disconnect?.(reason);
      this.leave(p);
    }
  }

  publishDataTrack(p, req) {
    if (!this.dataTracksEnabled) {
      this.log.debug(`${p.identity}: publish request ignored (data tracks disabled)`);
      return;
    }
    const refused = validatePublish(req, p.grants.canPublishData && this.dataTracksAllowed, [...p.published.values()].map((t) => t.info));
    if (refused) {
      this.log.info(`${p.identity}: publish handle=${req.pubHandle} name=${JSON.stringify(req.name)} refused: ${refused.message}`);
      p.sendRequestResponse(new RequestResponse({ reason: refused.reason, message: refused.message, request: { case: 'publishDataTrack', value: new PublishDataTrackRequest(req) } }));
      return;
    }
    const info = new DataTrackInfo({ pubHandle: req.pubHandle, sid: randomId('DTR_'), name: req.name, encryption: req.encryption, frameEncoding: req.frameEncoding, schema: req.schema });
    const track = new DataTrack(info, p);
    p.published.set(req.pubHandle, track);
    this.tracks.set(info.sid, track);
    p.touch();
    this.log.info(`${p.identity} published ${info.sid} handle=${info.pubHandle} name=${JSON.stringify(info.name)}`);
    p.send({ case: 'publishDataTrackResponse', value: new PublishDataTrackResponse({ info }) });
    this.broadcast(p);
    for (const o of this.participants.values()) {
      if (o !== p && o.isActive && o.options.autoSubscribeDataTrack && this.subscribe(o, track)) o.sendSubscriberHandles();
    }
  }

  unpublishDataTrack(p, req) {
    if (!this.dataTracksEnabled) return;
    const track = p.published.get(req.pubHandle);
    if (!track) {
      p.sendRequestResponse(new RequestResponse({ reason: RequestResponse_Reason.NOT_FOUND, request: { case: 'unpublishDataTrack', value: new UnpublishDataTrackRequest(req) } }));
      return;
    }
    this.removeTrack(track);
    p.send({ case: 'unpublishDataTrackResponse', value: new UnpublishDataTrackResponse({ info: track.info }) });
    this.broadcast(p);
  }

  // Drops a track and every subscription to it (subscribers get a new snapshot).
  removeTrack(track) {
    track.publisher.published.delete(track.info.pubHandle);
    track.publisher.touch();
    this.tracks.delete(track.sid);
    for (const subscriber of track.subscribers.keys()) {
      subscriber.subscriptions.delete(track.sid);
      subscriber.sendSubscriberHandles();
    }
    track.subscribers.clear();
    this.log.info(`${track.publisher.identity} unpublished ${track.sid}`);
  }

  // True when p got a new subscription.
  subscribe(p, track) {
    if (track.publisher === p || p.subscriptions.has(track.sid)) return false;
    const handle = p.allocateHandle();
    p.subscriptions.set(track.sid, { track, handle });
    track.subscribers.set(p, handle);
    this.log.info(`${p.identity} subscribed to ${track.sid} with handle ${handle}`);
    return true;
  }

  updateDataSubscription(p, msg) {
    if (!this.dataTracksEnabled) return;
    let changed = false;
    for (const u of msg.updates) {
      if (u.subscribe) {
        const track = this.tracks.get(u.trackSid);
        if (!track) {
          this.log.info(`${p.identity}: subscribe to unknown track ${u.trackSid} ignored`);
        } else if (!p.grants.canSubscribe) {
          this.log.info(`${p.identity}: subscribe to ${u.trackSid} refused: no canSubscribe`);
        } else {
          changed = this.subscribe(p, track) || changed;
        }
      } else {
        const sub = p.subscriptions.get(u.trackSid);
        if (sub) {
          p.subscriptions.delete(u.trackSid);
          sub.track.subscribers.delete(p);
          this.log.info(`${p.identity} unsubscribed from ${u.trackSid}`);
          changed = true;
        }
      }
    }
    if (changed) p.sendSubscriberHandles();
  }

  // A message from p's _data_track channel.
  onDataTrackPacket(p, buf) {
    p.stats.received++;
    const header = parseHeader(buf);
    if (!header) {
      p.stats.malformed++;
      this.log.debug(`${p.identity}: malformed data-track packet (${buf.length} bytes) dropped`);
      return;
    }
    const track = p.published.get(header.handle);
    if (!track) {
      p.stats.unknownHandle++;
      return;
    }
    track.forward(buf, header);
  }
}

const zeroStats = () => ({ received: 0, forwarded: 0, malformed: 0, unknownHandle: 0, congestionDrops: 0, channelMissing: 0 });

function addStats(into, from) {
  for (const k of Object.keys(into)) into[k] += from[k];
}

export class RoomRegistry {
  constructor({ dataTracksEnabled, dataTracksAllowed = true }) {
    this.rooms = new Map();
    this.departedStats = zeroStats(); // counters of participants that have left
    this.dataTracksEnabled = dataTracksEnabled;
    this.dataTracksAllowed = dataTracksAllowed;
    this.log = logger('rooms');
  }

  get(name) {
    let room = this.rooms.get(name);
    if (!room) {
      room = new Room(name, {
        dataTracksEnabled: this.dataTracksEnabled,
        dataTracksAllowed: this.dataTracksAllowed,
        onEmpty: (r) => {
          if (this.rooms.get(r.name) === r) this.rooms.delete(r.name);
          this.log.info(`room ${r.name} closed (empty)`);
        },
        onLeft: (p) => addStats(this.departedStats, p.stats),
      });
      this.rooms.set(name, room);
      this.log.info(`room ${name} created`);
    }
    return room;
  }

  // Data-track counters: totals since start, and per live participant.
  stats() {
    const totals = { ...this.departedStats };
    const rooms = [];
    for (const room of this.rooms.values()) {
      const participants = [];
      for (const p of room.participants.values()) {
        addStats(totals, p.stats);
        participants.push({
          identity: p.identity,
          sid: p.sid,
          state: p.state,
          stats: p.stats,
          published: [...p.published.values()].map((t) => ({
            sid: t.sid,
            pubHandle: t.info.pubHandle,
            name: t.info.name,
            encryption: t.info.encryption,
            lastPayloadHead: t.lastPayloadHead?.toString('hex') ?? '',
          })),
          subscriptions: [...p.subscriptions.values()].map((s) => ({ trackSid: s.track.sid, handle: s.handle })),
        });
      }
      rooms.push({ name: room.name, sid: room.sid, participants });
    }
    return { totals, rooms };
  }

  closeAll(reason) {
    for (const room of [...this.rooms.values()]) room.close(reason);
  }
}
