// TLS contexts from PEM files, and certificate fingerprints (see tls_context.hpp).
#include "common/tls_context.hpp"

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <ctime>
#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509err.h>

#include "common/file_util.hpp"
#include "common/tls_pin.hpp"

namespace corvid {
namespace ssl = boost::asio::ssl;

namespace {
// Certificate chains are a few KiB; anything this large is not one.
constexpr std::size_t max_pem_bytes = 1 << 20;

// The key is a secret: wipe our copy once OpenSSL has parsed it.
struct wiped_string {
    std::string text;
    ~wiped_string()
    {
        if (!text.empty())
            OPENSSL_cleanse(text.data(), text.size());
    }
};

std::string openssl_reason(const boost::system::error_code& ec)
{
    // Asio reports OpenSSL's packed error code; its reason string is the useful part.
    if (ec.category() == boost::asio::error::get_ssl_category()) {
        if (const char* r = ERR_reason_error_string(static_cast<unsigned long>(ec.value())))
            return r;
    }
    return ec.message();
}

std::string subject_of(X509* cert)
{
    BIO* bio = BIO_new(BIO_s_mem());
    if (!bio)
        return "?";
    X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string out = n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string("(empty subject)");
    BIO_free(bio);
    return out;
}

std::string format_asn1_time(const ASN1_TIME* t)
{
    std::tm tm{};
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return "?";
    return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                       tm.tm_hour, tm.tm_min, tm.tm_sec);
}
} // namespace

std::string certificate_sha256(x509_st* cert)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!cert || X509_digest(cert, EVP_sha256(), md, &len) != 1)
        return {};
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(len * 2);
    for (unsigned i = 0; i < len; ++i) {
        out.push_back(digits[md[i] >> 4]);
        out.push_back(digits[md[i] & 0xf]);
    }
    return out;
}

boost::system::result<tls_server_identity, std::string> load_tls_server_identity(const std::string& cert_file,
                                                                               const std::string& key_file)
{
    auto cert_pem = read_file(cert_file, max_pem_bytes);
    if (!cert_pem)
        return fmt::format("cannot read tls_cert {}: {}", cert_file, cert_pem.error().message());
    wiped_string key_pem;
    {
        auto key = read_file(key_file, max_pem_bytes);
        if (!key)
            return fmt::format("cannot read tls_key {}: {}", key_file, key.error().message());
        key_pem.text = std::move(*key);
    }

    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3
                     | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);

    boost::system::error_code ec;
    ctx->use_certificate_chain(boost::asio::buffer(*cert_pem), ec);
    if (ec)
        return fmt::format("tls_cert {} holds no usable PEM certificate chain ({})", cert_file, openssl_reason(ec));
    ctx->use_private_key(boost::asio::buffer(key_pem.text), ssl::context::pem, ec);
    if (ec && ec.category() == boost::asio::error::get_ssl_category()
        && ERR_GET_LIB(static_cast<unsigned long>(ec.value())) == ERR_LIB_X509
        && ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH)
        return fmt::format("tls_key {} does not belong to the certificate in tls_cert {}", key_file, cert_file);
    if (ec)
        return fmt::format("tls_key {} holds no usable private key ({}); it must be an unencrypted PEM key",
                           key_file, openssl_reason(ec));
    if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
        ERR_clear_error();
        return fmt::format("tls_key {} does not belong to the certificate in tls_cert {}", key_file, cert_file);
    }

    X509* leaf = SSL_CTX_get0_certificate(ctx->native_handle());
    if (!leaf)
        return fmt::format("tls_cert {} holds no certificate", cert_file);
    tls_server_identity id;
    id.subject = subject_of(leaf);
    id.not_after = format_asn1_time(X509_get0_notAfter(leaf));
    id.sha256 = format_sha256_fingerprint(certificate_sha256(leaf));
    id.expired = X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0;
    id.context = std::move(ctx);
    return id;
}

} // namespace corvid
