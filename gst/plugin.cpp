// The livekitdata plugin: registers the two elements and the type of the
// "livekit.room" context's object, and routes lib/'s logs into GStreamer's
// debug system.
#include <gst/gst.h>

#include "element_common.h"
#include "livekit_data_sink.h"
#include "livekit_data_src.h"
#include "livekit_room.h"


static gboolean plugin_init(GstPlugin* plugin) {
  lkgst::bridge_library_logs();
  gst_type_mark_as_plugin_api(GST_TYPE_LIVEKIT_ROOM, GstPluginAPIFlags(0));
  gboolean ok = GST_ELEMENT_REGISTER(livekitdatasink, plugin);
  ok |= GST_ELEMENT_REGISTER(livekitdatasrc, plugin);
  return ok;
}

#define PACKAGE "gst-livekit-data"

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, livekitdata,
                  "Arbitrary binary data through LiveKit data tracks", plugin_init, LKGST_VERSION, "LGPL",
                  "gst-livekit-data", "Unknown package origin")
