// The checks livekit-server runs on a PublishDataTrackRequest, in its order, with its
// reasons and messages. Pure: returns null when the request may be published.
import { RequestResponse_Reason as Reason } from '@livekit/protocol';

const MAX_NAME_BYTES = 256;
const MAX_CUSTOM_ENCODING = 32; // server default limit for custom encoding identifiers

function customIdentifierOk(oneof) {
  if (oneof?.case !== 'custom') return true;
  const bytes = Buffer.byteLength(oneof.value, 'utf8');
  return bytes !== 0 && bytes <= MAX_CUSTOM_ENCODING;
}

// req: PublishDataTrackRequest; canPublishData: grant && server support;
// published: iterable of {pubHandle, name} already published by this participant.
export function validatePublish(req, canPublishData, published) {
  if (!canPublishData) {
    return { reason: Reason.NOT_ALLOWED, message: 'does not have permission to publish data' };
  }
  if (req.pubHandle === 0 || req.pubHandle > 65535) {
    return { reason: Reason.INVALID_HANDLE, message: 'handle should be > 0 AND < 65536' };
  }
  const nameBytes = Buffer.byteLength(req.name, 'utf8');
  if (nameBytes === 0 || nameBytes > MAX_NAME_BYTES) {
    return { reason: Reason.INVALID_NAME, message: 'name should not be empty and should not exceed 256 characters' };
  }
  if (!customIdentifierOk(req.frameEncoding?.value) || !customIdentifierOk(req.schema?.encoding?.value)) {
    return { reason: Reason.INVALID_REQUEST, message: 'encoding identifier is empty or exceeds the maximum length' };
  }
  for (const track of published) {
    if (track.pubHandle === req.pubHandle) {
      return { reason: Reason.DUPLICATE_HANDLE, message: 'a data track with same handle already exists' };
    }
    if (track.name === req.name) {
      return { reason: Reason.DUPLICATE_NAME, message: 'a data track with same name already exists' };
    }
  }
  return null;
}
