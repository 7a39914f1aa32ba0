// The README's "Sharing one connection" code, compiled and used by
// elements_test.cpp; readme_snippet.sh checks the README still shows it as it
// is below this comment.
#pragma once

#include <gst/gst.h>

/* Pipeline B's bus: hand the caught "livekit.room" context to any element asking for one. */
static GstBusSyncReply
give_room_context (GstBus * bus, GstMessage * message, gpointer user_data)
{
  GstContext *room = (GstContext *) user_data;
  const gchar *type = NULL;

  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_NEED_CONTEXT
      && gst_message_parse_context_type (message, &type)
      && g_strcmp0 (type, "livekit.room") == 0)
    gst_element_set_context (GST_ELEMENT (GST_MESSAGE_SRC (message)), room);
  return GST_BUS_PASS;
}

/* Pipeline A's bus, once A is playing: the context of the connection its element joined. */
static GstContext *
catch_room_context (GstElement * pipeline_a)
{
  GstBus *bus = gst_element_get_bus (pipeline_a);
  GstContext *room = NULL;
  GstMessage *message;

  while (!room && (message = gst_bus_timed_pop_filtered (bus, 30 * GST_SECOND,
              GST_MESSAGE_HAVE_CONTEXT))) {
    gst_message_parse_have_context (message, &room);
    gst_message_unref (message);
    if (!gst_context_has_context_type (room, "livekit.room"))
      g_clear_pointer (&room, gst_context_unref);
  }
  gst_object_unref (bus);
  return room;                  /* NULL: none within 30 s */
}

/* Then, before pipeline B starts:
 *   gst_bus_set_sync_handler (bus_b, give_room_context, room,
 *       (GDestroyNotify) gst_context_unref);
 * (or gst_element_set_context (pipeline_b, room) for all of B's elements). */
