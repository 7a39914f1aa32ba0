// The DTLS layer back to back in one process (no sockets): handshake,
// fingerprint check, use_srtp negotiation (pion requires it), data, close.
#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <vector>

#include "rtc/dtls_transport.h"

namespace lk::rtc {
namespace {

struct Wire {
  GMainContext* context = g_main_context_new();
  std::deque<std::pair<DtlsTransport**, std::vector<uint8_t>>> in_flight;
  ~Wire() { g_main_context_unref(context); }

  // Datagrams are delivered from the loop, never inside the sender's call.
  DtlsTransport::SendDatagram to(DtlsTransport** peer) {
    return [this, peer](std::span<const uint8_t> d) {
      in_flight.emplace_back(peer, std::vector<uint8_t>(d.begin(), d.end()));
      return true;
    };
  }
  bool run_until(const std::function<bool()>& done, int max_steps = 10000) {
    for (int i = 0; i < max_steps && !done(); ++i) {
      if (!in_flight.empty()) {
        auto [peer, bytes] = std::move(in_flight.front());
        in_flight.pop_front();
        (*peer)->receive(bytes);
      } else {
        g_main_context_iteration(context, FALSE);
      }
    }
    return done();
  }
};

struct Ends {
  Wire wire;
  DtlsTransport* client_ptr = nullptr;
  DtlsTransport* server_ptr = nullptr;
  std::unique_ptr<DtlsTransport> client, server;
  std::vector<std::string> client_errors, server_errors;
  std::vector<std::vector<uint8_t>> to_server;

  explicit Ends(bool tamper = false) {
    auto client_cert = Certificate::generate();
    auto server_cert = Certificate::generate();
    EXPECT_TRUE(client_cert.ok() && server_cert.ok());
    sdp::Fingerprint server_fp = (*server_cert)->fingerprint();
    if (tamper) server_fp.value[0] = server_fp.value[0] == 'A' ? 'B' : 'A';
    auto c = DtlsTransport::create(wire.context, *client_cert, true, server_fp, wire.to(&server_ptr));
    auto s = DtlsTransport::create(wire.context, *server_cert, false, (*client_cert)->fingerprint(), wire.to(&client_ptr));
    EXPECT_TRUE(c.ok() && s.ok());
    client = std::move(*c);
    server = std::move(*s);
    client_ptr = client.get();
    server_ptr = server.get();
    client->on_error = [this](const lk::Error& e) { client_errors.push_back(e.message); };
    server->on_error = [this](const lk::Error& e) { server_errors.push_back(e.message); };
    server->on_receive = [this](std::span<const uint8_t> d) { to_server.emplace_back(d.begin(), d.end()); };
  }

  bool handshake() {
    server->start();
    client->start();
    return wire.run_until([&] {
      return client->state() == DtlsTransport::State::Connected && server->state() == DtlsTransport::State::Connected;
    });
  }
};

TEST(Dtls, HandshakeNegotiatesAnSrtpProfileAndCarriesData) {
  Ends e;
  ASSERT_TRUE(e.handshake());
  EXPECT_EQ(e.client->srtp_profile(), "SRTP_AEAD_AES_128_GCM") << "pion fails DTLS without a use_srtp profile";
  EXPECT_EQ(e.server->srtp_profile(), e.client->srtp_profile());
  std::vector<uint8_t> payload(1200, 0x42);
  ASSERT_TRUE(e.client->send(payload));
  ASSERT_TRUE(e.wire.run_until([&] { return !e.to_server.empty(); }));
  EXPECT_EQ(e.to_server[0], payload);
  e.client->close();
  ASSERT_TRUE(e.wire.run_until([&] { return e.server->state() == DtlsTransport::State::Closed; }))
      << "close_notify reaches the peer";
  EXPECT_TRUE(e.client_errors.empty());
  EXPECT_TRUE(e.server_errors.empty());
}

// A datagram may carry several records (RFC 6347 section 4.1.1): receive()
// delivers each of them before it returns, and a corrupt datagram delivers
// nothing and leaves nothing behind for the next one.
TEST(Dtls, EveryRecordOfADatagramIsDeliveredByItsReceive) {
  Ends e;
  ASSERT_TRUE(e.handshake());
  ASSERT_TRUE(e.wire.run_until([&] { return e.wire.in_flight.empty(); }));
  std::vector<uint8_t> datagram;
  for (uint8_t fill : {1, 2, 3}) {
    ASSERT_TRUE(e.client->send(std::vector<uint8_t>(300, fill)));
    auto& record = e.wire.in_flight.back().second;
    datagram.insert(datagram.end(), record.begin(), record.end());
  }
  e.wire.in_flight.clear();
  e.server->receive(datagram);
  ASSERT_EQ(e.to_server.size(), 3u) << "records after the first waited for another datagram";
  for (uint8_t fill : {1, 2, 3}) EXPECT_EQ(e.to_server[fill - 1], std::vector<uint8_t>(300, fill));

  ASSERT_TRUE(e.client->send(std::vector<uint8_t>(300, 4)));
  auto corrupt = e.wire.in_flight.back().second;
  ASSERT_TRUE(e.client->send(std::vector<uint8_t>(300, 5)));
  auto good = e.wire.in_flight.back().second;
  e.wire.in_flight.clear();
  corrupt.back() ^= 1;  // the AEAD tag no longer matches
  e.server->receive(corrupt);
  EXPECT_EQ(e.to_server.size(), 3u) << "a corrupt record was delivered";
  e.server->receive(good);
  ASSERT_EQ(e.to_server.size(), 4u);
  EXPECT_EQ(e.to_server[3], std::vector<uint8_t>(300, 5));
  EXPECT_EQ(e.server->state(), DtlsTransport::State::Connected);
}

TEST(Dtls, CertificateNotMatchingTheSdpFingerprintFailsTheHandshake) {
  Ends e(/*tamper=*/true);
  e.server->start();
  e.client->start();
  ASSERT_TRUE(e.wire.run_until([&] { return e.client->state() == DtlsTransport::State::Failed; }));
  ASSERT_FALSE(e.client_errors.empty());
  EXPECT_NE(e.client_errors[0].find("DTLS fingerprint mismatch"), std::string::npos) << e.client_errors[0];
  EXPECT_NE(e.server->state(), DtlsTransport::State::Connected);
  EXPECT_FALSE(e.client->send(std::vector<uint8_t>(10, 1)));
}

// A peer that refuses our certificate may just close (close_notify) instead
// of sending a fatal alert: before the handshake completes that is a failure
// saying so, not a clean close.
TEST(Dtls, CloseNotifyBeforeTheHandshakeCompletesIsAFailure) {
  Ends e;
  e.client->start();
  ASSERT_FALSE(e.wire.in_flight.empty()) << "the ClientHello";
  e.wire.in_flight.clear();  // the server never sees it
  // A DTLS 1.2 plaintext alert record (epoch 0): warning, close_notify.
  const std::vector<uint8_t> close_notify = {21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 1, 0};
  e.client->receive(close_notify);
  ASSERT_TRUE(e.wire.run_until([&] {
    return e.client->state() == DtlsTransport::State::Failed || e.client->state() == DtlsTransport::State::Closed;
  }));
  EXPECT_EQ(e.client->state(), DtlsTransport::State::Failed);
  ASSERT_FALSE(e.client_errors.empty());
  EXPECT_NE(e.client_errors[0].find("aborted the DTLS handshake"), std::string::npos) << e.client_errors[0];
}

TEST(Dtls, UnknownFingerprintAlgorithmIsRefused) {
  Wire wire;
  auto cert = Certificate::generate();
  ASSERT_TRUE(cert.ok());
  auto t = DtlsTransport::create(wire.context, *cert, true, {"md5", "00"}, wire.to(nullptr));
  EXPECT_FALSE(t.ok());
}

TEST(Dtls, CertificatesAreFreshEcdsaWithSha256Fingerprints) {
  auto a = Certificate::generate();
  auto b = Certificate::generate();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)->fingerprint().algorithm, "sha-256");
  EXPECT_EQ((*a)->fingerprint().value.size(), 32u * 3 - 1);
  EXPECT_NE((*a)->fingerprint().value, (*b)->fingerprint().value);
  EXPECT_EQ(certificate_fingerprint((*a)->x509(), "sha-256"), (*a)->fingerprint().value);
}

}  // namespace
}  // namespace lk::rtc
