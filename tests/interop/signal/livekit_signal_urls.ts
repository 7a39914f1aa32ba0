// Entry point esbuild bundles for the interop test: livekit-client's own
// signalling URL builders and protocol versions, straight from its sources.
export { createRtcUrl, createValidateUrl } from '../node_modules/livekit-client/src/api/utils';
export { protocolVersion, clientProtocol } from '../node_modules/livekit-client/src/version';
