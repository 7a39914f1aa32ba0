// A participant's server-side state: identity and grants, the data tracks it publishes
// (by publisher handle), its subscriptions (by track sid, each with a subscriber handle
// allocated here) and the data channel its subscribed packets go out on.
import {
  ClientInfo_SDK,
  DataTrackSubscriberHandles,
  DataTrackSubscriberHandles_PublishedDataTrack,
  ParticipantInfo,
  ParticipantInfo_State,
  ParticipantPermission,
} from '@livekit/protocol';
import { DownlinkWriter } from './downlink.js';
import { randomId } from './ids.js';

export class Participant {
  // grants: from auth.joinGrants; options: session options; send(SignalResponse message)
  constructor(grants, options, send) {
    this.sid = randomId('PA_');
    this.identity = grants.identity;
    this.name = grants.name;
    this.metadata = grants.metadata;
    this.attributes = grants.attributes;
    this.grants = grants;
    this.options = options;
    this.send = send;
    this.state = ParticipantInfo_State.JOINING;
    this.version = 0;
    this.joinedAt = BigInt(Math.floor(Date.now() / 1000));
    this.joinedAtMs = BigInt(Date.now());
    this.published = new Map(); // pub handle -> DataTrack
    this.subscriptions = new Map(); // track sid -> {track, handle}
    this.lastHandle = 0;
    this.stats = { received: 0, forwarded: 0, malformed: 0, unknownHandle: 0, congestionDrops: 0, channelMissing: 0 };
    this.downlink = new DownlinkWriter(this.stats); // to this participant's receiving _data_track
  }

  get isActive() {
    return this.state === ParticipantInfo_State.ACTIVE;
  }

  setState(state) {
    this.state = state;
    this.version++;
  }

  // Something others see changed (data tracks): bump the info version.
  touch() {
    this.version++;
  }

  // Subscriber handles: counter from 1, skipping 0 on wrap, as livekit-server does.
  allocateHandle() {
    this.lastHandle = (this.lastHandle + 1) & 0xffff;
    if (this.lastHandle === 0) this.lastHandle = 1;
    return this.lastHandle;
  }

  info() {
    return new ParticipantInfo({
      sid: this.sid,
      identity: this.identity,
      name: this.name,
      metadata: this.metadata,
      attributes: this.attributes,
      state: this.state,
      version: this.version,
      joinedAt: this.joinedAt,
      joinedAtMs: this.joinedAtMs,
      permission: new ParticipantPermission({
        canPublish: this.grants.canPublish,
        canSubscribe: this.grants.canSubscribe,
        canPublishData: this.grants.canPublishData,
        hidden: this.grants.hidden,
      }),
      dataTracks: [...this.published.values()].map((t) => t.info),
    });
  }

  // What others see once this participant has left.
  departedInfo() {
    return new ParticipantInfo({ sid: this.sid, identity: this.identity, state: ParticipantInfo_State.DISCONNECTED, version: this.version + 1 });
  }

  // livekit-server withholds request_response from Rust clients older than protocol 10.
  sendRequestResponse(response) {
    const info = this.options.clientInfo;
    if (info?.sdk === ClientInfo_SDK.RUST && (info.protocol ?? 0) < 10) return;
    this.send({ case: 'requestResponse', value: response });
  }

  // Full snapshot of this participant's active subscriptions.
  sendSubscriberHandles() {
    const subHandles = {};
    for (const { track, handle } of this.subscriptions.values()) {
      subHandles[handle] = new DataTrackSubscriberHandles_PublishedDataTrack({
        publisherIdentity: track.publisher.identity,
        publisherSid: track.publisher.sid,
        trackSid: track.sid,
      });
    }
    this.send({ case: 'dataTrackSubscriberHandles', value: new DataTrackSubscriberHandles({ subHandles }) });
  }

  sendDataTrackPacket(buf) {
    this.downlink.send(buf);
  }
}
