// Fuzz target: the collector's HTTP request decoding (collector/http/router.hpp, json_body.hpp).
// The input is used whole as a request target and as a request body. Invariants: a route with an
// {id} carries a non-empty id, an asset route a name is_asset_name accepts; parse_query keeps its
// 32-parameter bound; parse_int agrees with itself on its own output.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "collector/http/json_body.hpp"
#include "collector/http/router.hpp"
#include "fuzz/fuzz_check.hpp"

namespace http = corvid::collector;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    const http::route_match m = http::match_route(text);
    using id = http::route_id;
    switch (m.id) {
    case id::server: case id::server_api_key: case id::server_metrics: case id::metrics_ws: case id::logs_ws:
    case id::server_commands: case id::server_docker: case id::server_containers:
        FUZZ_CHECK(!m.server_id.empty());
        break;
    case id::command: case id::command_ws:
        FUZZ_CHECK(!m.command_id.empty());
        break;
    case id::web_asset:
        FUZZ_CHECK(http::is_asset_name(m.asset));
        break;
    default:
        break;
    }
    (void)http::allowed_methods(m.id);

    if (auto q = http::parse_query(text)) {
        FUZZ_CHECK(q->size() <= 32);
        for (const auto& [name, value] : *q)
            FUZZ_CHECK(name.size() + value.size() <= text.size());
    }

    if (auto n = http::parse_int(text)) {
        const std::string printed = std::to_string(*n);
        auto again = http::parse_int(printed);
        FUZZ_CHECK(again && *again == *n);
    }

    if (auto body = http::read_string_fields(text, {"username", "password"})) {
        FUZZ_CHECK(body->count("username") == 1 && body->count("password") == 1);
    } else {
        FUZZ_CHECK(!body.error().message.empty());
    }
    (void)http::read_string_fields(text, {"name"});
    if (auto v = http::read_optional_integer_field(text, "limit", 1, 1000); v && *v)
        FUZZ_CHECK(**v >= 1 && **v <= 1000);
    return 0;
}
