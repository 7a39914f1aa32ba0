// A data-only WebRTC peer connection: ICE (libnice) -> DTLS 1.2 (OpenSSL) ->
// SCTP (usrsctp) -> data channels (DCEP). Built bottom-up once ICE connects,
// closed top-down.
//
// Threads: construct, call every method and destroy on the thread that runs
// Configuration::context. All callbacks are dispatched on that context.
// DataChannel::send may be called from any thread.
#pragma once

#include <glib.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rtc/data_channel.h"
#include "rtc/sctp_transport.h"
#include "util/result.h"

namespace lk::rtc {

struct IceServer {
  // stun:host[:port], turn:host[:port][?transport=udp|tcp]. turns:host[:port]
  // is skipped with on_ice_server_error: TURN over TLS is not supported yet.
  std::vector<std::string> urls;
  std::string username, credential;
};

struct Configuration {
  // Host names are looked up in the background; gathering waits for them (at
  // most 3 s), so an offer made meanwhile has no candidates inline: they
  // trickle through on_local_candidate.
  std::vector<IceServer> ice_servers;
  bool ice_tcp = true;                 // gather ICE-TCP candidates (active: we connect out)
  // Also gather a passive ICE-TCP candidate, a listening socket to which
  // anyone may connect: libnice keeps every such connection, authenticated or
  // not. A client needs active ones only (livekit-server is passive).
  bool ice_tcp_passive = false;
  bool relay_only = false;             // announce only relay candidates
  // What we advertise in a=max-message-size, and the most we accept: a peer
  // that sends a bigger message fails the connection (we never hold more).
  size_t max_message_size = 262144;
  // Largest message we send, whatever the peer advertises (the smaller of the
  // two applies). livekit-server v1.13.5 advertises 1 GiB but reads each
  // message into a 65,535-byte buffer and closes the channel on a bigger one
  // (docs/transport-notes.md): a LiveKit connection sets 65535 here.
  size_t max_send_message_size = SIZE_MAX;
  // Most bytes one channel queues while SCTP is full (its buffered_amount):
  // beyond it send() fails instead of growing without bound. Wait for
  // on_buffered_amount_low instead (lib/room keeps it under 1 MiB).
  size_t max_buffered_amount = 16 * 1024 * 1024;
  // Largest SCTP packet we send. 1200 fits any path (RFC 8261, no PMTU
  // discovery); raise it (up to 16384, one DTLS record) only where the path
  // is known to carry it, e.g. loopback, for far fewer packets per byte.
  unsigned sctp_mtu = 1200;
  GMainContext* context = nullptr;     // owner's context; nullptr = thread-default
  // Liveness: no packet from the peer for this long while connected ->
  // Disconnected; for failed_timeout_ms -> Failed. SCTP heartbeats keep an
  // idle but healthy connection above both.
  unsigned disconnected_timeout_ms = 4000;
  unsigned failed_timeout_ms = 12000;
  // From Connecting to Connected (ICE, DTLS handshake, SCTP association) at
  // most this long, else Failed: a peer that answers ICE but never finishes
  // DTLS would otherwise hold us in Connecting for ever. livekit-client
  // gives its peer connection 15 s.
  unsigned connect_timeout_ms = 15000;
};

// Connecting: ICE checks / DTLS handshake / SCTP association in progress.
// Connected: SCTP association up, channels usable.
// Disconnected: peer silent past disconnected_timeout_ms (may recover).
// Failed: ICE failed, DTLS failed (e.g. fingerprint mismatch), not connected
//         within connect_timeout_ms, or silent past failed_timeout_ms. Closed: close() called, or the peer closed
//         cleanly (DTLS close_notify or SCTP shutdown/abort).
//         Once connected, a Failed for silence (the path lost) keeps DTLS, SCTP
//         and the channels (sends queue, as while Disconnected): restart_ice()
//         and a new offer/answer bring the same association back (Connecting,
//         then Connected), as in a browser. Any other Failed is final.
enum class PeerState { New, Connecting, Connected, Disconnected, Failed, Closed };
const char* to_string(PeerState state);

class PeerConnection {
 public:
  // Fails when an ICE server URL is malformed, or the certificate or the ICE
  // agent cannot be made. Server host names are looked up afterwards, without
  // blocking the context: see on_ice_server_error.
  static lk::Result<std::unique_ptr<PeerConnection>> create(Configuration config);
  ~PeerConnection();  // closes without calling back; do not destroy inside a callback
  PeerConnection(const PeerConnection&) = delete;
  PeerConnection& operator=(const PeerConnection&) = delete;

  // May be called before or after connecting. In-band channels get their id
  // (even for the DTLS client, odd for the server) once the role is known.
  lk::Result<std::shared_ptr<DataChannel>> create_data_channel(std::string label,
                                                               DataChannelInit init = {});

  // Each sets the result as local description and returns the SDP text. The
  // offerer is ICE-controlling (also whenever the remote is ICE-lite).
  lk::Result<std::string> create_offer();
  lk::Result<std::string> create_answer();  // after set_remote_description("offer")
  // type: "offer" or "answer". Audio/video sections are accepted in an offer
  // and rejected (port 0) in our answer.
  lk::Result<void> set_remote_description(std::string_view type, std::string_view sdp);
  // candidate: "candidate:..." (an "a=" prefix is accepted). mid may be "".
  lk::Result<void> add_remote_candidate(std::string_view candidate, std::string_view mid);
  void add_remote_end_of_candidates();
  // The next create_offer carries new ICE credentials (and our candidates
  // inline); also the way back from a Failed that lost only the path.
  void restart_ice();
  // Sends DTLS close_notify and drops the SCTP association at once: messages
  // still queued or in flight are dropped. To deliver everything first, close
  // the channels (DataChannel::close sends its queue before the stream reset)
  // and wait for their on_close. Fires on_state_change(Closed).
  void close();

  PeerState state() const;
  // The DTLS session and SCTP association are up, whatever ICE does now
  // (Connected, Disconnected, or Failed with only the path lost): what an
  // ICE restart can carry on.
  bool association_up() const;
  // "sha-256 AB:CD:..." of our certificate (what goes into a=fingerprint).
  std::string local_fingerprint() const;
  // SCTP DATA chunks not yet acknowledged by the peer (0 when not connected):
  // wait for 0 before closing to deliver what send() already took.
  size_t sctp_outstanding_chunks() const;

  // What each layer has done so far, bottom up: when data stops, the first
  // counter that stops moving (on this side or the peer's) names the layer
  // that stalled. bench/rtc prints it for a row that times out.
  struct TransportStatus {
    const char* ice = "none";  // each layer's state; "none" before it exists
    const char* dtls = "none";
    const char* sctp = "none";
    uint64_t datagrams_in = 0, datagrams_out = 0, datagrams_failed = 0;  // ICE (STUN excluded)
    int64_t ms_since_receive = -1;                                       // -1: nothing yet
    uint64_t sctp_packets_in = 0, sctp_bytes_in = 0, sctp_packets_out = 0, sctp_bytes_out = 0;  // DTLS records
    uint64_t dtls_write_failures = 0;
    SctpTransport::Status association;  // zeros before SCTP exists
  };
  TransportStatus transport_status() const;

  // A local candidate as "candidate:..." with its mid; ("", mid) = end of candidates.
  std::function<void(const std::string& candidate, const std::string& mid)> on_local_candidate;
  std::function<void(PeerState)> on_state_change;
  std::function<void(std::shared_ptr<DataChannel>)> on_data_channel;  // opened by the remote (DCEP)
  std::function<void(const lk::Error&)> on_error;  // e.g. "DTLS fingerprint mismatch ..."
  // An ICE server that cannot be used (its host did not resolve, or not
  // within 3 s): ICE goes on without it, so the connection may still work, or
  // fail for want of a relay. Like RTCPeerConnection's icecandidateerror.
  std::function<void(const lk::Error&)> on_ice_server_error;

 private:
  struct Impl;
  explicit PeerConnection(std::shared_ptr<Impl> impl);

  std::shared_ptr<Impl> impl_;
};

}  // namespace lk::rtc
