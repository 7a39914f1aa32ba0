#include "rtc/dtls_transport.h"

#include <algorithm>
#include <cstring>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/srtp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#undef G_LOG_DOMAIN
#define G_LOG_DOMAIN "livekit-rtc-dtls"

namespace lk::rtc {
namespace {

// Sizes handshake fragments only (a flight must cross any path). OpenSSL does
// not split application data by it: each SCTP packet, whatever the configured
// SCTP MTU (up to 16384, the record limit), goes out as one record.
constexpr long kDtlsMtu = 1400;
constexpr const char* kCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES256-GCM-SHA384";

constexpr const char* kSrtpProfiles = "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80";

std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

const EVP_MD* digest_for(const std::string& algorithm) {
  if (algorithm == "sha-256") return EVP_sha256();
  if (algorithm == "sha-384") return EVP_sha384();
  if (algorithm == "sha-512") return EVP_sha512();
  if (algorithm == "sha-224") return EVP_sha224();
  return nullptr;
}

BIO_METHOD* ice_bio_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "livekit-ice");
    return m;
  }();
  return method;
}

int ssl_ex_index() {
  static int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

void log_info(const SSL*, int where, int ret) {
  if (where & SSL_CB_HANDSHAKE_START) g_debug("handshake start");
  if (where & SSL_CB_HANDSHAKE_DONE) g_debug("handshake done");
  if (where & SSL_CB_ALERT)
    g_debug("%s alert %s: %s", (where & SSL_CB_READ) ? "received" : "sent", SSL_alert_type_string_long(ret),
            SSL_alert_desc_string_long(ret));
}

}  // namespace

std::string certificate_fingerprint(X509* cert, const std::string& algorithm) {
  const EVP_MD* md = digest_for(algorithm);
  if (!md || !cert) return {};
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!X509_digest(cert, md, digest, &len)) return {};
  return sdp::format_fingerprint({digest, len});
}

lk::Result<std::shared_ptr<Certificate>> Certificate::generate() {
  std::shared_ptr<Certificate> c(new Certificate());
  c->key_ = EVP_EC_gen("P-256");
  c->x509_ = X509_new();
  if (!c->key_ || !c->x509_) return make_error(ErrorKind::Internal, "certificate generation: " + openssl_errors());
  uint64_t serial = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial);
  X509_set_version(c->x509_, 2);
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(c->x509_), serial >> 1);
  X509_gmtime_adj(X509_getm_notBefore(c->x509_), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c->x509_), 30L * 24 * 3600);
  X509_NAME* name = X509_get_subject_name(c->x509_);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("livekit-rtc"), -1, -1, 0);
  X509_set_issuer_name(c->x509_, name);
  X509_set_pubkey(c->x509_, c->key_);
  if (!X509_sign(c->x509_, c->key_, EVP_sha256()))
    return make_error(ErrorKind::Internal, "certificate signing: " + openssl_errors());
  c->fingerprint_ = {"sha-256", certificate_fingerprint(c->x509_, "sha-256")};
  return c;
}

Certificate::~Certificate() {
  X509_free(x509_);
  EVP_PKEY_free(key_);
}

DtlsTransport::DtlsTransport(GMainContext* context, bool client, sdp::Fingerprint remote, SendDatagram send)
    : context_(g_main_context_ref(context)),
      client_(client),
      remote_fingerprint_(std::move(remote)),
      send_datagram_(std::move(send)),
      read_buffer_(64 * 1024) {}

lk::Result<std::unique_ptr<DtlsTransport>> DtlsTransport::create(GMainContext* context, std::shared_ptr<Certificate> cert,
                                                                 bool client, sdp::Fingerprint remote,
                                                                 SendDatagram send_datagram) {
  if (!digest_for(remote.algorithm))
    return make_error(ErrorKind::Unsupported, "unsupported fingerprint algorithm in remote SDP: " + remote.algorithm);
  std::unique_ptr<DtlsTransport> t(new DtlsTransport(context, client, std::move(remote), std::move(send_datagram)));
  t->cert_ = std::move(cert);
  if (auto r = t->init(*t->cert_); !r) return r.error();
  return t;
}

lk::Result<void> DtlsTransport::init(const Certificate& cert) {
  BIO_METHOD* method = ice_bio_method();
  static std::once_flag once;
  std::call_once(once, [method] {
    BIO_meth_set_write(method, bio_write);
    BIO_meth_set_read(method, bio_read);
    BIO_meth_set_ctrl(method, bio_ctrl);
    BIO_meth_set_create(method, [](BIO* b) {
      BIO_set_init(b, 1);
      return 1;
    });
    BIO_meth_set_destroy(method, [](BIO*) { return 1; });
  });

  ctx_ = SSL_CTX_new(DTLS_method());
  if (!ctx_) return make_error(ErrorKind::Internal, "SSL_CTX_new: " + openssl_errors());
  SSL_CTX_set_min_proto_version(ctx_, DTLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx_, DTLS1_2_VERSION);
  SSL_CTX_set_options(ctx_, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
  SSL_CTX_set_read_ahead(ctx_, 1);
  if (!SSL_CTX_set_cipher_list(ctx_, kCiphers) || !SSL_CTX_use_certificate(ctx_, cert.x509()) ||
      !SSL_CTX_use_PrivateKey(ctx_, cert.key()) || !SSL_CTX_check_private_key(ctx_))
    return make_error(ErrorKind::Internal, "DTLS context setup: " + openssl_errors());
  // No SRTP here, but pion (the LiveKit server) fails a DTLS transport that
  // negotiated no SRTP profile, and browsers always offer use_srtp.
  if (SSL_CTX_set_tlsext_use_srtp(ctx_, kSrtpProfiles) != 0)
    return make_error(ErrorKind::Internal, "DTLS use_srtp setup: " + openssl_errors());
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_peer);
  SSL_CTX_set_info_callback(ctx_, log_info);

  ssl_ = SSL_new(ctx_);
  if (!ssl_) return make_error(ErrorKind::Internal, "SSL_new: " + openssl_errors());
  SSL_set_ex_data(ssl_, ssl_ex_index(), this);
  // One BIO both ways: OpenSSL reads the datagram being received where it
  // lies, and writes records out through ICE.
  BIO* bio = BIO_new(method);
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_, bio, bio);
  SSL_set_mtu(ssl_, kDtlsMtu);
  DTLS_set_link_mtu(ssl_, kDtlsMtu);
  if (client_) SSL_set_connect_state(ssl_);
  else SSL_set_accept_state(ssl_);
  return lk::ok();
}

DtlsTransport::~DtlsTransport() {
  timer_.reset();
  SSL_free(ssl_);
  SSL_CTX_free(ctx_);
  g_main_context_unref(context_);
}

void DtlsTransport::start() {
  {
    std::lock_guard lock(mutex_);
    if (state_ != State::New) return;
    state_ = State::Connecting;
    state_dirty_ = true;
    if (client_) after_io(SSL_do_handshake(ssl_));
  }
  flush_events();
}

void DtlsTransport::receive(std::span<const uint8_t> datagram) {
  // DTLS records start with a content type of 20..63 (RFC 7983 demux).
  if (datagram.empty() || datagram[0] < 20 || datagram[0] > 63) return;
  // One record per lock: delivering data re-enters send() via usrsctp.
  for (bool first = true;; first = false) {
    int n;
    bool more, events;
    {
      std::lock_guard lock(mutex_);
      if (!ssl_ || state_ == State::Failed || state_ == State::Closed) {  // !ssl_: init() failed
        incoming_ = {};
        break;
      }
      if (first) {
        if (state_ == State::New) {  // ClientHello before our ICE said connected
          state_ = State::Connecting;
          state_dirty_ = true;
        }
        incoming_ = datagram;
      }
      n = SSL_read(ssl_, read_buffer_.data(), static_cast<int>(read_buffer_.size()));
      if (n <= 0) after_io(n);
      else if (!handshake_done_) after_io(n);
      // Usually one record per datagram: skip the SSL_read that would only say WANT_READ.
      more = n > 0 && (!incoming_.empty() || SSL_has_pending(ssl_));
      if (!more) incoming_ = {};  // with leftovers of a datagram OpenSSL refused
      events = state_dirty_ || !pending_error_.empty();
    }
    if (events) flush_events();
    if (n <= 0) break;
    records_in_.fetch_add(1, std::memory_order_relaxed);
    bytes_in_.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
    if (on_receive) on_receive({read_buffer_.data(), static_cast<size_t>(n)});
    if (!more) break;
  }
}

bool DtlsTransport::send(std::span<const uint8_t> data) {
  std::lock_guard lock(mutex_);
  int n = state_ == State::Connected ? SSL_write(ssl_, data.data(), static_cast<int>(data.size())) : 0;
  if (n <= 0) {
    write_failures_.fetch_add(1, std::memory_order_relaxed);
    if (state_ == State::Connected)
      g_debug("SSL_write of %zu bytes failed: error %d, %s", data.size(), SSL_get_error(ssl_, n), openssl_errors().c_str());
    return false;
  }
  records_out_.fetch_add(1, std::memory_order_relaxed);
  bytes_out_.fetch_add(data.size(), std::memory_order_relaxed);
  return true;
}

DtlsTransport::Counters DtlsTransport::counters() const {
  return {records_in_.load(std::memory_order_relaxed), bytes_in_.load(std::memory_order_relaxed),
          records_out_.load(std::memory_order_relaxed), bytes_out_.load(std::memory_order_relaxed),
          write_failures_.load(std::memory_order_relaxed)};
}

const char* to_string(DtlsTransport::State state) {
  switch (state) {
    case DtlsTransport::State::New: return "new";
    case DtlsTransport::State::Connecting: return "connecting";
    case DtlsTransport::State::Connected: return "connected";
    case DtlsTransport::State::Failed: return "failed";
    case DtlsTransport::State::Closed: return "closed";
  }
  return "?";
}

void DtlsTransport::close() {
  {
    std::lock_guard lock(mutex_);
    if (state_ == State::Closed) return;
    if (state_ == State::Connected) {
      SSL_shutdown(ssl_);  // sends close_notify
      g_debug("sent close_notify");
    }
    state_ = State::Closed;
    state_dirty_ = true;
  }
  timer_.reset();
  flush_events();
}

void DtlsTransport::fail(std::string message) {
  g_debug("failed: %s", message.c_str());
  state_ = State::Failed;
  state_dirty_ = true;
  pending_error_ = std::move(message);
}

void DtlsTransport::after_io(int ret) {
  if (ret > 0 || SSL_is_init_finished(ssl_)) {
    if (!handshake_done_ && SSL_is_init_finished(ssl_)) {
      handshake_done_ = true;
      const SRTP_PROTECTION_PROFILE* srtp = SSL_get_selected_srtp_profile(ssl_);
      srtp_profile_ = srtp ? srtp->name : "";
      g_debug("connected as %s, cipher %s, SRTP profile %s (unused)", client_ ? "client" : "server",
              SSL_get_cipher(ssl_), srtp_profile_.empty() ? "none" : srtp_profile_.c_str());
      state_ = State::Connected;
      state_dirty_ = true;
    }
  }
  if (ret <= 0) {
    int err = SSL_get_error(ssl_, ret);
    if (err == SSL_ERROR_ZERO_RETURN && !handshake_done_) {
      // pion and others close this way when they refuse our certificate.
      fail("the peer aborted the DTLS handshake (close_notify before it completed): it may have refused our"
           " certificate; check that it got our a=fingerprint unchanged");
    } else if (err == SSL_ERROR_ZERO_RETURN) {
      g_debug("received close_notify");
      state_ = State::Closed;
      state_dirty_ = true;
    } else if (err == SSL_ERROR_SSL || err == SSL_ERROR_SYSCALL) {
      std::string why = !mismatch_.empty() ? mismatch_ : "DTLS handshake failed: " + openssl_errors();
      ERR_clear_error();
      if (handshake_done_ && mismatch_.empty()) {
        g_debug("dropping bad record: %s", why.c_str());  // a corrupt datagram, not fatal
      } else {
        fail(why);
      }
    }
  }
  if (!handshake_done_ && state_ == State::Connecting) arm_timer();
}

void DtlsTransport::arm_timer() {
  timeval tv{};
  if (!DTLSv1_get_timeout(ssl_, &tv)) return;
  guint ms = static_cast<guint>(tv.tv_sec * 1000 + tv.tv_usec / 1000);
  timer_ = lk::ScopedSource::timeout(context_, ms ? ms : 1, [this] {
    {
      std::lock_guard lock(mutex_);
      timer_.reset();  // this one ends with this dispatch
      if (state_ == State::Connecting && !handshake_done_) {
        if (DTLSv1_handle_timeout(ssl_) < 0) fail("DTLS handshake timed out: " + openssl_errors());
        else arm_timer();
      }
    }
    flush_events();
    return false;
  });
}

void DtlsTransport::flush_events() {
  State state;
  std::string error;
  {
    std::lock_guard lock(mutex_);
    if (!state_dirty_ && pending_error_.empty()) return;
    state_dirty_ = false;
    state = state_;
    error.swap(pending_error_);
  }
  if (!error.empty() && on_error) on_error(make_error(ErrorKind::Network, error));
  if (on_state) on_state(state);
}

int DtlsTransport::verify_peer(int, X509_STORE_CTX* store) {
  SSL* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* self = static_cast<DtlsTransport*>(SSL_get_ex_data(ssl, ssl_ex_index()));
  X509* cert = X509_STORE_CTX_get0_cert(store);
  std::string actual = certificate_fingerprint(cert, self->remote_fingerprint_.algorithm);
  if (actual == self->remote_fingerprint_.value) return 1;
  self->mismatch_ = "DTLS fingerprint mismatch: the remote SDP announced " + self->remote_fingerprint_.algorithm + " " +
                    self->remote_fingerprint_.value + " but the peer's certificate has " + actual;
  return 0;
}

int DtlsTransport::bio_write(BIO* bio, const char* data, int len) {
  auto* self = static_cast<DtlsTransport*>(BIO_get_data(bio));
  if (len <= 0) return len;
  self->send_datagram_({reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(len)});
  return len;  // datagrams may be lost anyway; DTLS/SCTP retransmit
}

// Under mutex_ (inside SSL_read): the datagram receive() is working on, once.
int DtlsTransport::bio_read(BIO* bio, char* out, int len) {
  auto* self = static_cast<DtlsTransport*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (self->incoming_.empty()) {
    BIO_set_retry_read(bio);
    return -1;
  }
  // A datagram longer than OpenSSL asks for is cut, as a datagram socket would.
  size_t n = std::min(self->incoming_.size(), static_cast<size_t>(std::max(len, 0)));
  std::memcpy(out, self->incoming_.data(), n);
  self->incoming_ = {};
  return static_cast<int>(n);
}

long DtlsTransport::bio_ctrl(BIO* bio, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_DGRAM_QUERY_MTU: return kDtlsMtu;
    case BIO_CTRL_PENDING: return static_cast<long>(static_cast<DtlsTransport*>(BIO_get_data(bio))->incoming_.size());
    case BIO_CTRL_WPENDING: return 0;
    default: return 0;
  }
}

}  // namespace lk::rtc
