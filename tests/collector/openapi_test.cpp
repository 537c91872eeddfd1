#include "collector/http/openapi.hpp"

#include <algorithm>
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <functional>
#include <map>
#include <set>
#include <simdjson.h>
#include <string>

#include "collector/http/command_api.hpp"
#include "collector/http/routes.hpp"
#include "collector/http/user_api.hpp"

using namespace corvid::collector;

namespace {
// The document, parsed once; simdjson elements point into the parser.
simdjson::dom::element document()
{
    static simdjson::dom::parser parser;
    static const simdjson::padded_string text(openapi_document());
    static const simdjson::dom::element root = parser.parse(text).value();
    return root;
}

std::string lower(std::string_view s)
{
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string upper(std::string_view s)
{
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return out;
}

// "GET /api/v1/servers" → the role the row or the operation names.
using operations = std::map<std::string, std::string>;

operations table_operations(bool sockets)
{
    operations out;
    for (const auto& r : route_table())
        if ((r.socket != nullptr) == sockets)
            out.emplace(fmt::format("{} {}", method_name(r.method), r.pattern), std::string(access_name(r.min)));
    return out;
}

// Each operation in both, with the same role; failures name the operation.
void check_same(const operations& documented, const operations& table)
{
    for (const auto& [op, role] : table) {
        CAPTURE(op);
        const auto it = documented.find(op);
        CHECK_MESSAGE(it != documented.end(), "a route table row missing from openapi.json");
        if (it != documented.end())
            CHECK(it->second == role);
    }
    for (const auto& [op, role] : documented)
        CHECK_MESSAGE(table.count(op) == 1, op, " is in openapi.json but no route table row");
}

void collect_refs(simdjson::dom::element e, std::set<std::string>& out)
{
    if (simdjson::dom::object o; !e.get_object().get(o)) {
        for (auto [key, value] : o) {
            std::string_view ref;
            if (key == "$ref" && !value.get_string().get(ref))
                out.emplace(ref);
            else
                collect_refs(value, out);
        }
    } else if (simdjson::dom::array a; !e.get_array().get(a)) {
        for (auto value : a)
            collect_refs(value, out);
    }
}
} // namespace

TEST_SUITE("collector.openapi")
{
    TEST_CASE("openapi: the document is OpenAPI 3.1 and every $ref resolves")
    {
        CHECK(std::string_view(document()["openapi"].get_string().value()) == "3.1.0");
        CHECK(document()["components"]["securitySchemes"]["bearer"]["scheme"].get_string().value() == "bearer");
        std::set<std::string> refs;
        collect_refs(document(), refs);
        CHECK(!refs.empty());
        for (const auto& ref : refs) {
            CAPTURE(ref);
            REQUIRE(ref.starts_with("#/components/"));
            const auto rest = ref.substr(13);
            const auto slash = rest.find('/');
            simdjson::dom::element target;
            CHECK_FALSE(document()["components"][rest.substr(0, slash)][rest.substr(slash + 1)].get(target));
        }
    }

    TEST_CASE("openapi: every route table row is in the document with its methods and role, and only those")
    {
        operations documented;
        simdjson::dom::object paths = document()["paths"].get_object().value();
        for (auto [path, item] : paths) {
            simdjson::dom::object methods = item.get_object().value();
            for (auto [key, op] : methods) {
                if (key == "parameters" || key == "summary" || key == "description")
                    continue;
                CAPTURE(path);
                CAPTURE(key);
                CHECK(lower(key) == std::string(key)); // OpenAPI's method keys are lower case
                std::string_view role;
                CHECK_FALSE(op["x-corvid-role"].get_string().get(role));
                documented.emplace(fmt::format("{} {}", upper(key), path), std::string(role));
                // Public operations ask for no token; all others for the bearer token.
                simdjson::dom::array security = op["security"].get_array().value();
                CHECK((role == "public") == (security.size() == 0));
            }
        }
        check_same(documented, table_operations(false));

        operations sockets;
        simdjson::dom::array listed = document()["x-corvid-websockets"].get_array().value();
        for (auto s : listed)
            sockets.emplace(fmt::format("GET {}", std::string_view(s["path"].get_string().value())),
                            std::string(s["x-corvid-role"].get_string().value()));
        check_same(sockets, table_operations(true));
    }

    TEST_CASE("openapi: every example request body decodes with its handler's decoder")
    {
        // The decoders the handlers call on their bodies; a route with a body must be here.
        const std::map<std::string, std::function<std::string(std::string_view)>> decoders = {
            {"POST /api/v1/auth/login", [](auto b) { auto r = read_login_body(b); return r ? "" : r.error().message; }},
            {"POST /api/v1/users", [](auto b) { auto r = read_new_user_body(b); return r ? "" : r.error().message; }},
            {"PATCH /api/v1/users/{username}",
             [](auto b) { auto r = read_user_patch_body(b); return r ? "" : r.error().message; }},
            {"POST /api/v1/servers", [](auto b) { auto r = read_new_server_body(b); return r ? "" : r.error().message; }},
            {"POST /api/v1/servers/{id}/commands",
             [](auto b) { auto r = read_shell_command_body(b); return r ? "" : r.error().message; }},
            {"POST /api/v1/servers/{id}/docker",
             [](auto b) { auto r = read_docker_body(b); return r ? "" : r.error().message; }},
        };
        std::set<std::string> seen;
        simdjson::dom::object paths = document()["paths"].get_object().value();
        for (auto [path, item] : paths) {
            simdjson::dom::object methods = item.get_object().value();
            for (auto [key, op] : methods) {
                simdjson::dom::element body;
                if (key == "parameters" || op["requestBody"].get(body))
                    continue;
                const auto name = fmt::format("{} {}", upper(key), path);
                CAPTURE(name);
                simdjson::dom::element example;
                REQUIRE_FALSE(body["content"]["application/json"]["example"].get(example));
                const auto decoder = decoders.find(name);
                REQUIRE_MESSAGE(decoder != decoders.end(), "no decoder for this body in the test");
                CHECK(decoder->second(simdjson::to_string(example)) == "");
                seen.insert(name);
            }
        }
        CHECK(seen.size() == decoders.size()); // each decoder's route documents its body
    }
}
