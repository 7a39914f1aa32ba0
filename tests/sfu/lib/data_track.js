// One published data track and its subscribers: forwards each packet from the publisher
// to every subscriber with the subscriber's own handle in the header.
import { rewriteHandle } from './packet.js';

export class DataTrack {
  // info: DataTrackInfo; publisher: Participant
  constructor(info, publisher) {
    this.info = info;
    this.publisher = publisher;
    this.subscribers = new Map(); // Participant -> subscriber handle
  }

  get sid() {
    return this.info.sid;
  }

  // buf: the packet as received; header: its parsed header.
  forward(buf, header) {
    // The start of the last payload, for /debug/stats: lets tests check that an
    // end-to-end encrypted track's bytes pass through the server unreadable.
    this.lastPayloadHead = Buffer.from(buf.subarray(header.payloadOffset, header.payloadOffset + 64));
    for (const [subscriber, handle] of this.subscribers) {
      subscriber.sendDataTrackPacket(rewriteHandle(buf, header, handle));
    }
  }
}
