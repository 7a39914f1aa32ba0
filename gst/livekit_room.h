// GstLiveKitRoom: one room connection (one participant) as a GObject, so an
// application can hand it between pipelines in a GstContext of type
// "livekit.room" (field "room"). Read-only properties say which connection it
// is: url (without its query), room, identity, participant-sid.
//
// The object holds a reference to the connection: the participant stays in
// the room while anyone holds the object (a context, an element using it).
#pragma once

#include <gst/gst.h>

#include <memory>
#include <string>

#include "room/room_connection.h"

G_BEGIN_DECLS

#define GST_TYPE_LIVEKIT_ROOM (gst_livekit_room_get_type())
G_DECLARE_FINAL_TYPE(GstLiveKitRoom, gst_livekit_room, GST, LIVEKIT_ROOM, GObject)

G_END_DECLS

namespace lkgst {

inline constexpr const char* kRoomContextType = "livekit.room";
inline constexpr const char* kRoomContextField = "room";

// A "livekit.room" context carrying `connection`, joined at `url`. Not
// persistent: bins keep the contexts their children post, and a persistent
// one would keep the participant in the room after its pipeline went to NULL.
GstContext* room_context_new(std::shared_ptr<lk::room::RoomConnection> connection, const std::string& url);

// What a "livekit.room" context carries; connection is null when the context
// is of another type or has no GstLiveKitRoom in its "room" field.
struct ContextRoom {
  std::shared_ptr<lk::room::RoomConnection> connection;
  std::string url, room, identity;
};
ContextRoom room_from_context(const GstContext* context);

}  // namespace lkgst
