#pragma once
// Private to common/: the Beast WebSocket types behind ws_connection, shared by the client side
// (ws_connection.cpp) and the server side (ws_accept.cpp). Kept in two translation units so a
// binary that only dials (the agent) does not carry the server handshake.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "common/ws_connection.hpp"

namespace corvid::ws_detail {
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using boost::system::error_code;
inline constexpr auto use_tuple_ = net::as_tuple(net::use_awaitable);

inline websocket::stream_base::timeout timeouts_for(const ws_timeouts& t)
{
    websocket::stream_base::timeout out{};
    out.handshake_timeout = t.handshake;
    out.idle_timeout = t.idle;
    out.keep_alive_pings = true;
    return out;
}

template <class Stream> class ws_connection_impl final : public ws_connection {
public:
    // `keep_alive` holds what the stream refers to and must outlive it (the TLS context).
    explicit ws_connection_impl(Stream ws, std::shared_ptr<void> keep_alive = {})
        : ws_(std::move(ws)), keep_alive_(std::move(keep_alive))
    {
        const auto& sock = beast::get_lowest_layer(ws_).socket();
        error_code ec;
        const auto ep = sock.remote_endpoint(ec);
        if (!ec)
            remote_ = ep.address().to_string();
    }

    net::awaitable<ws_read_result> read() override
    {
        beast::flat_buffer buffer;
        auto [ec, n] = co_await ws_.async_read(buffer, use_tuple_);
        (void)n;
        if (ec)
            co_return ws_read_result{ec, {}};
        if (!ws_.got_text())
            co_return ws_read_result{make_error_code(ws_errc::binary_frame), {}};
        co_return ws_read_result{{}, beast::buffers_to_string(buffer.data())};
    }

    net::awaitable<error_code> write(std::string_view text) override
    {
        ws_.text(true);
        auto [ec, n] = co_await ws_.async_write(net::buffer(text.data(), text.size()), use_tuple_);
        (void)n;
        co_return ec;
    }

    net::awaitable<void> close(std::uint16_t code, std::string_view reason) override
    {
        if (!ws_.is_open())
            co_return;
        // Beast bounds the close handshake by the handshake timeout set on the stream.
        websocket::close_reason cr(static_cast<websocket::close_code>(code), reason);
        co_await ws_.async_close(cr, use_tuple_);
        abort();
    }

    void abort() override
    {
        error_code ignored;
        beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
        beast::get_lowest_layer(ws_).socket().close(ignored);
    }

    bool is_open() const override { return ws_.is_open(); }
    std::string remote_address() const override { return remote_; }

private:
    Stream ws_;
    std::shared_ptr<void> keep_alive_;
    std::string remote_;
};

using plain_ws = websocket::stream<beast::tcp_stream>;
using tls_ws = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

template <class Stream> void configure(Stream& ws, const ws_timeouts& t, std::size_t max_bytes, std::string_view agent)
{
    ws.set_option(timeouts_for(t));
    ws.read_message_max(max_bytes);
    ws.auto_fragment(false);
    if (!agent.empty()) {
        const std::string ua(agent);
        ws.set_option(websocket::stream_base::decorator(
            [ua](websocket::request_type& req) { req.set(beast::http::field::user_agent, ua); }));
    }
}

} // namespace corvid::ws_detail
