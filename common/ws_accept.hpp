#pragma once
// Server side of ws_connection: upgrades an HTTP connection whose request asked for a WebSocket.
// Only the collector's HTTP session includes this (it already holds Beast HTTP types).
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "common/ws_connection.hpp"

namespace corvid {

struct ws_server_options {
    ws_timeouts timeouts;
    std::size_t max_message_bytes = 1 << 20;
};

// Sends the 101 response and returns the connection; on failure the stream is closed.
net::awaitable<boost::system::result<std::unique_ptr<ws_connection>>>
ws_accept(boost::beast::tcp_stream stream, const boost::beast::http::request<boost::beast::http::string_body>& request,
          const ws_server_options& options);

} // namespace corvid
