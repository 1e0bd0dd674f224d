// Two TLS streams wired to each other in memory: a server with the broker's settings and a
// client, handshaking and exchanging data without a socket, byte by byte, in records split
// anywhere, and against garbage.
#include "net/tls/stream.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "net/tls/context.h"

namespace lepus::tls {
namespace {

// A CA and certificates it signed, as PEM files in a temporary directory.
class TestCertificates {
public:
    TestCertificates() {
        std::string pattern = (std::filesystem::temp_directory_path() / "lepus-tls-XXXXXX");
        EXPECT_NE(mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        ca_key_ = EVP_EC_gen("P-256");
        ca_ = make_certificate("Lepus test CA", ca_key_, nullptr, ca_key_, 3650);
        write("ca", ca_, ca_key_);
        leaf("server", "localhost", 3650);
        leaf("client", "guest", 3650);
        leaf("expired", "localhost", -1);
        EVP_PKEY* other_key = EVP_EC_gen("P-256");
        X509* other = make_certificate("Other CA", other_key, nullptr, other_key, 3650);
        write("other_ca", other, other_key);
        X509_free(other);
        EVP_PKEY_free(other_key);
    }
    ~TestCertificates() {
        X509_free(ca_);
        EVP_PKEY_free(ca_key_);
        std::filesystem::remove_all(dir_);
    }

    std::string pem(const std::string& name) const { return (dir_ / (name + ".pem")).string(); }
    std::string key(const std::string& name) const { return (dir_ / (name + ".key")).string(); }

private:
    static X509* make_certificate(const char* common_name, EVP_PKEY* key, X509* issuer,
                                  EVP_PKEY* issuer_key, long days) {
        X509* certificate = X509_new();
        X509_set_version(certificate, 2);
        static long serial = 1;
        ASN1_INTEGER_set(X509_get_serialNumber(certificate), serial++);
        X509_gmtime_adj(X509_getm_notBefore(certificate), days < 0 ? -2 * 86400 : 0);
        X509_gmtime_adj(X509_getm_notAfter(certificate), days * 86400);
        X509_set_pubkey(certificate, key);
        X509_NAME* name = X509_get_subject_name(certificate);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
        X509_set_issuer_name(certificate, issuer != nullptr ? X509_get_subject_name(issuer) : name);
        // A CA says it is one; OpenSSL refuses to chain through a certificate that does not.
        X509V3_CTX context;
        X509V3_set_ctx_nodb(&context);
        X509V3_set_ctx(&context, issuer != nullptr ? issuer : certificate, certificate, nullptr,
                       nullptr, 0);
        X509_EXTENSION* constraints =
            X509V3_EXT_conf_nid(nullptr, &context, NID_basic_constraints,
                                issuer == nullptr ? "critical,CA:TRUE" : "critical,CA:FALSE");
        EXPECT_NE(constraints, nullptr);
        X509_add_ext(certificate, constraints, -1);
        X509_EXTENSION_free(constraints);
        X509_sign(certificate, issuer_key, EVP_sha256());
        return certificate;
    }

    void leaf(const std::string& file, const char* common_name, long days) {
        EVP_PKEY* key = EVP_EC_gen("P-256");
        X509* certificate = make_certificate(common_name, key, ca_, ca_key_, days);
        write(file, certificate, key);
        X509_free(certificate);
        EVP_PKEY_free(key);
    }

    void write(const std::string& name, X509* certificate, EVP_PKEY* key) {
        FILE* out = std::fopen(pem(name).c_str(), "w");
        PEM_write_X509(out, certificate);
        std::fclose(out);
        out = std::fopen(this->key(name).c_str(), "w");
        PEM_write_PrivateKey(out, key, nullptr, nullptr, 0, nullptr, nullptr);
        std::fclose(out);
    }

    std::filesystem::path dir_;
    EVP_PKEY* ca_key_ = nullptr;
    X509* ca_ = nullptr;
};

const TestCertificates& certificates() {
    static const TestCertificates made;
    return made;
}

Settings server_settings() {
    const TestCertificates& c = certificates();
    Settings settings;
    settings.cacertfile = c.pem("ca");
    settings.certfile = c.pem("server");
    settings.keyfile = c.key("server");
    settings.verify = Verify::peer;
    settings.fail_if_no_peer_cert = true;
    return settings;
}

std::unique_ptr<Context> server_context(const Settings& settings = server_settings()) {
    std::string error;
    auto context = Context::server(settings, error);
    EXPECT_NE(context, nullptr) << error;
    return context;
}

std::unique_ptr<Context> client_context(const std::string& ca = "ca",
                                        const std::string& cert = "client") {
    const TestCertificates& c = certificates();
    std::string error;
    auto context = Context::client(c.pem(ca), cert.empty() ? "" : c.pem(cert),
                                   cert.empty() ? "" : c.key(cert), error);
    EXPECT_NE(context, nullptr) << error;
    return context;
}

// Moves what `from` has to send into `to`, `piece` bytes at a time; returns how many moved.
usize pump(Stream& from, Stream& to, usize piece = 1 << 20) {
    usize moved = 0;
    std::string buffer(piece, '\0');
    while (from.pending() > 0) {
        usize got = from.take(buffer.data(), piece);
        to.feed(buffer.data(), got);
        moved += got;
    }
    return moved;
}

std::string read_all(Stream& stream) {
    std::string text;
    char buffer[4096];
    while (usize got = stream.read(buffer, sizeof buffer)) text.append(buffer, got);
    return text;
}

// Runs the handshake to its end, moving `piece` bytes at a time each way.
void handshake(Stream& client, Stream& server, usize piece = 1 << 20) {
    for (int round = 0; round < 20; round++) {
        pump(client, server, piece);
        read_all(server);
        pump(server, client, piece);
        read_all(client);
        if (client.state() != Stream::State::handshaking &&
            server.state() != Stream::State::handshaking && client.pending() == 0 &&
            server.pending() == 0)
            return;
    }
}

TEST(TlsStream, HandshakesAndExchangesDataBothWays) {
    auto server_side = server_context();
    auto client_side = client_context();
    Stream server(*server_side);
    Stream client(*client_side);
    EXPECT_GT(client.pending(), 0u);  // the ClientHello
    handshake(client, server);
    ASSERT_EQ(server.state(), Stream::State::open) << server.error() << " / " << client.error();
    ASSERT_EQ(client.state(), Stream::State::open) << client.error();
    EXPECT_EQ(server.verified_peer_common_name(), "guest");
    EXPECT_EQ(server.description().rfind("TLSv1.3 ", 0), 0u);

    ASSERT_TRUE(client.write("AMQP\0\0\x09\x01", 8));
    pump(client, server);
    EXPECT_EQ(read_all(server), std::string("AMQP\0\0\x09\x01", 8));
    std::string big(300'000, 'x');
    for (usize i = 0; i < big.size(); i++) big[i] = static_cast<char>(i * 7);
    ASSERT_TRUE(server.write(big.data(), big.size()));
    pump(server, client);
    EXPECT_EQ(read_all(client), big);
}

TEST(TlsStream, RecordsSplitAnywhereAreReassembled) {
    auto server_side = server_context();
    auto client_side = client_context();
    Stream server(*server_side);
    Stream client(*client_side);
    handshake(client, server, 1);  // every handshake message a byte at a time
    ASSERT_EQ(server.state(), Stream::State::open) << server.error();
    std::string message(40'000, 'm');
    ASSERT_TRUE(client.write(message.data(), message.size()));
    std::string got;
    std::string buffer(7, '\0');
    while (client.pending() > 0) {
        usize taken = client.take(buffer.data(), buffer.size());
        server.feed(buffer.data(), taken);
        got += read_all(server);  // partial records give nothing until they are whole
    }
    EXPECT_EQ(got, message);
    EXPECT_EQ(server.state(), Stream::State::open);
}

TEST(TlsStream, GarbageInsteadOfAClientHelloFailsWithAnAlert) {
    auto server_side = server_context();
    Stream server(*server_side);
    std::string garbage = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    server.feed(garbage.data(), garbage.size());
    EXPECT_EQ(read_all(server), "");
    EXPECT_EQ(server.state(), Stream::State::failed);
    EXPECT_FALSE(server.error().empty());
}

TEST(TlsStream, AHalfClientHelloWaitsForTheRest) {
    auto server_side = server_context();
    auto client_side = client_context();
    Stream server(*server_side);
    Stream client(*client_side);
    std::string hello(client.pending(), '\0');
    client.take(hello.data(), hello.size());
    server.feed(hello.data(), hello.size() / 2);
    EXPECT_EQ(read_all(server), "");
    EXPECT_EQ(server.state(), Stream::State::handshaking);
    EXPECT_EQ(server.pending(), 0u);
    server.feed(hello.data() + hello.size() / 2, hello.size() - hello.size() / 2);
    read_all(server);
    EXPECT_GT(server.pending(), 0u);  // the ServerHello and the rest of its flight
}

TEST(TlsStream, AClientWithoutACertificateIsRefusedWhenOneIsRequired) {
    auto server_side = server_context();
    auto client_side = client_context("ca", "");
    Stream server(*server_side);
    Stream client(*client_side);
    handshake(client, server);
    EXPECT_EQ(server.state(), Stream::State::failed);
    EXPECT_NE(server.error().find("certificate"), std::string::npos) << server.error();
}

TEST(TlsStream, AClientTrustingAnotherCaRefusesTheServer) {
    auto server_side = server_context();
    auto client_side = client_context("other_ca", "client");
    Stream server(*server_side);
    Stream client(*client_side);
    handshake(client, server);
    EXPECT_EQ(client.state(), Stream::State::failed);
    EXPECT_NE(client.error().find("certificate verify failed"), std::string::npos)
        << client.error();
}

TEST(TlsStream, AnExpiredServerCertificateFailsOnTheClient) {
    Settings settings = server_settings();
    settings.certfile = certificates().pem("expired");
    settings.keyfile = certificates().key("expired");
    auto server_side = server_context(settings);
    auto client_side = client_context();
    Stream server(*server_side);
    Stream client(*client_side);
    handshake(client, server);
    EXPECT_EQ(client.state(), Stream::State::failed);
    EXPECT_NE(client.error().find("expired"), std::string::npos) << client.error();
}

TEST(TlsStream, VersionsAreLimitedAsConfigured) {
    Settings settings = server_settings();
    settings.versions = version_tls12;
    auto server_side = server_context(settings);
    auto client_side = client_context();
    Stream server(*server_side);
    Stream client(*client_side);
    handshake(client, server);
    ASSERT_EQ(server.state(), Stream::State::open) << server.error();
    EXPECT_EQ(server.description().rfind("TLSv1.2 ", 0), 0u) << server.description();
}

TEST(TlsStream, CloseNotifyClosesTheStream) {
    auto server_side = server_context();
    auto client_side = client_context();
    Stream server(*server_side);
    Stream client(*client_side);
    handshake(client, server);
    client.shutdown();
    pump(client, server);
    EXPECT_EQ(read_all(server), "");
    EXPECT_EQ(server.state(), Stream::State::closed);
}

TEST(TlsContext, FilesThatCannotBeUsedAreNamed) {
    const TestCertificates& c = certificates();
    std::string error;
    Settings settings = server_settings();
    settings.keyfile = "/nonexistent/server.key";
    EXPECT_EQ(Context::server(settings, error), nullptr);
    EXPECT_EQ(error,
              "ssl_options.keyfile: cannot read '/nonexistent/server.key': No such file or "
              "directory");
    settings = server_settings();
    settings.keyfile = c.key("client");
    EXPECT_EQ(Context::server(settings, error), nullptr);
    EXPECT_EQ(error, "ssl_options.keyfile: the key in '" + c.key("client") +
                         "' does not match the certificate in ssl_options.certfile '" +
                         c.pem("server") + "'");
    settings = server_settings();
    settings.certfile = c.key("server");
    EXPECT_EQ(Context::server(settings, error), nullptr);
    EXPECT_EQ(error.rfind("ssl_options.certfile: '" + c.key("server") + "' holds no usable", 0), 0u)
        << error;
    settings = server_settings();
    settings.cacertfile = "/nonexistent/ca.pem";
    EXPECT_EQ(Context::server(settings, error), nullptr);
    EXPECT_EQ(error.rfind("ssl_options.cacertfile: cannot read '/nonexistent/ca.pem'", 0), 0u);
    settings = server_settings();
    settings.ciphers = {"TLS_AES_128_GCM_SHA256", "NO-SUCH-CIPHER"};
    EXPECT_EQ(Context::server(settings, error), nullptr);
    EXPECT_EQ(error, "ssl_options.ciphers: OpenSSL knows no cipher 'NO-SUCH-CIPHER'");
    settings.ciphers = {"TLS_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"};
    EXPECT_NE(Context::server(settings, error), nullptr) << error;
}

}  // namespace
}  // namespace lepus::tls
