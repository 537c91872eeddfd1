// The server side of ws_connection: upgrading an accepted HTTP request (see ws_accept.hpp).
#include "common/ws_accept.hpp"

#include "common/ws_stream_impl.hpp"

namespace corvid {
using namespace ws_detail;

namespace {
template <class Ws>
net::awaitable<boost::system::result<std::unique_ptr<ws_connection>>>
accept_upgrade(Ws& ws, const ws_http_request& request, const ws_server_options& options,
               const std::shared_ptr<void>& keep_alive)
{
    configure(ws, options.timeouts, options.max_message_bytes, {});
    ws.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(beast::http::field::server, "corvid-collector"); }));
    auto [ec] = co_await ws.async_accept(request, use_tuple_);
    if (ec)
        co_return ec;
    co_return std::make_unique<ws_connection_impl<Ws>>(std::move(ws), keep_alive);
}
} // namespace

net::awaitable<boost::system::result<std::unique_ptr<ws_connection>>>
ws_accept(beast::tcp_stream&& stream, const ws_http_request& request, const ws_server_options& options)
{
    stream.expires_never();
    plain_ws ws(std::move(stream));
    const std::shared_ptr<void> nothing;
    auto result = co_await accept_upgrade(ws, request, options, nothing);
    co_return std::move(result);
}

net::awaitable<boost::system::result<std::unique_ptr<ws_connection>>>
ws_accept(beast::ssl_stream<beast::tcp_stream>&& stream, const ws_http_request& request,
          const ws_server_options& options, const std::shared_ptr<net::ssl::context>& tls_context)
{
    beast::get_lowest_layer(stream).expires_never();
    tls_ws ws(std::move(stream));
    const std::shared_ptr<void> keep_alive = tls_context;
    auto result = co_await accept_upgrade(ws, request, options, keep_alive);
    co_return std::move(result);
}

} // namespace corvid
