// Fuzz target: the collector's HTTP request decoding (collector/http/router.hpp, json_body.hpp).
// The input is used whole as a request target, matched against patterns of every parameter kind
// the route table uses, and as a request body; when it holds a newline, the part before it is
// also tried as a pattern for the part after (the matcher takes any pattern). Invariants: a
// captured parameter obeys its rule ({id} and {command_id} uuids, {username} a user name,
// {name} an asset name); a path that fits no row has an empty Allow; parse_query keeps its
// 32-parameter bound; parse_int agrees with itself on its own output.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "collector/http/json_body.hpp"
#include "collector/http/router.hpp"
#include "collector/names.hpp"
#include "common/random.hpp"
#include "fuzz/fuzz_check.hpp"

namespace http = corvid::collector;

namespace {
struct row {
    std::string_view pattern;
    http::http_method method;
};
// The shapes of the route table's patterns (collector/http/routes.cpp), each parameter kind.
const row patterns[] = {
    {"/", http::http_method::get},
    {"/assets/{name}", http::http_method::get},
    {"/api/v1/servers", http::http_method::get},
    {"/api/v1/servers", http::http_method::post},
    {"/api/v1/servers/{id}/logs", http::http_method::get},
    {"/ws/metrics/{id}", http::http_method::get},
    {"/api/v1/users/{username}", http::http_method::patch},
    {"/api/v1/commands/{command_id}", http::http_method::get},
    {"/api/v1/ws/commands/{command_id}", http::http_method::get},
};

void check_lookup(const http::route_lookup<row>& found)
{
    const auto& p = found.params;
    if (!p.server_id.empty())
        FUZZ_CHECK(corvid::is_uuid(p.server_id));
    if (!p.command_id.empty())
        FUZZ_CHECK(corvid::is_uuid(p.command_id));
    if (!p.username.empty())
        FUZZ_CHECK(!corvid::collector::check_user_name(p.username));
    if (!p.asset.empty())
        FUZZ_CHECK(http::is_asset_name(p.asset));
    FUZZ_CHECK(found.row == nullptr || found.allowed != 0);
    FUZZ_CHECK(http::allow_header(found.allowed).empty() == (found.allowed == 0));
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    check_lookup(http::find_route(std::span<const row>(patterns), text, http::http_method::get));
    if (const auto newline = text.find('\n'); newline != std::string_view::npos) {
        const row mine[] = {{text.substr(0, newline), http::http_method::post}};
        check_lookup(http::find_route(std::span<const row>(mine), text.substr(newline + 1), std::nullopt));
    }

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
