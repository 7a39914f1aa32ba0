// The livekitdata plugin: registers the two elements and routes lib/'s logs
// into GStreamer's debug system.
#include <gst/gst.h>

#include "element_common.h"
#include "livekit_data_sink.h"
#include "livekit_data_src.h"


static gboolean plugin_init(GstPlugin* plugin) {
  lkgst::bridge_library_logs();
  gboolean ok = GST_ELEMENT_REGISTER(livekitdatasink, plugin);
  ok |= GST_ELEMENT_REGISTER(livekitdatasrc, plugin);
  return ok;
}

#define PACKAGE "gst-livekit-data"

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, livekitdata,
                  "Arbitrary binary data through LiveKit data tracks", plugin_init, LKGST_VERSION, "LGPL",
                  "gst-livekit-data", "Unknown package origin")
