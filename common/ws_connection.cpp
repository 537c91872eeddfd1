// The client side of ws_connection: dialling ws:// and wss:// (see ws_connection.hpp). The Beast
// stream types it shares with the server side live in ws_stream_impl.hpp.
#include "common/ws_connection.hpp"

#include <boost/asio/connect.hpp>
#include <openssl/ssl.h>

#include "common/log.hpp"
#include "common/tls_context.hpp"
#include "common/tls_pin.hpp"
#include "common/ws_stream_impl.hpp"

namespace corvid {
using namespace ws_detail;
namespace ssl = net::ssl;

namespace {
class ws_category_impl final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "corvid.ws"; }
    std::string message(int ev) const override
    {
        switch (static_cast<ws_errc>(ev)) {
        case ws_errc::binary_frame: return "binary frames are not accepted; send JSON text frames";
        case ws_errc::bad_url: return "not a ws:// or wss:// URL";
        case ws_errc::tls_setup: return "TLS setup failed (CA file or tls_pin_sha256)";
        case ws_errc::pin_mismatch: return "the collector's certificate does not match tls_pin_sha256";
        }
        return "unknown ws error";
    }
};

} // namespace

namespace {
net::awaitable<boost::system::result<tcp::endpoint>> resolve_and_connect(beast::tcp_stream& stream, const ws_url& url)
{
    tcp::resolver resolver(co_await net::this_coro::executor);
    auto [rec, results] = co_await resolver.async_resolve(url.host, url.port, use_tuple_);
    if (rec)
        co_return rec;
    auto [cec, ep] = co_await stream.async_connect(results, use_tuple_);
    if (cec)
        co_return cec;
    co_return ep;
}

std::string host_header(const ws_url& url, const tcp::endpoint& ep)
{
    const bool default_port = (url.tls && ep.port() == 443) || (!url.tls && ep.port() == 80);
    const bool v6 = url.host.find(':') != std::string::npos;
    std::string host = v6 ? "[" + url.host + "]" : url.host;
    return default_port ? host : host + ":" + std::to_string(ep.port());
}

net::awaitable<boost::system::result<std::unique_ptr<ws_connection>>>
connect_plain(net::any_io_executor ex, const ws_url& url, const ws_client_options& o)
{
    beast::tcp_stream stream(ex);
    stream.expires_after(o.connect_timeout);
    auto ep = co_await resolve_and_connect(stream, url);
    if (!ep)
        co_return ep.error();
    plain_ws ws(std::move(stream));
    beast::get_lowest_layer(ws).expires_never(); // the websocket timeouts take over from here
    configure(ws, o.timeouts, o.max_message_bytes, o.user_agent);
    const std::string host = host_header(url, *ep);
    auto [ec] = co_await ws.async_handshake(host, url.target, use_tuple_);
    if (ec)
        co_return ec;
    co_return std::make_unique<ws_connection_impl<plain_ws>>(std::move(ws));
}

net::awaitable<boost::system::result<std::unique_ptr<ws_connection>>>
connect_tls(net::any_io_executor ex, const ws_url& url, const ws_client_options& o)
{
    // One context per connection: cheap at agent scale and picks up a replaced CA file.
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3
                     | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    std::optional<std::string> pin;
    if (!o.tls_pin_sha256.empty()) {
        pin = normalize_sha256_fingerprint(o.tls_pin_sha256);
        if (!pin)
            co_return make_error_code(ws_errc::tls_setup);
    }
    error_code ec;
    if (o.ca_file.empty())
        ctx->set_default_verify_paths(ec);
    else
        ctx->load_verify_file(o.ca_file, ec);
    if (ec)
        co_return make_error_code(ws_errc::tls_setup);
    ctx->set_verify_mode(ssl::verify_peer);

    beast::tcp_stream tcp_stream(ex);
    tcp_stream.expires_after(o.connect_timeout);
    auto ep = co_await resolve_and_connect(tcp_stream, url);
    if (!ep)
        co_return ep.error();
    beast::ssl_stream<beast::tcp_stream> tls(std::move(tcp_stream), *ctx);
    tls.set_verify_callback(ssl::host_name_verification(url.host));
    if (!SSL_set_tlsext_host_name(tls.native_handle(), url.host.c_str()))
        co_return make_error_code(ws_errc::tls_setup);
    auto [hec] = co_await tls.async_handshake(ssl::stream_base::client, use_tuple_);
    if (hec)
        co_return hec;
    // The pin narrows what the CAs allow to one certificate: a CA that issues a certificate for
    // this name to someone else is not enough to receive the agent's key.
    if (pin) {
        const std::string actual = certificate_sha256(SSL_get0_peer_certificate(tls.native_handle()));
        if (actual != *pin) {
            log::error("{}:{} presented a certificate with SHA-256 fingerprint {}, but tls_pin_sha256 expects {}; "
                       "refusing the connection",
                       url.host, url.port, actual.empty() ? std::string("(none)") : format_sha256_fingerprint(actual),
                       format_sha256_fingerprint(*pin));
            co_return make_error_code(ws_errc::pin_mismatch);
        }
    }
    tls_ws ws(std::move(tls));
    beast::get_lowest_layer(ws).expires_never();
    configure(ws, o.timeouts, o.max_message_bytes, o.user_agent);
    const std::string host = host_header(url, *ep);
    auto [wec] = co_await ws.async_handshake(host, url.target, use_tuple_);
    if (wec)
        co_return wec;
    co_return std::make_unique<ws_connection_impl<tls_ws>>(std::move(ws), ctx);
}
} // namespace

const boost::system::error_category& ws_category()
{
    static const ws_category_impl category;
    return category;
}

error_code make_error_code(ws_errc e) { return {static_cast<int>(e), ws_category()}; }

bool is_tls_error(const error_code& ec) { return ec.category() == net::error::get_ssl_category(); }

boost::system::result<ws_url> parse_ws_url(std::string_view url)
{
    ws_url out;
    if (url.starts_with("wss://")) {
        out.tls = true;
        url.remove_prefix(6);
    } else if (url.starts_with("ws://")) {
        url.remove_prefix(5);
    } else {
        return make_error_code(ws_errc::bad_url);
    }
    const auto slash = url.find('/');
    std::string_view authority = url.substr(0, slash);
    out.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
    if (authority.empty() || authority.find('@') != std::string_view::npos)
        return make_error_code(ws_errc::bad_url);
    std::string_view port;
    if (authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos)
            return make_error_code(ws_errc::bad_url);
        out.host = std::string(authority.substr(1, close - 1));
        const auto rest = authority.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':')
                return make_error_code(ws_errc::bad_url);
            port = rest.substr(1);
        }
    } else {
        const auto colon = authority.find(':');
        out.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos)
            port = authority.substr(colon + 1);
    }
    if (out.host.empty())
        return make_error_code(ws_errc::bad_url);
    if (port.empty()) {
        out.port = out.tls ? "443" : "80";
    } else {
        if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos || std::stoi(std::string(port)) > 65535)
            return make_error_code(ws_errc::bad_url);
        out.port = std::string(port);
    }
    return out;
}

net::awaitable<boost::system::result<std::unique_ptr<ws_connection>>>
ws_connect(net::any_io_executor ex, const ws_url& url, const ws_client_options& options)
{
    if (url.tls)
        co_return co_await connect_tls(ex, url, options);
    co_return co_await connect_plain(ex, url, options);
}

} // namespace corvid
