// Feeds data-track packets to one subscriber's _data_track channel in small portions.
// Handing libwebrtc a whole burst lets SCTP put it on the wire at once, and the receiving
// peer's kernel UDP buffer (208 KiB by default) overflows: unordered, unretransmitted
// packets are then lost. Keeping at most HIGH_WATER bytes inside the channel paces the
// burst; the queue in front of it is bounded and drops (counted) when full.
const HIGH_WATER = 64 * 1024;
const LOW_WATER = 16 * 1024;
export const MAX_QUEUED_BYTES = 4 * 1024 * 1024;
const POLL_MS = 5; // bufferedamountlow is not always delivered by wrtc: poll as well

export class DownlinkWriter {
  // stats: {forwarded, congestionDrops, channelMissing} counters to update
  constructor(stats) {
    this.stats = stats;
    this.channel = null;
    this.queue = [];
    this.queuedBytes = 0;
    this.timer = null;
  }

  setChannel(ch) {
    this.channel = ch;
    ch.bufferedAmountLowThreshold = LOW_WATER;
    ch.onbufferedamountlow = () => this.pump();
  }

  send(buf) {
    const ch = this.channel;
    if (!ch || ch.readyState !== 'open') {
      this.stats.channelMissing++;
      return;
    }
    if (this.queuedBytes + buf.length > MAX_QUEUED_BYTES) {
      this.stats.congestionDrops++;
      return;
    }
    this.queue.push(buf);
    this.queuedBytes += buf.length;
    this.pump();
  }

  pump() {
    const ch = this.channel;
    while (this.queue.length && ch.readyState === 'open' && ch.bufferedAmount < HIGH_WATER) {
      const buf = this.queue.shift();
      this.queuedBytes -= buf.length;
      try {
        ch.send(buf);
        this.stats.forwarded++;
      } catch {
        this.stats.channelMissing++;
      }
    }
    if (ch.readyState !== 'open') this.clear();
    if (this.queue.length && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.pump();
      }, POLL_MS);
    }
  }

  clear() {
    this.stats.channelMissing += this.queue.length;
    this.queue = [];
    this.queuedBytes = 0;
  }

  close() {
    clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
    this.queuedBytes = 0;
  }
}
