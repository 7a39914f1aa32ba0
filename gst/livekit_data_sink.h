// livekitdatasink: publishes a LiveKit data track; every buffer becomes one frame.
#pragma once

#include <gst/base/gstbasesink.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_LIVEKIT_DATA_SINK (gst_livekit_data_sink_get_type())
G_DECLARE_FINAL_TYPE(GstLiveKitDataSink, gst_livekit_data_sink, GST, LIVEKIT_DATA_SINK, GstBaseSink)
GST_ELEMENT_REGISTER_DECLARE(livekitdatasink);

G_END_DECLS
