#include "collector/http/http_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <tuple>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <type_traits>

#include "collector/http/rest_api.hpp"
#include "collector/http/routes.hpp"
#include "common/deadline.hpp"
#include "common/log.hpp"
#include "common/ws_accept.hpp"

namespace corvid::collector {
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

namespace {
constexpr auto tls_handshake_deadline = std::chrono::seconds(10);
// From a request's first byte: its headers within header_deadline (a legitimate client sends
// them in one go; a slowloris dribbling them is cut off), the whole request within request_deadline.
constexpr auto header_deadline = std::chrono::seconds(10);
constexpr auto request_deadline = std::chrono::seconds(30);
constexpr auto keep_alive_idle = std::chrono::seconds(60);
constexpr std::uint32_t header_limit = 8 * 1024;

ws_server_options ws_options_for(const route& row)
{
    ws_server_options o;
    o.max_message_bytes = 1 << 20;
    o.timeouts.idle = row.socket_idle;
    return o;
}

template <class Stream> constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

constexpr std::string_view tls_port_body = "This port speaks TLS: use https:// or wss://\n";
// HSTS on every response over TLS: a browser that once reached the collector over https never
// again sends a token or a password to it in clear text (issue 12.10). One year, the usual value;
// not includeSubDomains, since the collector's name says nothing about its siblings'.
template <class Stream> void add_transport_headers(http_response& res)
{
    if constexpr (is_tls<Stream>)
        res.set(http::field::strict_transport_security, "max-age=31536000");
}

const std::string tls_port_refusal =
    fmt::format("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n"
                "Connection: close\r\n\r\n{}",
                tls_port_body.size(), tls_port_body);

// The WebSocket handshake over whichever stream the connection has; the stream is moved from.
template <class Stream>
net::awaitable<boost::system::result<std::unique_ptr<ws_connection>>>
upgrade_to_websocket(Stream& stream, const http_request& req, const ws_server_options& options,
        const std::shared_ptr<ssl::context>& tls)
{
    if constexpr (is_tls<Stream>) {
        auto conn = co_await ws_accept(std::move(stream), req, options, tls);
        co_return std::move(conn);
    } else {
        (void)tls;
        auto conn = co_await ws_accept(std::move(stream), req, options);
        co_return std::move(conn);
    }
}

bool plain_http_on_tls_port(const boost::system::error_code& ec)
{
    return ec.category() == net::error::get_ssl_category()
           && ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_HTTP_REQUEST;
}

// One line per failed handshake. Timeouts and clients that hang up are routine (port scanners,
// health checks that only open the port) and stay at debug.
void log_tls_handshake_failure(const std::string& peer, const boost::system::error_code& ec)
{
    if (ec == beast::error::timeout)
        log::debug("TLS handshake with {} timed out", peer);
    else if (ec == net::error::eof || ec == net::error::connection_reset || ec == net::error::operation_aborted
             || ec == ssl::error::stream_truncated)
        log::debug("{} closed the connection during the TLS handshake", peer);
    else if (plain_http_on_tls_port(ec))
        log::info("plain HTTP from {} on the TLS port refused: use https:// or wss://", peer);
    else
        log::info("TLS handshake with {} failed: {}", peer, ec.message());
}

// Ends a connection: TLS says close_notify first (bounded, the peer may not answer), then the
// socket is shut down either way.
template <class Stream> net::awaitable<void> finish(Stream& stream)
{
    if constexpr (is_tls<Stream>) {
        beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
        auto [ec] = co_await stream.async_shutdown(use_tuple);
        (void)ec;
    }
    boost::system::error_code ignored;
    beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
}

// The TLS handshake, ended early by the connection group's stop (it closes the socket).
template <class Stream>
net::awaitable<std::tuple<boost::system::error_code>> handshake(Stream& stream, connection_group& group)
{
    auto& socket = beast::get_lowest_layer(stream).socket();
    const auto hook = group.on_stop([&socket] {
        boost::system::error_code ignored;
        socket.close(ignored);
    });
    beast::get_lowest_layer(stream).expires_after(tls_handshake_deadline);
    co_return co_await stream.async_handshake(ssl::stream_base::server, use_tuple);
}

// Waits, as an idle keep-alive connection, for the next request's first bytes. The connection
// group's stop ends the wait (it closes the socket).
template <class Stream>
net::awaitable<boost::system::error_code> read_first_byte(Stream& stream, beast::flat_buffer& buffer,
                                                          connection_group& group)
{
    auto& socket = beast::get_lowest_layer(stream).socket();
    const auto hook = group.on_stop([&socket] {
        boost::system::error_code ignored;
        socket.close(ignored);
    });
    const auto space = buffer.prepare(4096);
    auto [ec, n] = co_await stream.async_read_some(space, use_tuple);
    buffer.commit(n);
    co_return ec;
}
} // namespace

http_server::http_server(app& a)
    : app_(a), acceptor_(a.io),
      per_address_(std::make_shared<connection_limiter>(a.config.max_connections_per_address))
{
}

void http_server::set_tls(std::shared_ptr<ssl::context> context) { tls_ = std::move(context); }

http_server::~http_server() = default;

boost::system::result<tcp::endpoint> http_server::listen(const std::string& host, const std::string& port)
{
    boost::system::error_code ec;
    tcp::resolver resolver(app_.io);
    auto results = resolver.resolve(host, port, tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec)
        return ec;
    const tcp::endpoint ep = results.begin()->endpoint();
    acceptor_.open(ep.protocol(), ec);
    if (ec)
        return ec;
    acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    acceptor_.bind(ep, ec);
    if (ec)
        return ec;
    acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
        return ec;
    return acceptor_.local_endpoint();
}

void http_server::start() { net::co_spawn(app_.io, accept_loop(), net::detached); }

void http_server::stop()
{
    boost::system::error_code ignored;
    acceptor_.close(ignored);
}

net::awaitable<void> http_server::accept_loop()
{
    for (;;) {
        auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
        if (ec) {
            if (ec == net::error::operation_aborted || !acceptor_.is_open())
                co_return;
            // Out of descriptors (EMFILE/ENFILE) or memory: the pending connection stays in the
            // backlog, so retrying at once would spin. Keep serving the connections we have, pause
            // accepting for a moment, and log once per episode.
            if (!accept_failing_)
                log::error("accept failed: {}; pausing new connections (raise LimitNOFILE / ulimit -n?)",
                           ec.message());
            accept_failing_ = true;
            net::steady_timer pause(app_.io, std::chrono::milliseconds(200));
            co_await pause.async_wait(use_tuple);
            continue;
        }
        if (accept_failing_) {
            log::notice("accepting connections again");
            accept_failing_ = false;
        }
        boost::system::error_code pec;
        const auto peer_ep = socket.remote_endpoint(pec);
        const std::string address = pec ? std::string("?") : peer_ep.address().to_string();
        if (!per_address_->try_open(address)) {
            // Closed at once, before any byte is read: a flood from one address costs an accept.
            if (auto unlogged = per_address_->refusal_to_log(address, limit_clock::now()))
                log::warn("refusing connections from {}: {} already open (max_connections_per_address); "
                          "{} more refused since the last such line",
                          address, app_.config.max_connections_per_address, *unlogged);
            socket.close(pec);
            continue;
        }
        connection_slot slot(per_address_, address);
        if (!app_.connections.spawn(serve(std::move(socket), std::move(slot))))
            co_return; // stopping

    }
}

net::awaitable<void> http_server::serve(tcp::socket socket, connection_slot slot)
{
    (void)slot; // held until the connection ends
    boost::system::error_code ec;
    const auto peer_ep = socket.remote_endpoint(ec);
    const std::string peer = ec ? std::string("?") : peer_ep.address().to_string();
    if (!tls_) {
        beast::tcp_stream stream(std::move(socket));
        const std::shared_ptr<ssl::context> no_tls;
        co_await serve_http(stream, peer, no_tls);
        co_return;
    }
    // This connection's context, held until the connection ends: set_tls() (a certificate
    // reload) changes what new connections get and drops nothing.
    const std::shared_ptr<ssl::context> ctx = tls_;
    tls_stream stream(std::move(socket), *ctx);
    auto [hec] = co_await handshake(stream, app_.connections);
    if (hec) {
        log_tls_handshake_failure(peer, hec);
        if (plain_http_on_tls_port(hec)) {
            // Say so in HTTP, which the client speaks: curl and browsers show the reason, and a
            // ws:// agent reports a declined handshake instead of a bare disconnect.
            auto& tcp_layer = beast::get_lowest_layer(stream);
            tcp_layer.expires_after(std::chrono::seconds(5));
            auto [wec, wn] = co_await net::async_write(tcp_layer, net::buffer(tls_port_refusal), use_tuple);
            (void)wec;
            (void)wn;
            tcp_layer.socket().shutdown(tcp::socket::shutdown_both, ec);
        }
        co_return;
    }
    co_await serve_http(stream, peer, ctx);
}

template <class Stream>
net::awaitable<void> http_server::serve_http(Stream& stream, const std::string& peer,
                                             const std::shared_ptr<ssl::context>& tls)
{
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(header_limit);
        parser.body_limit(app_.config.max_body_bytes);
        // Wait for the first byte of the next request as an idle keep-alive connection.
        if (app_.connections.stopping())
            co_return;
        beast::get_lowest_layer(stream).expires_after(keep_alive_idle);
        boost::system::error_code hec;
        if (buffer.size() == 0) {
            auto hec_first = co_await read_first_byte(stream, buffer, app_.connections);
            hec = hec_first;
        }
        // The request has begun: headers and body each get a deadline from its first byte.
        const auto first_byte = std::chrono::steady_clock::now();
        if (!hec) {
            beast::get_lowest_layer(stream).expires_at(first_byte + header_deadline);
            auto [rec, rn] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
            (void)rn;
            hec = rec;
        }
        if (!hec) {
            beast::get_lowest_layer(stream).expires_at(first_byte + request_deadline);
            auto [rec, rn] = co_await http::async_read(stream, buffer, parser, use_tuple);
            (void)rn;
            hec = rec;
        }
        if (hec) {
            if (hec == http::error::end_of_stream || hec == beast::error::timeout || hec == net::error::operation_aborted
                || hec == net::error::eof || hec == net::error::connection_reset || hec == ssl::error::stream_truncated
                || app_.connections.stopping())
                co_return;
            const bool too_big = hec == http::error::body_limit || hec == http::error::header_limit;
            http_request dummy;
            dummy.version(11);
            dummy.keep_alive(false);
            auto res = error_response(dummy, too_big ? http::status::payload_too_large : http::status::bad_request,
                                      too_big ? "request too large" : "malformed request: " + hec.message());
            add_transport_headers<Stream>(res);
            beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
            co_await http::async_write(stream, res, use_tuple);
            co_await finish(stream);
            co_return;
        }
        http_request req = parser.release();
        // Everything about the route comes from its row in the route table (routes.cpp).
        const route_found found = lookup_route(req.target(), req.method());
        const route* row = found.row;
        const bool upgrade = beast::websocket::is_upgrade(req);

        if (upgrade && row && row->socket) {
            const ws_server_options options = ws_options_for(*row);
            auto conn = co_await upgrade_to_websocket(stream, req, options, tls);
            if (!conn) {
                log::info("WebSocket upgrade from {} failed: {}", peer, conn.error().message());
                co_return;
            }
            std::unique_ptr<ws_connection> accepted = std::move(*conn);
            const socket_handler start = row->socket;
            co_await start(app_, std::move(accepted), found.params);
            co_return;
        }

        http_response res;
        if (found.allowed == 0) {
            res = error_response(req, http::status::not_found, "no such route");
        } else if (!row) {
            res = error_response(req, http::status::method_not_allowed, "method not allowed");
            res.set(http::field::allow, allow_header(found.allowed));
        } else if (row->socket) {
            res = error_response(req, http::status::bad_request, "this route needs a WebSocket upgrade");
        } else if (app_.connections.stopping()) {
            res = error_response(req, http::status::service_unavailable, "shutting down");
            res.keep_alive(false);
        } else {
            res = co_await serve_rest(app_, req, found, peer);
        }
        add_transport_headers<Stream>(res);
        beast::get_lowest_layer(stream).expires_after(request_deadline);
        auto [wec, wn] = co_await http::async_write(stream, res, use_tuple);
        (void)wn;
        if (wec || !res.keep_alive()) {
            if (!wec)
                co_await finish(stream);
            co_return;
        }
    }
}

} // namespace corvid::collector
