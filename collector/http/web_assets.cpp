#include "collector/http/web_assets.hpp"

#include <boost/beast/http/field.hpp>

namespace corvid::collector {
namespace http = boost::beast::http;

namespace {
// Everything the UI needs comes from the collector itself: no inline script or style, no other
// origin, and no framing (clickjacking).
constexpr std::string_view content_security_policy =
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'";

std::string_view content_type_for(std::string_view name)
{
    struct entry {
        std::string_view suffix, type;
    };
    static constexpr entry types[] = {
        {".html", "text/html; charset=utf-8"},  {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},    {".svg", "image/svg+xml"},
        {".png", "image/png"},                  {".ico", "image/x-icon"},
        {".json", "application/json"},          {".txt", "text/plain; charset=utf-8"},
    };
    for (const auto& t : types)
        if (name.ends_with(t.suffix))
            return t.type;
    return "application/octet-stream";
}
} // namespace

std::optional<web_asset> find_web_asset(std::string_view path)
{
    if (path.starts_with('/'))
        path.remove_prefix(1);
    for (const auto& f : detail::embedded_web_files())
        if (f.name == path)
            return web_asset{f.bytes, content_type_for(f.name)};
    return std::nullopt;
}

http_response web_asset_response(const http_request& req, std::string_view name)
{
    const auto asset = find_web_asset(name);
    if (!asset)
        return error_response(req, http::status::not_found, "no such file");
    http_response res{http::status::ok, req.version()};
    res.set(http::field::server, "corvid-collector");
    res.set(http::field::content_type, asset->content_type);
    // Revalidate on every load: the files change with the collector binary, and they are small.
    res.set(http::field::cache_control, "no-cache");
    res.set("Content-Security-Policy", content_security_policy);
    res.set("X-Content-Type-Options", "nosniff");
    res.set("Referrer-Policy", "no-referrer");
    res.keep_alive(req.keep_alive());
    res.body().assign(asset->content);
    res.prepare_payload();
    return res;
}

// No token: the files hold no data, the API they call does (their rows are public).
net::awaitable<http_response> get_web_index(rest_call& c) { co_return web_asset_response(c.req, "index.html"); }

net::awaitable<http_response> get_web_asset(rest_call& c) { co_return web_asset_response(c.req, c.path.asset); }

} // namespace corvid::collector
