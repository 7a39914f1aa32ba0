// Entry point esbuild bundles for the interop test: the official livekit-client
// data-track codec, packetizer and depacketizer, straight from its sources.
export { default as DataTrackPacketizer } from '../node_modules/livekit-client/src/room/data-track/packetizer';
export { default as DataTrackDepacketizer } from '../node_modules/livekit-client/src/room/data-track/depacketizer';
export { DataTrackPacket } from '../node_modules/livekit-client/src/room/data-track/packet';
export {
  DataTrackExtensions,
  DataTrackUserTimestampExtension,
  DataTrackE2eeExtension,
} from '../node_modules/livekit-client/src/room/data-track/packet/extensions';
export { DataTrackTimestamp } from '../node_modules/livekit-client/src/room/data-track/utils';
export { setLogLevel } from '../node_modules/livekit-client/src/logger';
