#pragma once
// The REST API described for its users: collector/http/openapi.json (OpenAPI 3.1), compiled into
// the binary by cmake/embed_files.cmake and served at GET /api/v1/openapi.json without a token.
// tests/collector/openapi_test.cpp keeps it and the route table (routes.cpp) in step.
// io thread only for the handler; openapi_document() on any thread.
#include <span>
#include <string_view>

#include "collector/http/embedded_file.hpp"
#include "collector/http/rest_api.hpp"

namespace corvid::collector {

std::string_view openapi_document();

net::awaitable<http_response> get_openapi(rest_call& c); // GET /api/v1/openapi.json

namespace detail {
// Defined in the generated openapi_data.cpp.
std::span<const embedded_file> embedded_openapi_files();
} // namespace detail

} // namespace corvid::collector
