#pragma once
// The operator web UI (collector/web/), compiled into the binary by cmake/embed_files.cmake, and
// the HTTP responses that serve it: GET / is index.html, GET /assets/{name} any file of the UI.
// Static files need no token (they hold no data); everything they fetch goes through the API,
// which does. Pure functions over constant data: any thread.
#include <optional>
#include <span>
#include <string_view>

#include "collector/http/rest_api.hpp"
#include "collector/http/embedded_file.hpp"

namespace corvid::collector {

struct web_asset {
    std::string_view content;
    std::string_view content_type; // with "; charset=utf-8" for text
};

// `path` is a file name of collector/web ("index.html", "app.js"); a leading '/' is ignored.
// nullopt for anything else: names are looked up, never joined to a directory.
std::optional<web_asset> find_web_asset(std::string_view path);

// The response for the web UI's file `name` ("index.html"): the file with its Content-Type,
// `Cache-Control: no-cache` and the security headers (a strict Content-Security-Policy, nosniff,
// no referrer), or a 404 JSON error like every other route's.
http_response web_asset_response(const http_request& req, std::string_view name);

// The route table's handlers: GET / (index.html) and GET /assets/{name}.
net::awaitable<http_response> get_web_index(rest_call& c);
net::awaitable<http_response> get_web_asset(rest_call& c);

namespace detail {
// Defined in the generated web_assets_data.cpp.
std::span<const embedded_file> embedded_web_files();
} // namespace detail

} // namespace corvid::collector
