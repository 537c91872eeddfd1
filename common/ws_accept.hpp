#pragma once
// Server side of ws_connection: upgrades an HTTP connection whose request asked for a WebSocket,
// over plain TCP or over an established TLS stream. Only the collector's HTTP session includes
// this (it already holds Beast HTTP types).
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "common/ws_connection.hpp"

namespace corvid {

struct ws_server_options {
    ws_timeouts timeouts;
    std::size_t max_message_bytes = 1 << 20;
};

using ws_http_request = boost::beast::http::request<boost::beast::http::string_body>;

// Sends the 101 response and returns the connection; on failure the stream is closed. The stream
// is moved from at once. (References, not by-value parameters: g++ 12 may destroy a by-value
// coroutine argument twice, see README.)
net::awaitable<boost::system::result<std::unique_ptr<ws_connection>>>
ws_accept(boost::beast::tcp_stream&& stream, const ws_http_request& request, const ws_server_options& options);

// The same over TLS (the handshake is done). `tls_context` is what the stream was made with; the
// connection holds it until it ends, so the server may replace its context meanwhile.
net::awaitable<boost::system::result<std::unique_ptr<ws_connection>>>
ws_accept(boost::beast::ssl_stream<boost::beast::tcp_stream>&& stream, const ws_http_request& request,
          const ws_server_options& options, const std::shared_ptr<boost::asio::ssl::context>& tls_context);

} // namespace corvid
