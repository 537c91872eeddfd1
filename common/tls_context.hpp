#pragma once
// TLS contexts made from PEM files, and certificate fingerprints. The collector builds its server
// context here at start and again on SIGHUP; each accepted connection holds the context it was
// accepted with (by shared_ptr), so a reload changes new connections only. The agent uses
// certificate_sha256() to check tls_pin_sha256.
// Blocking (reads files): call at start-up or on a reload, never per connection. No shared state.
#include <boost/system/result.hpp>
#include <memory>
#include <string>

struct x509_st; // OpenSSL's X509, kept out of this header

namespace boost::asio::ssl {
class context;
}

namespace corvid {

struct tls_server_identity {
    std::shared_ptr<boost::asio::ssl::context> context; // TLS 1.2+, certificate chain and key loaded
    std::string subject;    // of the leaf certificate, RFC 2253 ("CN=collector.example.com")
    std::string not_after;  // "2026-01-31 12:00:00 UTC"
    std::string sha256;     // "AB:CD:…", what an agent's tls_pin_sha256 must hold
    bool expired = false;   // not_after is in the past (served anyway; the caller warns)
};

// `cert_file`: PEM, the leaf certificate first, then any intermediates. `key_file`: its PEM
// private key (unencrypted). The error is one line naming the file and what is wrong with it.
boost::system::result<tls_server_identity, std::string> load_tls_server_identity(const std::string& cert_file,
                                                                               const std::string& key_file);

// SHA-256 of the certificate's DER encoding, 64 lowercase hex digits ("" if it cannot be encoded).
std::string certificate_sha256(x509_st* cert);

} // namespace corvid
