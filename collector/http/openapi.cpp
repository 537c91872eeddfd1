#include "collector/http/openapi.hpp"

#include <boost/beast/http/status.hpp>

namespace corvid::collector {

std::string_view openapi_document()
{
    // embed_files.cmake is given exactly one file here: openapi.json.
    return detail::embedded_openapi_files().front().bytes;
}

net::awaitable<http_response> get_openapi(rest_call& c)
{
    std::string body(openapi_document());
    co_return json_response(c.req, boost::beast::http::status::ok, std::move(body));
}

} // namespace corvid::collector
