// Wire compatibility of our proto/ schema with the official @livekit/protocol.
//
//   node wire_compat.mjs PATH/TO/proto_wire_check
//
// 1. Schema: every field of ours has the official number, name, kind, label,
//    presence and oneof; every enum of ours has the official values.
// 2. Official -> ours: a sample of every message type we define (and of every
//    oneof member), with all our fields set to distinctive values, is encoded by
//    the official code to bytes and to proto3 JSON; proto_wire_check decodes the
//    bytes with our schema, requires no unknown fields, compares with the JSON
//    and requires that the samples together set every field we define.
// 3. Ours -> official: proto_wire_check re-encodes each sample; the official
//    code decodes those bytes and must get the original message back.
import { execFileSync } from 'node:child_process';
import * as P from '@livekit/protocol';

const checker = process.argv[2];
if (!checker) {
  console.error('usage: node wire_compat.mjs PATH/TO/proto_wire_check');
  process.exit(2);
}

const failures = [];
const fail = (text) => failures.push(text);

// ---------------------------------------------------------------- official types

const officialMessages = new Map(); // full name -> message type
const officialEnums = new Map(); // full name -> enum type
for (const exported of Object.values(P)) {
  if (exported && typeof exported.typeName === 'string' && exported.fields) officialMessages.set(exported.typeName, exported);
}
for (const type of officialMessages.values()) {
  for (const f of type.fields.list()) {
    if (f.kind === 'enum') officialEnums.set(f.T.typeName, f.T);
    if (f.kind === 'map' && f.V.kind === 'enum') officialEnums.set(f.V.T.typeName, f.V.T);
  }
}

// ---------------------------------------------------------------- 1. schema

const TYPE_MESSAGE = 11;
const TYPE_ENUM = 14;
const LABEL_REPEATED = 3;

const ourSchema = JSON.parse(execFileSync(checker, ['schema'], { encoding: 'utf8' }));
const ourMessages = new Map(); // full name -> DescriptorProto (JSON)
const ourEnums = new Map(); // full name -> EnumDescriptorProto (JSON)
function collectTypes(prefix, messages = [], enums = []) {
  for (const e of enums) ourEnums.set(`${prefix}.${e.name}`, e);
  for (const m of messages) {
    const name = `${prefix}.${m.name}`;
    ourMessages.set(name, m);
    collectTypes(name, m.nested_type, m.enum_type);
  }
}
for (const file of ourSchema.file) collectTypes(file.package, file.message_type, file.enum_type);
const isMapEntry = (m) => m.options?.map_entry === true;

// Describes how a value of `kind`/`T` is typed, in our descriptor terms.
function sameValueType(ours, kind, T, where) {
  if (kind === 'scalar') {
    if (ours.type !== T) fail(`schema ${where}: type ${ours.type}, official scalar type ${T}`);
  } else {
    const wantType = kind === 'enum' ? TYPE_ENUM : TYPE_MESSAGE;
    if (ours.type !== wantType || ours.type_name !== `.${T.typeName}`)
      fail(`schema ${where}: type ${ours.type} ${ours.type_name ?? ''}, official ${kind} ${T.typeName}`);
  }
}

let fieldsChecked = 0;
for (const [name, ours] of ourMessages) {
  if (isMapEntry(ours)) continue;
  const official = officialMessages.get(name);
  if (!official) {
    fail(`schema: message ${name} does not exist in @livekit/protocol`);
    continue;
  }
  for (const field of ours.field ?? []) {
    const where = `${name}.${field.name} (= ${field.number})`;
    const off = official.fields.find(field.number);
    fieldsChecked++;
    if (!off) {
      fail(`schema ${where}: no official field with this number`);
      continue;
    }
    if (off.name !== field.name) fail(`schema ${where}: official name is ${off.name}`);
    const repeated = field.label === LABEL_REPEATED;
    if (off.kind === 'map') {
      const entry = ourMessages.get(field.type_name?.slice(1));
      if (!entry || !isMapEntry(entry)) {
        fail(`schema ${where}: official field is a map`);
        continue;
      }
      const [key, value] = entry.field;
      sameValueType(key, 'scalar', off.K, `${where} map key`);
      sameValueType(value, off.V.kind, off.V.T, `${where} map value`);
      continue;
    }
    if (repeated !== Boolean(off.repeated)) fail(`schema ${where}: repeated=${repeated}, official repeated=${Boolean(off.repeated)}`);
    sameValueType(field, off.kind, off.T, where);
    const optional = field.proto3_optional === true;
    if (optional !== Boolean(off.opt)) fail(`schema ${where}: optional=${optional}, official optional=${Boolean(off.opt)}`);
    const oneof = optional || field.oneof_index === undefined ? undefined : ours.oneof_decl[field.oneof_index].name;
    if (oneof !== off.oneof?.name) fail(`schema ${where}: oneof ${oneof}, official oneof ${off.oneof?.name}`);
  }
}
for (const [name, ours] of ourEnums) {
  const official = officialEnums.get(name);
  if (!official) {
    fail(`schema: enum ${name} does not exist in @livekit/protocol`);
    continue;
  }
  const ourValues = new Map((ours.value ?? []).map((v) => [v.number ?? 0, v.name]));
  for (const v of official.values) {
    if (!ourValues.has(v.no)) fail(`schema: enum ${name} lacks official value ${v.name} = ${v.no}`);
    else if (ourValues.get(v.no) !== v.name) fail(`schema: enum ${name} value ${v.no} is ${ourValues.get(v.no)}, official ${v.name}`);
  }
  if (ourValues.size !== official.values.length) fail(`schema: enum ${name} has values the official enum lacks`);
}

// ---------------------------------------------------------------- samples

// Distinctive values: every string and number differs, so a swapped field shows.
let counter = 100;
const str = (tag) => `${tag}-${++counter}`;
const num = () => ++counter;
const big = () => BigInt(++counter) * 1_000_003n;

const room = () => ({
  sid: str('RM'), name: str('room'), emptyTimeout: num(), maxParticipants: num(), creationTime: big(),
  metadata: str('room-meta'), numParticipants: num(), activeRecording: true, numPublishers: num(),
  departureTimeout: num(), creationTimeMs: big(),
});
const serverInfo = () => ({
  edition: P.ServerInfo_Edition.Cloud, version: str('1.13.5'), protocol: num(), region: str('region'),
  nodeId: str('node'), debugInfo: str('debug'), agentProtocol: num(),
});
const clientInfo = () => ({
  sdk: P.ClientInfo_SDK.CPP, version: str('0.1.0'), protocol: num(), os: str('linux'), osVersion: str('6.1'),
  deviceModel: str('model'), browser: str('browser'), browserVersion: str('bv'), address: str('10.0.0.1'),
  network: str('wifi'), otherSdks: str('other'), clientProtocol: num(),
  capabilities: [P.ClientInfo_Capability.CAP_PACKET_TRAILER, P.ClientInfo_Capability.CAP_COMPRESSION_DEFLATE_RAW],
});
const clientConfiguration = () => ({
  resumeConnection: P.ClientConfigSetting.DISABLED, forceRelay: P.ClientConfigSetting.ENABLED,
});
const participantPermission = () => ({
  canSubscribe: true, canPublish: true, canPublishData: true, hidden: true, recorder: true,
  canPublishSources: [P.TrackSource.SCREEN_SHARE_AUDIO, P.TrackSource.CAMERA], canUpdateMetadata: true,
  agent: true, canSubscribeMetrics: true, canManageAgentSession: true,
});
const frameEncodingWellKnown = () => ({ value: { case: 'wellKnown', value: P.DataTrackFrameEncoding_WellKnownFrameEncoding.CBOR } });
const frameEncodingCustom = () => ({ value: { case: 'custom', value: str('my-frame-encoding') } });
const schemaEncodingWellKnown = () => ({ value: { case: 'wellKnown', value: P.DataTrackSchemaEncoding_WellKnownSchemaEncoding.ROS2_IDL } });
const schemaEncodingCustom = () => ({ value: { case: 'custom', value: str('my-schema-encoding') } });
const schemaId = (encoding) => ({ name: str('schema'), encoding });
const dataTrackInfo = () => ({
  pubHandle: num(), sid: str('DTR'), name: str('track'), encryption: P.Encryption_Type.GCM,
  frameEncoding: frameEncodingWellKnown(), schema: schemaId(schemaEncodingCustom()),
});
const dataTrackInfoCustom = () => ({
  pubHandle: num(), sid: str('DTR'), name: str('track'), encryption: P.Encryption_Type.CUSTOM,
  frameEncoding: frameEncodingCustom(), schema: schemaId(schemaEncodingWellKnown()),
});
const participantInfo = () => ({
  sid: str('PA'), identity: str('identity'), state: P.ParticipantInfo_State.ACTIVE, metadata: str('meta'),
  joinedAt: big(), name: str('name'), version: num(), permission: participantPermission(), region: str('region'),
  isPublisher: true, kind: P.ParticipantInfo_Kind.AGENT, attributes: { [str('k')]: str('v'), [str('k')]: str('v') },
  disconnectReason: P.DisconnectReason.SIGNAL_CLOSE, joinedAtMs: big(),
  kindDetails: [P.ParticipantInfo_KindDetail.FORWARDED, P.ParticipantInfo_KindDetail.BRIDGE_RTSP],
  dataTracks: [dataTrackInfo(), dataTrackInfoCustom()], clientProtocol: num(),
  capabilities: [P.ClientInfo_Capability.CAP_COMPRESSION_DEFLATE_RAW],
});
const iceServer = () => ({ urls: [str('turn:a'), str('stun:b')], username: str('user'), credential: str('secret') });
const sessionDescription = (type) => ({
  type, sdp: `v=0\r\no=- ${num()} 2 IN IP4 127.0.0.1\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n`,
  id: num(), midToTrackId: { [str('mid')]: str('TR'), [str('mid')]: str('TR') },
});
const trickleRequest = () => ({
  candidateInit: JSON.stringify({ candidate: `candidate:${num()} 1 udp 2122260223 10.99.0.1 5000 typ host`, sdpMid: '0' }),
  target: P.SignalTarget.SUBSCRIBER, final: true,
});
const participantTracks = () => ({ participantSid: str('PA'), trackSids: [str('TR'), str('TR')] });
const updateSubscription = () => ({ trackSids: [str('TR'), str('TR')], subscribe: true, participantTracks: [participantTracks()] });
const regionInfo = () => ({ region: str('region'), url: str('https://region'), distance: big() });
const regionSettings = () => ({ regions: [regionInfo(), regionInfo()] });
const leaveRequest = () => ({
  canReconnect: true, reason: P.DisconnectReason.DUPLICATE_IDENTITY, action: P.LeaveRequest_Action.RECONNECT, regions: regionSettings(),
});
const mediaSections = () => ({ numAudios: num(), numVideos: num() });
const ping = () => ({ timestamp: big(), rtt: big() });
const pong = () => ({ lastPingTimestamp: big(), timestamp: big() });
const publishDataTrackRequest = () => ({
  pubHandle: num(), name: str('track'), encryption: P.Encryption_Type.GCM,
  frameEncoding: frameEncodingCustom(), schema: schemaId(schemaEncodingWellKnown()),
});
const unpublishDataTrackRequest = () => ({ pubHandle: num() });
const dataTrackResponse = () => ({ info: dataTrackInfo() });
const subscriptionOptions = () => ({ targetFps: num() });
const dataSubscriptionUpdate = () => ({ trackSid: str('DTR'), subscribe: true, options: subscriptionOptions() });
const updateDataSubscription = () => ({ updates: [dataSubscriptionUpdate(), dataSubscriptionUpdate()] });
const publishedDataTrack = () => ({ publisherIdentity: str('publisher'), publisherSid: str('PA'), trackSid: str('DTR') });
const subscriberHandles = () => ({ subHandles: { [num()]: publishedDataTrack(), [num()]: publishedDataTrack() } });
const dataChannelInfo = () => ({ label: str('_data_track'), id: num(), target: P.SignalTarget.SUBSCRIBER });
const receiveState = () => ({ publisherSid: str('PA'), lastSeq: num() });
const syncState = () => ({
  answer: sessionDescription('answer'), subscription: updateSubscription(), dataChannels: [dataChannelInfo(), dataChannelInfo()],
  offer: sessionDescription('offer'), trackSidsDisabled: [str('TR'), str('TR')], datachannelReceiveStates: [receiveState()],
  publishDataTracks: [dataTrackResponse(), dataTrackResponse()], dataSubscription: updateDataSubscription(),
});
const connectionSettings = () => ({
  autoSubscribe: true, adaptiveStream: true, subscriberAllowPause: true, disableIceLite: true, autoSubscribeDataTrack: true,
});
const joinRequest = () => ({
  clientInfo: clientInfo(), connectionSettings: connectionSettings(), metadata: str('join-meta'),
  participantAttributes: { [str('attr')]: str('value'), '': str('empty-key') }, publisherOffer: sessionDescription('offer'),
  reconnect: true, reconnectReason: P.ReconnectReason.RR_SWITCH_CANDIDATE, participantSid: str('PA'), syncState: syncState(),
});
const joinResponse = () => ({
  room: room(), participant: participantInfo(), otherParticipants: [participantInfo(), participantInfo()],
  serverVersion: str('1.13.5'), iceServers: [iceServer(), iceServer()], subscriberPrimary: true, alternativeUrl: str('wss://alt'),
  clientConfiguration: clientConfiguration(), serverRegion: str('region'), pingTimeout: num(), pingInterval: num(),
  serverInfo: serverInfo(), fastPublish: true,
});
const reconnectResponse = () => ({
  iceServers: [iceServer()], clientConfiguration: clientConfiguration(), serverInfo: serverInfo(), lastMessageSeq: num(),
});
const requestResponse = (request) => ({
  requestId: num(), reason: P.RequestResponse_Reason.DUPLICATE_NAME, message: str('reason text'), request,
});
const roomMoved = () => ({ room: room(), token: str('jwt'), participant: participantInfo(), otherParticipants: [participantInfo()] });
const permissionUpdate = () => ({ participantSid: str('PA'), trackSid: str('DTR'), allowed: true });

// [label, official type, partial message]
const samples = [];
const add = (label, type, init) => samples.push({ label, type, message: new type(init) });

add('room', P.Room, room());
add('server_info', P.ServerInfo, serverInfo());
add('client_info', P.ClientInfo, clientInfo());
add('client_configuration', P.ClientConfiguration, clientConfiguration());
add('participant_permission', P.ParticipantPermission, participantPermission());
add('participant_info', P.ParticipantInfo, participantInfo());
add('encryption (no fields)', P.Encryption, {});
add('frame_encoding well_known', P.DataTrackFrameEncoding, frameEncodingWellKnown());
add('frame_encoding custom', P.DataTrackFrameEncoding, frameEncodingCustom());
add('schema_encoding well_known', P.DataTrackSchemaEncoding, schemaEncodingWellKnown());
add('schema_encoding custom', P.DataTrackSchemaEncoding, schemaEncodingCustom());
add('schema_id', P.DataTrackSchemaId, schemaId(schemaEncodingCustom()));
add('data_track_info', P.DataTrackInfo, dataTrackInfo());
add('data_track_subscription_options', P.DataTrackSubscriptionOptions, subscriptionOptions());

add('wrapped_join_request', P.WrappedJoinRequest, {
  compression: P.WrappedJoinRequest_Compression.GZIP, joinRequest: Uint8Array.from({ length: 256 }, (_, i) => 255 - i),
});
add('join_request', P.JoinRequest, joinRequest());
add('connection_settings', P.ConnectionSettings, connectionSettings());
add('ice_server', P.ICEServer, iceServer());
add('join_response', P.JoinResponse, joinResponse());
add('reconnect_response', P.ReconnectResponse, reconnectResponse());
add('session_description', P.SessionDescription, sessionDescription('pranswer'));
add('trickle_request', P.TrickleRequest, trickleRequest());
add('participant_update', P.ParticipantUpdate, { participants: [participantInfo(), participantInfo()] });
add('room_update', P.RoomUpdate, { room: room() });
add('room_moved_response', P.RoomMovedResponse, roomMoved());
add('subscription_permission_update', P.SubscriptionPermissionUpdate, permissionUpdate());
add('update_subscription', P.UpdateSubscription, updateSubscription());
add('participant_tracks', P.ParticipantTracks, participantTracks());
add('leave_request', P.LeaveRequest, leaveRequest());
add('region_settings', P.RegionSettings, regionSettings());
add('region_info', P.RegionInfo, regionInfo());
add('media_sections_requirement', P.MediaSectionsRequirement, mediaSections());
add('ping', P.Ping, ping());
add('pong', P.Pong, pong());
add('request_response trickle', P.RequestResponse, requestResponse({ case: 'trickle', value: trickleRequest() }));
add('request_response publish', P.RequestResponse, requestResponse({ case: 'publishDataTrack', value: publishDataTrackRequest() }));
add('request_response unpublish', P.RequestResponse, requestResponse({ case: 'unpublishDataTrack', value: unpublishDataTrackRequest() }));
add('data_channel_info', P.DataChannelInfo, dataChannelInfo());
add('data_channel_receive_state', P.DataChannelReceiveState, receiveState());
add('sync_state', P.SyncState, syncState());
add('publish_data_track_request', P.PublishDataTrackRequest, publishDataTrackRequest());
add('publish_data_track_response', P.PublishDataTrackResponse, dataTrackResponse());
add('unpublish_data_track_request', P.UnpublishDataTrackRequest, unpublishDataTrackRequest());
add('unpublish_data_track_response', P.UnpublishDataTrackResponse, dataTrackResponse());
add('update_data_subscription', P.UpdateDataSubscription, updateDataSubscription());
add('update_data_subscription.update', P.UpdateDataSubscription_Update, dataSubscriptionUpdate());
add('data_track_subscriber_handles', P.DataTrackSubscriberHandles, subscriberHandles());
add('published_data_track', P.DataTrackSubscriberHandles_PublishedDataTrack, publishedDataTrack());

// Every oneof member of the two signalling envelopes.
const requestMembers = {
  offer: () => sessionDescription('offer'), answer: () => sessionDescription('answer'), trickle: trickleRequest,
  subscription: updateSubscription, leave: leaveRequest, syncState, ping: big, pingReq: ping,
  publishDataTrackRequest, unpublishDataTrackRequest, updateDataSubscription,
};
for (const [member, value] of Object.entries(requestMembers))
  add(`signal_request ${member}`, P.SignalRequest, { message: { case: member, value: value() } });
const responseMembers = {
  join: joinResponse, answer: () => sessionDescription('answer'), offer: () => sessionDescription('offer'),
  trickle: trickleRequest, update: () => ({ participants: [participantInfo()] }), leave: leaveRequest,
  roomUpdate: () => ({ room: room() }), subscriptionPermissionUpdate: permissionUpdate, refreshToken: () => str('jwt'),
  pong: big, reconnect: reconnectResponse, pongResp: pong,
  requestResponse: () => requestResponse({ case: 'publishDataTrack', value: publishDataTrackRequest() }),
  roomMoved, mediaSectionsRequirement: mediaSections, publishDataTrackResponse: dataTrackResponse, unpublishDataTrackResponse: dataTrackResponse,
  dataTrackSubscriberHandles: subscriberHandles,
};
for (const [member, value] of Object.entries(responseMembers))
  add(`signal_response ${member}`, P.SignalResponse, { message: { case: member, value: value() } });

// Edge cases: presence of zero values, extremes of each integer kind.
add('edge: optional bools set to false', P.ConnectionSettings, { subscriberAllowPause: false, autoSubscribeDataTrack: false });
add('edge: oneof enum member set to 0', P.DataTrackFrameEncoding, { value: { case: 'wellKnown', value: 0 } });
add('edge: oneof string member set to ""', P.DataTrackSchemaEncoding, { value: { case: 'custom', value: '' } });
add('edge: optional messages present but empty', P.DataTrackInfo, { pubHandle: 65535, frameEncoding: {}, schema: {} });
add('edge: optional uint32 set to 0', P.DataTrackSubscriptionOptions, { targetFps: 0 });
add('edge: oneof int64 member set to 0', P.SignalRequest, { message: { case: 'ping', value: 0n } });
add('edge: int64 extremes', P.Ping, { timestamp: 9223372036854775807n, rtt: -9223372036854775808n });
add('edge: int32 extremes', P.ClientInfo, { protocol: -2147483648, clientProtocol: 2147483647 });
add('edge: uint32 max', P.SessionDescription, { id: 4294967295 });
add('edge: uint32 map keys 0 and max', P.DataTrackSubscriberHandles, {
  subHandles: { 0: publishedDataTrack(), 4294967295: publishedDataTrack() },
});
add('edge: unknown enum number', P.TrickleRequest, { target: 7 });
add('edge: non-ASCII strings', P.DataTrackInfo, { name: 'Sensor \u00e9\u540d\u524d \u{1F680}', sid: 'DTR_\u0000nul' });

// Extremes for every message type: each of our scalar fields at the edge of
// its type (a signedness or width mismatch shows), enums at their highest
// value, sub-messages present but empty, the first member of each oneof.
const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;
const extremeScalar = {
  1: -1.5e300, 2: 3.5, 3: INT64_MIN, 4: UINT64_MAX, 5: -2147483648, 6: UINT64_MAX, 7: 4294967295, 8: true,
  9: 'extreme \u{10FFFF}', 12: Uint8Array.of(0, 255, 128), 13: 4294967295, 15: -2147483648, 16: INT64_MIN,
  17: -2147483648, 18: INT64_MIN,
};
const extremeOf = (kind, T) =>
  kind === 'scalar' ? extremeScalar[T] : kind === 'enum' ? Math.max(...T.values.map((v) => v.no)) : new T();
for (const [name, ours] of ourMessages) {
  const official = officialMessages.get(name);
  if (isMapEntry(ours) || !official) continue;
  const init = {};
  for (const field of ours.field ?? []) {
    const f = official.fields.find(field.number);
    if (!f) continue;
    if (f.kind === 'map') {
      init[f.localName] = { [String(extremeScalar[f.K])]: extremeOf(f.V.kind, f.V.T) };
    } else if (f.oneof) {
      init[f.oneof.localName] ??= { case: f.localName, value: extremeOf(f.kind, f.T) };
    } else {
      const value = extremeOf(f.kind, f.T);
      init[f.localName] = f.repeated ? [value, f.kind === 'message' ? new f.T() : value] : value;
    }
  }
  add(`extremes: ${name}`, official, init);
}

// Every message type we define needs a sample of its own.
const sampledTypes = new Set(samples.map((s) => s.type.typeName));
for (const [name, ours] of ourMessages)
  if (!isMapEntry(ours) && !sampledTypes.has(name)) fail(`samples: no sample for ${name}`);

// ---------------------------------------------------------------- 2 + 3. round trip

const hex = (bytes) => Buffer.from(bytes).toString('hex');
const input = samples.map((s) => `${s.type.typeName}\t${s.label}\t${hex(s.message.toBinary())}\t${s.message.toJsonString()}\n`).join('');
let output;
let checkerStatus = 0;
try {
  output = execFileSync(checker, ['check'], { input, encoding: 'utf8', maxBuffer: 64 << 20 });
} catch (e) {
  if (e.stdout === undefined) throw e;
  output = e.stdout; // the FAIL lines say why
  checkerStatus = e.status ?? e.signal;
}

// Paths where two JSON values differ, for a message that names the field.
function jsonDiff(a, b, path = '') {
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null)
    return a === b ? [] : [`${path || '(root)'}: ${JSON.stringify(a)} != ${JSON.stringify(b)}`];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].flatMap((k) => jsonDiff(a[k], b[k], `${path}.${k}`));
}

const byLabel = new Map(samples.map((s) => [s.label, s]));
const answered = new Set();
for (const line of output.split('\n').filter(Boolean)) {
  const [status, label, detail] = line.split('\t');
  if (status === 'FAIL') {
    fail(`C++ [${label}]: ${detail}`);
    continue;
  }
  const sample = byLabel.get(label);
  if (status !== 'OK' || !sample) {
    fail(`unexpected checker output: ${line}`);
    continue;
  }
  answered.add(label);
  const back = sample.type.fromBinary(Buffer.from(detail, 'hex'));
  if (!sample.type.equals(sample.message, back)) {
    const diff = jsonDiff(sample.message.toJson(), back.toJson());
    fail(`official decode of our bytes [${label}] ${sample.type.typeName}: ${diff.join('; ') || 'differs'}`);
  }
}
for (const s of samples) if (!answered.has(s.label) && !failures.some((f) => f.includes(`[${s.label}]`))) fail(`no answer for [${s.label}]`);

if (checkerStatus !== 0 && failures.length === 0) fail(`proto_wire_check ended with ${checkerStatus} but reported no failure`);

// ---------------------------------------------------------------- verdict

const ourTypeCount = [...ourMessages.values()].filter((m) => !isMapEntry(m)).length;
if (failures.length) {
  for (const f of failures) console.error(`FAIL ${f}`);
  console.error(`wire-compat: ${failures.length} failure(s)`);
  process.exit(1);
}
console.log(`wire-compat: ${ourTypeCount} message types, ${ourEnums.size} enums, ${fieldsChecked} fields match the official schema; ` +
  `${samples.length} official samples decode identically with ours and ours re-encode to the same official messages`);
