#include "rtc/sdp.h"

#include <gst/sdp/gstsdpmessage.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <memory>
#include <sstream>

#undef G_LOG_DOMAIN
#define G_LOG_DOMAIN "livekit-rtc-sdp"

namespace lk::rtc::sdp {
namespace {

struct SdpFree {
  void operator()(GstSDPMessage* m) const { gst_sdp_message_free(m); }
};
using SdpPtr = std::unique_ptr<GstSDPMessage, SdpFree>;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}
std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

// Value of the first media-level attribute `key`, else the session-level one.
const char* attribute(const GstSDPMessage* msg, const GstSDPMedia* media, const char* key) {
  if (const char* v = gst_sdp_media_get_attribute_val(media, key)) return v;
  return gst_sdp_message_get_attribute_val(msg, key);
}

bool has_flag(const GstSDPMessage* msg, const GstSDPMedia* media, const char* key) {
  for (guint i = 0; i < gst_sdp_message_attributes_len(msg); ++i)
    if (g_strcmp0(gst_sdp_message_get_attribute(msg, i)->key, key) == 0) return true;
  if (media)
    for (guint i = 0; i < gst_sdp_media_attributes_len(media); ++i)
      if (g_strcmp0(gst_sdp_media_get_attribute(media, i)->key, key) == 0) return true;
  return false;
}

template <typename T>
bool parse_number(std::string_view s, T& out) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p != s.data();
}

bool is_data_section(const GstSDPMedia* m) {
  const char* kind = gst_sdp_media_get_media(m);
  const char* proto = gst_sdp_media_get_proto(m);
  return g_strcmp0(kind, "application") == 0 && proto && std::string_view(proto).find("SCTP") != std::string_view::npos;
}

std::vector<std::string> split(std::string_view s) {
  std::vector<std::string> out;
  std::istringstream in{std::string(s)};
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

void collect_candidates(const GstSDPMedia* m, std::vector<std::string>& out, bool& end) {
  for (guint i = 0; i < gst_sdp_media_attributes_len(m); ++i) {
    const GstSDPAttribute* a = gst_sdp_media_get_attribute(m, i);
    if (g_strcmp0(a->key, "candidate") == 0 && a->value) {
      std::string c = std::string("candidate:") + a->value;
      if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(std::move(c));
    } else if (g_strcmp0(a->key, "end-of-candidates") == 0) {
      end = true;
    }
  }
}

// Strength of a fingerprint hash we accept; 0 for one we refuse (sha-1,
// md5: collisions can be made) or do not know.
int fingerprint_strength(const std::string& algorithm) {
  if (algorithm == "sha-512") return 4;
  if (algorithm == "sha-384") return 3;
  if (algorithm == "sha-256") return 2;
  if (algorithm == "sha-224") return 1;
  return 0;
}

// Every a=fingerprint of the data section (else of the session) counts
// (RFC 8122 §5 allows several): the strongest we support wins.
lk::Result<Fingerprint> pick_fingerprint(const GstSDPMessage* msg, const GstSDPMedia* data) {
  std::vector<std::string> lines;
  for (guint i = 0; i < gst_sdp_media_attributes_len(data); ++i) {
    const GstSDPAttribute* a = gst_sdp_media_get_attribute(data, i);
    if (g_strcmp0(a->key, "fingerprint") == 0) lines.push_back(a->value ? a->value : "");
  }
  if (lines.empty())
    for (guint i = 0; i < gst_sdp_message_attributes_len(msg); ++i) {
      const GstSDPAttribute* a = gst_sdp_message_get_attribute(msg, i);
      if (g_strcmp0(a->key, "fingerprint") == 0) lines.push_back(a->value ? a->value : "");
    }
  if (lines.empty())
    return make_error(ErrorKind::InvalidArgument, "SDP lacks a=fingerprint (DTLS certificate fingerprint)");
  Fingerprint best;
  std::string refused;
  for (const auto& line : lines) {
    auto words = split(line);
    if (words.size() != 2 || words[1].size() < 2)
      return make_error(ErrorKind::InvalidArgument, "SDP a=fingerprint is malformed: " + line);
    Fingerprint f{lower(words[0]), upper(words[1])};
    if (fingerprint_strength(f.algorithm) == 0) refused += (refused.empty() ? "" : ", ") + f.algorithm;
    else if (fingerprint_strength(f.algorithm) > fingerprint_strength(best.algorithm)) best = std::move(f);
  }
  if (best.algorithm.empty())
    return make_error(ErrorKind::Unsupported, "SDP a=fingerprint uses only " + refused +
                                                  "; we need sha-256, sha-384, sha-512 or sha-224 (sha-1 is refused)");
  return best;
}

}  // namespace

const char* to_string(Setup setup) {
  switch (setup) {
    case Setup::ActPass: return "actpass";
    case Setup::Active: return "active";
    case Setup::Passive: return "passive";
  }
  return "actpass";
}

std::string format_fingerprint(std::span<const uint8_t> digest) {
  std::string out;
  out.reserve(digest.size() * 3);
  char hex[4];
  for (size_t i = 0; i < digest.size(); ++i) {
    std::snprintf(hex, sizeof hex, "%02X", digest[i]);
    if (i) out.push_back(':');
    out += hex;
  }
  return out;
}

lk::Result<Description> parse(std::string_view text) {
  if (text.empty()) return make_error(ErrorKind::InvalidArgument, "SDP is empty");
  if (text.substr(0, 2) != "v=")
    return make_error(ErrorKind::InvalidArgument, "SDP must start with 'v=' (got something else)");
  GstSDPMessage* raw = nullptr;
  gst_sdp_message_new(&raw);
  SdpPtr msg(raw);
  if (gst_sdp_message_parse_buffer(reinterpret_cast<const guint8*>(text.data()), text.size(), msg.get()) != GST_SDP_OK)
    return make_error(ErrorKind::InvalidArgument, "SDP could not be parsed");

  Description d;
  const guint n = gst_sdp_message_medias_len(msg.get());
  const GstSDPMedia* data = nullptr;
  for (guint i = 0; i < n; ++i) {
    const GstSDPMedia* m = gst_sdp_message_get_media(msg.get(), i);
    MediaSection s;
    s.kind = gst_sdp_media_get_media(m) ? gst_sdp_media_get_media(m) : "";
    s.port = static_cast<uint16_t>(gst_sdp_media_get_port(m));
    s.proto = gst_sdp_media_get_proto(m) ? gst_sdp_media_get_proto(m) : "";
    for (guint f = 0; f < gst_sdp_media_formats_len(m); ++f) s.formats.push_back(gst_sdp_media_get_format(m, f));
    if (const char* mid = gst_sdp_media_get_attribute_val(m, "mid")) s.mid = mid;
    if (s.kind.empty() || s.proto.empty())
      return make_error(ErrorKind::InvalidArgument, "SDP has an m= line without media kind or protocol");
    if (!data && is_data_section(m) && s.port != 0) {
      data = m;
      d.data_index = d.media.size();
    }
    d.media.push_back(std::move(s));
  }
  if (!data)
    return make_error(ErrorKind::InvalidArgument,
                      "SDP has no accepted data section (m=application ... UDP/DTLS/SCTP webrtc-datachannel)");
  d.mid = d.media[d.data_index].mid;

  for (guint i = 0; i < gst_sdp_message_attributes_len(msg.get()); ++i) {
    const GstSDPAttribute* a = gst_sdp_message_get_attribute(msg.get(), i);
    if (g_strcmp0(a->key, "group") != 0 || !a->value) continue;
    auto words = split(a->value);
    if (words.empty() || words[0] != "BUNDLE") continue;
    words.erase(words.begin());
    if (std::find(words.begin(), words.end(), d.mid) != words.end()) d.bundle = words;
  }

  const char* ufrag = attribute(msg.get(), data, "ice-ufrag");
  const char* pwd = attribute(msg.get(), data, "ice-pwd");
  if (!ufrag || !*ufrag || !pwd || !*pwd)
    return make_error(ErrorKind::InvalidArgument, "SDP lacks a=ice-ufrag/a=ice-pwd for the data section");
  d.ice_ufrag = ufrag;
  d.ice_pwd = pwd;
  d.ice_lite = has_flag(msg.get(), nullptr, "ice-lite");

  if (auto fp = pick_fingerprint(msg.get(), data); !fp) return fp.error();
  else d.fingerprint = std::move(*fp);

  const char* setup = attribute(msg.get(), data, "setup");
  std::string sv = setup ? lower(setup) : "actpass";
  if (sv == "actpass") d.setup = Setup::ActPass;
  else if (sv == "active") d.setup = Setup::Active;
  else if (sv == "passive") d.setup = Setup::Passive;
  else return make_error(ErrorKind::InvalidArgument, "SDP a=setup is not actpass/active/passive: " + sv);

  if (const char* port = gst_sdp_media_get_attribute_val(data, "sctp-port")) {
    if (!parse_number(port, d.sctp_port))
      return make_error(ErrorKind::InvalidArgument, std::string("SDP a=sctp-port is not a number: ") + port);
  } else if (const char* map = gst_sdp_media_get_attribute_val(data, "sctpmap")) {
    if (!parse_number(map, d.sctp_port))  // legacy "a=sctpmap:5000 webrtc-datachannel 1024"
      return make_error(ErrorKind::InvalidArgument, std::string("SDP a=sctpmap is malformed: ") + map);
  }
  if (const char* mms = gst_sdp_media_get_attribute_val(data, "max-message-size")) {
    uint64_t v = 0;
    if (!parse_number(mms, v))
      return make_error(ErrorKind::InvalidArgument, std::string("SDP a=max-message-size is not a number: ") + mms);
    d.max_message_size = v == 0 ? SIZE_MAX : static_cast<size_t>(v);  // 0: any size (RFC 8841)
  }

  // With BUNDLE every bundled section shares the data section's transport,
  // and libwebrtc lists candidates only in the first one.
  for (guint i = 0; i < n; ++i) {
    const GstSDPMedia* m = gst_sdp_message_get_media(msg.get(), i);
    const std::string& mid = d.media[i].mid;
    bool bundled = !mid.empty() && std::find(d.bundle.begin(), d.bundle.end(), mid) != d.bundle.end();
    if (m == data || bundled) collect_candidates(m, d.candidates, d.end_of_candidates);
  }
  return d;
}

namespace {

void write_session(std::ostringstream& o, const LocalParams& l, const std::string& bundle) {
  o << "v=0\r\n"
    << "o=- " << l.session_id << ' ' << l.session_version << " IN IP4 127.0.0.1\r\n"
    << "s=-\r\n"
    << "t=0 0\r\n"
    << "a=group:BUNDLE " << bundle << "\r\n"
    << "a=msid-semantic: WMS\r\n";
}

void write_data_section(std::ostringstream& o, const LocalParams& l, const std::string& proto, const std::string& mid) {
  o << "m=application 9 " << proto << " webrtc-datachannel\r\n"
    << "c=IN IP4 0.0.0.0\r\n"
    << "a=ice-ufrag:" << l.ice_ufrag << "\r\n"
    << "a=ice-pwd:" << l.ice_pwd << "\r\n"
    << "a=ice-options:trickle\r\n"
    << "a=fingerprint:" << l.fingerprint.algorithm << ' ' << l.fingerprint.value << "\r\n"
    << "a=setup:" << to_string(l.setup) << "\r\n"
    << "a=mid:" << mid << "\r\n"
    << "a=sctp-port:" << l.sctp_port << "\r\n"
    << "a=max-message-size:" << l.max_message_size << "\r\n";
  for (const auto& c : l.candidates) o << "a=" << c << "\r\n";
  if (l.end_of_candidates) o << "a=end-of-candidates\r\n";
}

}  // namespace

std::string build_offer(const LocalParams& local) {
  std::ostringstream o;
  write_session(o, local, local.mid);
  write_data_section(o, local, "UDP/DTLS/SCTP", local.mid);
  return o.str();
}

std::string build_answer(const LocalParams& local, const Description& offer) {
  std::ostringstream o;
  const MediaSection& data = offer.media[offer.data_index];
  write_session(o, local, data.mid.empty() ? local.mid : data.mid);
  for (size_t i = 0; i < offer.media.size(); ++i) {
    const MediaSection& m = offer.media[i];
    if (i == offer.data_index) {
      // Legacy "DTLS/SCTP 5000" offers are answered in the current syntax's proto.
      std::string proto = m.proto.find("UDP/DTLS/SCTP") != std::string::npos ||
                                  m.proto.find("TCP/DTLS/SCTP") != std::string::npos
                              ? m.proto
                              : "UDP/DTLS/SCTP";
      write_data_section(o, local, proto, m.mid.empty() ? local.mid : m.mid);
      continue;
    }
    o << "m=" << m.kind << " 0 " << m.proto;
    for (const auto& f : m.formats) o << ' ' << f;
    if (m.formats.empty()) o << " 0";
    o << "\r\nc=IN IP4 0.0.0.0\r\n";
    if (!m.mid.empty()) o << "a=mid:" << m.mid << "\r\n";
    o << "a=inactive\r\n";
  }
  return o.str();
}

}  // namespace lk::rtc::sdp
