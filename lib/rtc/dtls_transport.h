// DTLS 1.2 (OpenSSL) over one ICE component, without SRTP. The peer's
// certificate is accepted only if it matches the fingerprint from its SDP.
// receive()/start()/close() run on the owner's context thread and all
// callbacks fire there; send() is thread-safe (usrsctp sends from its threads).
#pragma once

#include <glib.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "rtc/sdp.h"
#include "util/result.h"
#include "util/scoped_source.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct bio_st BIO;
typedef struct x509_st X509;
typedef struct evp_pkey_st EVP_PKEY;
typedef struct x509_store_ctx_st X509_STORE_CTX;

namespace lk::rtc {

// A fresh ECDSA P-256 self-signed certificate (one per connection).
class Certificate {
 public:
  static lk::Result<std::shared_ptr<Certificate>> generate();
  ~Certificate();
  const sdp::Fingerprint& fingerprint() const { return fingerprint_; }  // sha-256
  X509* x509() const { return x509_; }
  EVP_PKEY* key() const { return key_; }

 private:
  Certificate() = default;
  X509* x509_ = nullptr;
  EVP_PKEY* key_ = nullptr;
  sdp::Fingerprint fingerprint_;
};

// Digest of a certificate with the SDP algorithm name ("sha-256", ...),
// formatted as in a=fingerprint. Empty when the algorithm is unknown.
std::string certificate_fingerprint(X509* cert, const std::string& algorithm);

class DtlsTransport {
 public:
  enum class State { New, Connecting, Connected, Failed, Closed };
  using SendDatagram = std::function<bool(std::span<const uint8_t>)>;

  // client: we send the ClientHello (a=setup:active side).
  static lk::Result<std::unique_ptr<DtlsTransport>> create(GMainContext* context, std::shared_ptr<Certificate> cert,
                                                           bool client, sdp::Fingerprint remote,
                                                           SendDatagram send_datagram);
  ~DtlsTransport();
  DtlsTransport(const DtlsTransport&) = delete;
  DtlsTransport& operator=(const DtlsTransport&) = delete;

  bool is_client() const { return client_; }
  State state() const { return state_; }
  // The use_srtp profile agreed in the handshake ("" if none). We never key
  // SRTP; the extension is there because pion requires it.
  const std::string& srtp_profile() const { return srtp_profile_; }
  void start();                                  // once ICE is connected
  void receive(std::span<const uint8_t> datagram);  // from ICE
  bool send(std::span<const uint8_t> data);      // one record; thread-safe
  void close();                                  // close_notify

  // Application data records (SCTP packets), thread-safe. A write fails when
  // DTLS is not connected or OpenSSL refuses it.
  struct Counters {
    uint64_t records_in = 0, bytes_in = 0, records_out = 0, bytes_out = 0, write_failures = 0;
  };
  Counters counters() const;

  std::function<void(State)> on_state;
  std::function<void(const lk::Error&)> on_error;
  std::function<void(std::span<const uint8_t>)> on_receive;

 private:
  DtlsTransport(GMainContext* context, bool client, sdp::Fingerprint remote, SendDatagram send);
  lk::Result<void> init(const Certificate& cert);
  void after_io(int ret);  // under mutex_: classify, arm timer; queues state/errors
  void flush_events();     // outside mutex_: fire queued state change / error
  void arm_timer();
  void fail(std::string message);

  static int verify_peer(int preverify_ok, X509_STORE_CTX* store);
  static int bio_write(BIO* bio, const char* data, int len);
  static int bio_read(BIO* bio, char* out, int len);
  static long bio_ctrl(BIO* bio, int cmd, long num, void* ptr);

  GMainContext* context_;
  bool client_;
  sdp::Fingerprint remote_fingerprint_;
  SendDatagram send_datagram_;
  std::shared_ptr<Certificate> cert_;

  std::mutex mutex_;  // guards ssl_ (OpenSSL objects are not thread-safe)
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  State state_ = State::New;
  bool handshake_done_ = false;
  std::string mismatch_;       // set by verify_peer
  std::string srtp_profile_;
  std::string pending_error_;  // reported by flush_events
  bool state_dirty_ = false;
  lk::ScopedSource timer_;  // handshake retransmission
  std::vector<uint8_t> read_buffer_;
  std::span<const uint8_t> incoming_;  // what receive() has not handed OpenSSL yet, under mutex_
  std::atomic<uint64_t> records_in_{0}, bytes_in_{0}, records_out_{0}, bytes_out_{0}, write_failures_{0};
};

const char* to_string(DtlsTransport::State state);

}  // namespace lk::rtc
