// The server side of ws_connection: upgrading an accepted HTTP request (see ws_accept.hpp).
#include "common/ws_accept.hpp"

#include "common/ws_stream_impl.hpp"

namespace corvid {
using namespace ws_detail;

net::awaitable<boost::system::result<std::unique_ptr<ws_connection>>>
ws_accept(beast::tcp_stream stream, const beast::http::request<beast::http::string_body>& request,
          const ws_server_options& options)
{
    stream.expires_never();
    plain_ws ws(std::move(stream));
    configure(ws, options.timeouts, options.max_message_bytes, {});
    ws.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(beast::http::field::server, "corvid-collector"); }));
    auto [ec] = co_await ws.async_accept(request, use_tuple_);
    if (ec)
        co_return ec;
    co_return std::make_unique<ws_connection_impl<plain_ws>>(std::move(ws));
}

} // namespace corvid
