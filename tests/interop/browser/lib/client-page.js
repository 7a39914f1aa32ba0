// In-page helpers around the official livekit-client (window.LivekitClient), called from Node
// through ClientPage.call(). Everything returned is plain JSON: errors become
// {error: {name, reasonName, status, message, rawMessage}}, bigints become decimal strings.
// Loaded before the client so that the peer-connection count sees every construction.
'use strict';
(() => {
  const NativePeerConnection = window.RTCPeerConnection;
  const peerConnections = [];
  const remoteChannelLabels = []; // data channels the server opened towards this page
  window.RTCPeerConnection = class CountedPeerConnection extends NativePeerConnection {
    constructor(...args) {
      super(...args);
      peerConnections.push(this);
      this.addEventListener('datachannel', (e) => remoteChannelLabels.push(e.channel.label));
    }
  };

  // A frame with these exact bytes marks "is the subscription live yet?" and is never a test frame.
  const PROBE = new TextEncoder().encode('lkt-probe');

  const now = () => performance.timeOrigin + performance.now();
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  let room = null;
  let keyProvider = null; // with E2EE
  const roomEvents = [];
  const localTracks = new Map(); // name -> LocalDataTrack
  const receivers = new Map(); // name -> { frames, probes, end }

  function describeError(err) {
    // Room.connect copies the underlying reason into its own ConnectionError without updating
    // reasonName (2.23.0): name a ConnectionError's reason from the enum instead.
    const isConnectionError = err instanceof LivekitClient.ConnectionError;
    return {
      name: err?.name ?? typeof err,
      reasonName: isConnectionError ? LivekitClient.ConnectionErrorReason[err.reason] : err?.reasonName ?? null,
      status: err?.status ?? null,
      message: String(err?.message ?? err),
      rawMessage: err?.rawMessage ?? null, // the server's own text (DataTrackPublishError)
    };
  }

  async function settle(fn) {
    const started = now();
    try {
      return { ok: await fn(), elapsedMs: now() - started };
    } catch (err) {
      return { error: describeError(err), elapsedMs: now() - started };
    }
  }

  async function waitFor(what, predicate, timeoutMs) {
    const deadline = now() + timeoutMs;
    for (;;) {
      const value = predicate();
      if (value) return value;
      if (now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(20);
    }
  }

  // Deterministic pseudo-random bytes (xorshift32): sender and test can regenerate a payload.
  function payloadFor(size, seed) {
    const bytes = new Uint8Array(size);
    let x = (seed * 2654435761) >>> 0 || 1;
    for (let i = 0; i < size; i++) {
      x ^= x << 13; x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5; x >>>= 0;
      bytes[i] = x & 0xff;
    }
    return bytes;
  }

  async function sha256(bytes) {
    const digest = await crypto.subtle.digest('SHA-256', bytes);
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
  }

  function isProbe(payload) {
    return payload.length === PROBE.length && payload.every((b, i) => b === PROBE[i]);
  }

  // Bench frames (bench/e2e): bytes 0-3 a big-endian sequence number, 4-11 the send time as a
  // big-endian double, ms since the Unix epoch (bench/e2e/gst_peer.cpp writes the same layout).
  const BENCH_HEADER = 12;
  function sentAtOf(payload) {
    if (payload.length < BENCH_HEADER) return null;
    return new DataView(payload.buffer, payload.byteOffset, BENCH_HEADER).getFloat64(4);
  }

  // After the header, byte k is (seq + 3 * (size % 251) + k) % 251 (bench/e2e/peer_protocol.h): a
  // frame's bytes are a window of one array per size, made once (the last size used is kept).
  const FILL_MODULUS = 251;
  let fill = { size: -1, bytes: null };
  function fillOf(seq, size) {
    if (fill.size !== size) {
      const bytes = new Uint8Array(size + FILL_MODULUS);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (3 * (size % FILL_MODULUS) + i) % FILL_MODULUS;
      fill = { size, bytes };
    }
    const from = seq % FILL_MODULUS;
    return fill.bytes.subarray(from + BENCH_HEADER, from + size);
  }
  function intact(payload) {
    if (payload.length < BENCH_HEADER) return false;
    const expected = fillOf(new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0), payload.length);
    for (let i = 0; i < expected.length; i++) if (payload[BENCH_HEADER + i] !== expected[i]) return false;
    return true;
  }

  // A yield without setTimeout's 4 ms clamp, for pacing thousands of frames a second.
  function yieldNow() {
    return new Promise((resolve) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = resolve;
      channel.port2.postMessage(0);
    });
  }

  function percentile(sorted, p) {
    if (!sorted.length) return null;
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
  }

  function remoteTrack(identity, name) {
    return room.remoteParticipants.get(identity)?.dataTracks.get(name);
  }

  async function readFrames(stream, receiver, hashFrames) {
    const reader = stream.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (isProbe(value.payload)) {
          receiver.probes += 1;
          continue;
        }
        if (receiver.timed) {
          const corrupt = receiver.check && !intact(value.payload);
          receiver.frames.push({ size: value.payload.length, at: now(), sentAt: sentAtOf(value.payload), corrupt });
          continue;
        }
        receiver.frames.push({
          size: value.payload.length,
          text: value.payload.length <= 256 ? new TextDecoder().decode(value.payload) : null,
          userTimestamp: value.userTimestamp === undefined ? null : value.userTimestamp.toString(),
          sha256: hashFrames ? sha256(value.payload) : null,
          at: now(),
        });
      }
      receiver.end = { done: true };
    } catch (err) {
      receiver.end = { error: describeError(err) };
    }
  }

  window.lkt = {
    /**
     * Joins with the official client; data-only, no media auto-subscription. With
     * `e2eePassphrase`, end-to-end encryption as an application sets it up: the client's
     * ExternalE2EEKeyProvider (shared passphrase) and its own E2EE worker.
     */
    connect(url, token, { singlePeerConnection = true, logLevel = 'warn', e2eePassphrase = null } = {}) {
      return settle(async () => {
        LivekitClient.setLogLevel(logLevel);
        let encryption;
        if (e2eePassphrase !== null) {
          keyProvider = new LivekitClient.ExternalE2EEKeyProvider();
          await keyProvider.setKey(e2eePassphrase);
          encryption = { keyProvider, worker: new Worker('/livekit-client.e2ee.worker.js') };
        }
        room = new LivekitClient.Room({ singlePeerConnection, encryption });
        room.on(LivekitClient.RoomEvent.DataTrackPublished, (track) => roomEvents.push({
          type: 'published', sid: track.info.sid, name: track.info.name, publisher: track.publisherIdentity,
          usesE2ee: track.info.usesE2ee,
        }));
        room.on(LivekitClient.RoomEvent.DataTrackUnpublished, (sid) => roomEvents.push({ type: 'unpublished', sid }));
        for (const type of ['signalReconnecting', 'reconnecting', 'reconnected', 'disconnected']) {
          room.on(type, () => roomEvents.push({ type }));
        }
        await room.connect(url, token, { autoSubscribe: false });
        return {
          identity: room.localParticipant.identity,
          sid: room.localParticipant.sid,
          serverVersion: room.serverInfo?.version ?? null,
          peerConnections: peerConnections.length,
        };
      });
    },

    /** Ratchets the shared E2EE key one step, as an application rotating it would. */
    ratchetKey() {
      return settle(async () => {
        keyProvider.ratchetKey();
        return true;
      });
    },

    /**
     * Rotates to the key `passphrase` gives at `keyIndex`, sent with from then on. The shared-key
     * provider's setKey() always takes index 0; an index goes through BaseKeyProvider's
     * onSetEncryptionKey(key, identity, keyIndex), the hook a custom key provider calls.
     */
    rotateKey(passphrase, keyIndex) {
      return settle(async () => {
        keyProvider.onSetEncryptionKey(await LivekitClient.createKeyMaterialFromString(passphrase), undefined, keyIndex);
        return true;
      });
    },

    disconnect() {
      return settle(async () => room?.disconnect());
    },

    roomEvents() {
      return roomEvents;
    },

    localSid() {
      return room.localParticipant.sid;
    },

    /**
     * Drops the signalling WebSocket the way the client's own test hook does ('signal-reconnect':
     * the client then resumes the session) and waits for RoomEvent.Reconnected.
     */
    dropSignalAndAwaitResume(timeoutMs) {
      return settle(async () => {
        const before = roomEvents.filter((e) => e.type === 'reconnected').length;
        await room.simulateScenario('signal-reconnect');
        await waitFor('RoomEvent.Reconnected', () => roomEvents.filter((e) => e.type === 'reconnected').length > before, timeoutMs);
        return true;
      });
    },

    /** connectionState of every peer connection the page created, oldest first. */
    peerConnectionStates() {
      return peerConnections.map((pc) => pc.connectionState);
    },

    remoteChannelLabels() {
      return remoteChannelLabels;
    },

    publish(name) {
      return settle(async () => {
        const track = await room.localParticipant.publishDataTrack({ name });
        localTracks.set(name, track);
        return { sid: track.info.sid, pubHandle: track.info.pubHandle, name: track.info.name };
      });
    },

    unpublish(name) {
      return settle(async () => localTracks.get(name).unpublish());
    },

    /**
     * Pushes frames one by one, each {size, seed} (pseudo-random bytes) or {text}, with
     * userTimestamp as a decimal string; returns their sizes and hashes.
     */
    pushFrames(name, frames) {
      return settle(async () => {
        const track = localTracks.get(name);
        const sent = [];
        for (const f of frames) {
          const payload = f.text === undefined ? payloadFor(f.size, f.seed) : new TextEncoder().encode(f.text);
          sent.push({ size: payload.length, userTimestamp: f.userTimestamp, sha256: await sha256(payload) });
          await track.tryPush({ payload, userTimestamp: BigInt(f.userTimestamp) });
          await track.flush();
        }
        return sent;
      });
    },

    /** Size, user timestamp and SHA-256 of frames {size, seed, userTimestamp} another peer sends. */
    payloadDigests(frames) {
      return settle(() => Promise.all(frames.map(async (f) => ({
        size: f.size, userTimestamp: f.userTimestamp, sha256: await sha256(payloadFor(f.size, f.seed)),
      }))));
    },

    pushProbe(name) {
      return settle(async () => localTracks.get(name).tryPush({ payload: PROBE.slice() }));
    },

    /** Pushes `count` frames of `size` bytes as fast as the client's flow control lets it. */
    pushBurst(name, size, count) {
      return settle(async () => {
        const track = localTracks.get(name);
        const startedAt = now();
        let dropped = 0;
        for (let i = 0; i < count; i++) {
          const payload = new Uint8Array(size);
          new DataView(payload.buffer).setUint32(0, i);
          try {
            await track.tryPush({ payload });
          } catch (err) {
            if (err?.reasonName !== 'Dropped') throw err;
            dropped += 1;
          }
          if (i % 16 === 15) await track.flush(); // bound the client's in-memory send queue
        }
        await track.flush();
        return { startedAt, flushedAt: now(), dropped };
      });
    },

    /**
     * Bench frames (layout at BENCH_HEADER): `count` frames of `size` bytes at `rate` a second
     * from now (0: as fast as the client's flow control lets it), each stamped when pushed.
     * Gives up after `timeoutMs` (a flush that never completes was seen under load) and says
     * how many it pushed.
     */
    pushTimed(name, size, count, rate, timeoutMs = 120000) {
      return settle(async () => {
        const track = localTracks.get(name);
        const startedAt = now();
        const deadline = startedAt + timeoutMs;
        const flush = () => Promise.race([track.flush(), sleep(Math.max(0, deadline - now()))]);
        let pushed = 0;
        for (; pushed < count && now() < deadline; pushed++) {
          if (rate > 0) {
            for (let wait = startedAt + (1000 * pushed) / rate - now(); wait > 0; wait = startedAt + (1000 * pushed) / rate - now()) {
              await flush();
              await (wait > 2 ? sleep(1) : yieldNow());
            }
          }
          const payload = new Uint8Array(Math.max(size, BENCH_HEADER));
          const view = new DataView(payload.buffer);
          payload.set(fillOf(pushed, payload.length), BENCH_HEADER);
          view.setUint32(0, pushed);
          view.setFloat64(4, now());
          await track.tryPush({ payload });
          if (pushed % 16 === 15) await flush(); // bound the client's in-memory send queue
        }
        await flush();
        return { startedAt, endedAt: now(), pushed };
      });
    },

    /**
     * Waits as receivedFrames does for bench frames (subscribe with `timed`), then returns their
     * count, bytes, last arrival and one-way latency quantiles (ms), and forgets them.
     */
    collectTimed(name, count, timeoutMs, idleMs) {
      return settle(async () => {
        const receiver = receivers.get(name);
        const deadline = now() + timeoutMs;
        let lastCount = receiver.frames.length;
        let lastChange = now();
        while (receiver.frames.length < count && !receiver.end && now() < deadline && now() - lastChange < idleMs) {
          await sleep(20);
          if (receiver.frames.length !== lastCount) {
            lastCount = receiver.frames.length;
            lastChange = now();
          }
        }
        const frames = receiver.frames;
        receiver.frames = [];
        const latencies = frames.filter((f) => f.sentAt !== null).map((f) => f.at - f.sentAt).sort((x, y) => x - y);
        return {
          received: frames.length,
          bytes: frames.reduce((n, f) => n + f.size, 0),
          corrupted: frames.filter((f) => f.corrupt).length, // counted only when subscribed with `check`
          lastAt: frames.length ? frames[frames.length - 1].at : null,
          // The quantiles 0, 1, ..., 99, 99.9 and 100 % (as bench/e2e/peer_protocol.h answers).
          latency: [...Array(100).keys(), 99.9, 100].map((p) => percentile(latencies, p)),
        };
      });
    },

    /**
     * Calibration for the throughput table: `count` messages of `size` bytes between two peer
     * connections inside this page (no server, no data-track layer), on an unordered channel
     * without retransmissions, paced by the same buffer watermarks the client uses (256/8 KiB).
     */
    directBurst(size, count) {
      return settle(async () => {
        const [tx, rx] = [new NativePeerConnection(), new NativePeerConnection()];
        tx.onicecandidate = (e) => e.candidate && rx.addIceCandidate(e.candidate);
        rx.onicecandidate = (e) => e.candidate && tx.addIceCandidate(e.candidate);
        const channel = tx.createDataChannel('direct', { ordered: false, maxRetransmits: 0 });
        let received = 0;
        let lastAt = 0;
        rx.ondatachannel = (e) => {
          e.channel.onmessage = () => { received += 1; lastAt = now(); };
        };
        await tx.setLocalDescription();
        await rx.setRemoteDescription(tx.localDescription);
        await rx.setLocalDescription();
        await tx.setRemoteDescription(rx.localDescription);
        await waitFor('the direct channel to open', () => channel.readyState === 'open', 10000);
        channel.bufferedAmountLowThreshold = 8 * 1024;
        const startedAt = now();
        for (let i = 0; i < count; i++) {
          if (channel.bufferedAmount > 256 * 1024) {
            const drained = new Promise((resolve) => { channel.onbufferedamountlow = resolve; });
            // The event can come before this await: poll as well.
            await Promise.race([drained, waitFor('buffer drain', () => channel.bufferedAmount <= 8 * 1024, 30000)]);
          }
          channel.send(new Uint8Array(size));
        }
        let seen = -1;
        while (received !== seen && received < count) { // until complete or 1 s without news
          seen = received;
          await sleep(1000);
        }
        tx.close();
        rx.close();
        return { startedAt, lastAt, received };
      });
    },

    /** Waits for a remote participant's track through dataTracks.getDeferred. */
    awaitRemoteTrack(identity, name, timeoutMs) {
      return settle(async () => {
        const participant = await waitFor(`participant ${identity}`, () => room.remoteParticipants.get(identity), timeoutMs);
        const track = await participant.dataTracks.getDeferred(name, AbortSignal.timeout(timeoutMs));
        return { sid: track.info.sid, name: track.info.name, pubHandle: track.info.pubHandle,
          usesE2ee: track.info.usesE2ee, publisherIdentity: track.publisherIdentity,
          infoFields: Object.keys(track.info).sort() };
      });
    },

    /**
     * Subscribes and starts reading; frames are collected for receivedFrames(), or with `timed`
     * (bench frames) for collectTimed(), which with `check` also counts frames whose bytes are not
     * the bench layout's (corrupted or partial).
     */
    subscribe(identity, name, { bufferSize = 64, hashFrames = true, timed = false, check = false } = {}) {
      return settle(async () => {
        const receiver = { frames: [], probes: 0, end: null, timed, check };
        receivers.set(name, receiver);
        const stream = remoteTrack(identity, name).subscribe({ bufferSize });
        readFrames(stream, receiver, hashFrames);
        return true;
      });
    },

    /** Forgets the frames received so far (not the probe count). */
    clearFrames(name) {
      receivers.get(name).frames = [];
    },

    receivedProbes(name) {
      return receivers.get(name).probes;
    },

    /**
     * Waits until `count` frames arrived, the stream ended, `timeoutMs` passed or nothing new
     * came for `idleMs`; then returns what arrived.
     */
    receivedFrames(name, count, timeoutMs, idleMs = timeoutMs) {
      return settle(async () => {
        const receiver = receivers.get(name);
        const deadline = now() + timeoutMs;
        let lastCount = -1;
        let lastChange = now();
        while (receiver.frames.length < count && !receiver.end && now() < deadline && now() - lastChange < idleMs) {
          if (receiver.frames.length !== lastCount) {
            lastCount = receiver.frames.length;
            lastChange = now();
          }
          await sleep(20);
        }
        const frames = await Promise.all(receiver.frames.map(async (f) => ({ ...f, sha256: await f.sha256 })));
        return { frames, probes: receiver.probes, end: receiver.end };
      });
    },

    /** Waits until the track is gone: the DataTrackUnpublished event and dataTracks no longer has it. */
    awaitUnpublished(identity, name, sid, timeoutMs) {
      return settle(async () => {
        await waitFor(`DataTrackUnpublished for ${sid}`,
          () => roomEvents.some((e) => e.type === 'unpublished' && e.sid === sid), timeoutMs);
        return { stillListed: remoteTrack(identity, name) !== undefined, end: receivers.get(name)?.end ?? null };
      });
    },
  };
})();
