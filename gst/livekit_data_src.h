// livekitdatasrc: subscribes to a remote participant's LiveKit data track;
// every frame becomes one buffer, live.
#pragma once

#include <gst/base/gstpushsrc.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_LIVEKIT_DATA_SRC (gst_livekit_data_src_get_type())
G_DECLARE_FINAL_TYPE(GstLiveKitDataSrc, gst_livekit_data_src, GST, LIVEKIT_DATA_SRC, GstPushSrc)
GST_ELEMENT_REGISTER_DECLARE(livekitdatasrc);

G_END_DECLS
