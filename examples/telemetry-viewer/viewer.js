// Subscribes to one data track of JSON telemetry (each frame one JSON object)
// and plots every numeric field over the last WINDOW_S seconds, each on its
// own scale. The query says what to show: ?room=R&participant=P&track=T.
// window.viewer holds the state a test reads.
const WINDOW_S = 10;
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

const params = new URLSearchParams(location.search);
const want = {
  room: params.get('room') ?? 'telemetry',
  participant: params.get('participant'),  // null: the first publisher of the track
  track: params.get('track') ?? 'telemetry',
};
const viewer = (window.viewer = { frames: 0, badFrames: 0, fields: {}, latencyMs: null, state: 'connecting' });
const status = (text) => { viewer.state = text; document.getElementById('status').textContent = text; };

function addSample(frame) {
  let sample;
  try {
    sample = JSON.parse(new TextDecoder().decode(frame.payload));
  } catch {
    viewer.badFrames++;
    return;
  }
  const now = performance.now() / 1000;
  viewer.frames++;
  // The user timestamp is UNIX epoch milliseconds (the sink's default timestamp-mode).
  if (frame.userTimestamp !== undefined) viewer.latencyMs = Date.now() - Number(frame.userTimestamp);
  for (const [name, value] of Object.entries(sample)) {
    if (typeof value !== 'number') continue;
    (viewer.fields[name] ??= []).push([now, value]);
  }
  for (const points of Object.values(viewer.fields)) {
    while (points.length && points[0][0] < now - WINDOW_S) points.shift();
  }
}

function draw() {
  const canvas = document.getElementById('plot');
  const g = canvas.getContext('2d');
  g.clearRect(0, 0, canvas.width, canvas.height);
  const now = performance.now() / 1000;
  const legend = [];
  Object.entries(viewer.fields).forEach(([name, points], i) => {
    if (!points.length) return;
    const color = COLORS[i % COLORS.length];
    const values = points.map((p) => p[1]);
    const lo = Math.min(...values), hi = Math.max(...values);
    const span = hi - lo || 1;
    g.strokeStyle = color;
    g.lineWidth = 2;
    g.beginPath();
    points.forEach(([t, v], k) => {
      const x = canvas.width * (1 - (now - t) / WINDOW_S);
      const y = canvas.height - 10 - (canvas.height - 20) * ((v - lo) / span);
      if (k === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.stroke();
    legend.push(`<span style="color:${color}">■ ${name} ${+values[values.length - 1].toFixed(3)}</span>`);
  });
  if (viewer.latencyMs !== null) legend.push(`<span>${viewer.frames} frames, latency ${viewer.latencyMs} ms</span>`);
  document.getElementById('legend').innerHTML = legend.join('');
  requestAnimationFrame(draw);
}

async function main() {
  const { url, token } = await (await fetch(`/token?room=${encodeURIComponent(want.room)}`)).json();
  const room = new LivekitClient.Room();
  await room.connect(url, token, { autoSubscribe: false });
  status(`connected to room "${want.room}"; waiting for data track "${want.track}"`);

  const start = async (track, publisher) => {
    const stream = await track.subscribe();
    status(`showing "${want.track}" of ${publisher}`);
    const reader = stream.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      addSample(value);
    }
    status(`"${want.track}" of ${publisher} ended`);
  };
  const consider = (track, publisher) => {
    if (track.info?.name !== want.track) return false;
    if (want.participant && publisher !== want.participant) return false;
    start(track, publisher).catch((e) => status(`subscription failed: ${e.message}`));
    return true;
  };
  room.on(LivekitClient.RoomEvent.DataTrackPublished, (track) => consider(track, track.publisherIdentity));
  for (const p of room.remoteParticipants.values()) {
    for (const track of p.dataTracks?.values?.() ?? []) consider(track, p.identity);
  }
  requestAnimationFrame(draw);
}

main().catch((e) => status(`error: ${e.message}`));
