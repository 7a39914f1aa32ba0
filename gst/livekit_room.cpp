#include "livekit_room.h"

namespace {

enum { PROP_URL = 1, PROP_ROOM, PROP_IDENTITY, PROP_PARTICIPANT_SID };

struct Room {
  std::shared_ptr<lk::room::RoomConnection> connection;
  std::string url;  // as joined, without its query (it may hold a token)
};

}  // namespace

struct _GstLiveKitRoom {
  GObject parent;
  Room* room;
};

G_DEFINE_TYPE(GstLiveKitRoom, gst_livekit_room, G_TYPE_OBJECT)

static void lkroom_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  const Room& r = *GST_LIVEKIT_ROOM(object)->room;
  switch (prop_id) {
    case PROP_URL: g_value_set_string(value, r.url.c_str()); break;
    case PROP_ROOM: g_value_set_string(value, r.connection->room().c_str()); break;
    case PROP_IDENTITY: g_value_set_string(value, r.connection->identity().c_str()); break;
    case PROP_PARTICIPANT_SID: g_value_set_string(value, r.connection->participant_sid().c_str()); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
  }
}

static void lkroom_finalize(GObject* object) {
  delete GST_LIVEKIT_ROOM(object)->room;
  G_OBJECT_CLASS(gst_livekit_room_parent_class)->finalize(object);
}

static void gst_livekit_room_class_init(GstLiveKitRoomClass* klass) {
  auto* gobject_class = G_OBJECT_CLASS(klass);
  gobject_class->get_property = lkroom_get_property;
  gobject_class->finalize = lkroom_finalize;
  const auto ro = GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_property(
      gobject_class, PROP_URL, g_param_spec_string("url", "URL", "The server URL joined (without its query)", nullptr, ro));
  g_object_class_install_property(gobject_class, PROP_ROOM,
                                  g_param_spec_string("room", "Room", "The room's name", nullptr, ro));
  g_object_class_install_property(gobject_class, PROP_IDENTITY,
                                  g_param_spec_string("identity", "Identity", "The participant's identity", nullptr, ro));
  g_object_class_install_property(
      gobject_class, PROP_PARTICIPANT_SID,
      g_param_spec_string("participant-sid", "Participant SID",
                          "The participant's sid (PA_...; a new one after each full reconnect)", nullptr, ro));
}

static void gst_livekit_room_init(GstLiveKitRoom* self) { self->room = new Room(); }

namespace lkgst {

GstContext* room_context_new(std::shared_ptr<lk::room::RoomConnection> connection, const std::string& url) {
  auto* object = GST_LIVEKIT_ROOM(g_object_new(GST_TYPE_LIVEKIT_ROOM, nullptr));
  object->room->connection = std::move(connection);
  object->room->url = url.substr(0, url.find('?'));
  GstContext* context = gst_context_new(kRoomContextType, FALSE);
  gst_structure_set(gst_context_writable_structure(context), kRoomContextField, GST_TYPE_LIVEKIT_ROOM, object,
                    nullptr);
  g_object_unref(object);
  return context;
}

ContextRoom room_from_context(const GstContext* context) {
  ContextRoom out;
  if (!context || !gst_context_has_context_type(context, kRoomContextType)) return out;
  const GValue* value = gst_structure_get_value(gst_context_get_structure(context), kRoomContextField);
  if (!value || !G_VALUE_HOLDS(value, GST_TYPE_LIVEKIT_ROOM) || !g_value_get_object(value)) return out;
  const Room& r = *GST_LIVEKIT_ROOM(g_value_get_object(value))->room;
  out.connection = r.connection;
  out.url = r.url;
  out.room = r.connection->room();
  out.identity = r.connection->identity();
  return out;
}

}  // namespace lkgst
