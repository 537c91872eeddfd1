#include "collector/names.hpp"

#include <doctest/doctest.h>
#include <string>

using corvid::collector::check_server_name;
using corvid::collector::check_user_name;
using corvid::collector::server_created_json;

namespace {
std::string repeat(std::string_view s, int n)
{
    std::string out;
    for (int i = 0; i < n; ++i)
        out += s;
    return out;
}

const std::string bad_server_name = "server name must be 1 to 128 printable UTF-8 characters";
} // namespace

TEST_SUITE("collector.names")
{
    TEST_CASE("check_server_name: printable UTF-8 names are accepted")
    {
        for (const std::string name : {"db-1", "web 01 — Zürich", "a", "x y", "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80",
                                       "nb\xC2\xA0sp" /* U+00A0, the first code point after C1 */}) {
            CAPTURE(name);
            CHECK_FALSE(check_server_name(name));
        }
    }

    TEST_CASE("check_server_name: the limit is 128 characters, not bytes")
    {
        CHECK_FALSE(check_server_name(std::string(128, 'x')));
        CHECK(check_server_name(std::string(129, 'x')) == bad_server_name);
        CHECK_FALSE(check_server_name(repeat("é", 128)));               // 256 bytes
        CHECK_FALSE(check_server_name(repeat("\xE2\x82\xAC", 128)));     // 384 bytes
        CHECK_FALSE(check_server_name(repeat("\xF0\x9F\x98\x80", 128))); // 512 bytes
        CHECK(check_server_name(repeat("é", 129)) == bad_server_name);
        CHECK(check_server_name(repeat("é", 127) + "ab") == bad_server_name);
        CHECK(check_server_name("") == bad_server_name);
    }

    TEST_CASE("check_server_name: control characters are refused (C0, DEL, C1)")
    {
        for (const std::string_view name :
             {std::string_view("a\0b", 3), std::string_view("a\tb"), std::string_view("a\nb"),
              std::string_view("a\rb"), std::string_view("a\x1f"), std::string_view("a\x7f"),
              std::string_view("a\xC2\x80"), std::string_view("a\xC2\x85"), std::string_view("a\xC2\x9F")}) {
            CAPTURE(name);
            CHECK(check_server_name(name) == bad_server_name);
        }
    }

    TEST_CASE("check_server_name: ill-formed UTF-8 is refused")
    {
        for (const std::string_view name : {
                 "a\xFF",             // never a UTF-8 byte
                 "a\x80",             // a continuation byte alone
                 "a\xC0\xAF",         // overlong '/'
                 "a\xE0\x80\xAF",     // overlong, three bytes
                 "a\xED\xA0\x80",     // a surrogate (U+D800)
                 "a\xF4\x90\x80\x80", // above U+10FFFF
                 "a\xE2\x82",         // truncated at the end
                 "a\xE2\x82z",        // truncated before another character
             }) {
            CAPTURE(name);
            CHECK(check_server_name(name) == bad_server_name);
        }
    }

    TEST_CASE("check_server_name: no space at either end")
    {
        CHECK(check_server_name(" web") == "server name must not start or end with a space");
        CHECK(check_server_name("web ") == "server name must not start or end with a space");
        CHECK(check_server_name(" ") == "server name must not start or end with a space");
        CHECK_FALSE(check_server_name("w e b"));
    }

    TEST_CASE("check_user_name: 1 to 64 of letters, digits, '.', '_' and '-'")
    {
        CHECK_FALSE(check_user_name("alice.b-1_x"));
        CHECK_FALSE(check_user_name(std::string(64, 'a')));
        CHECK(check_user_name(std::string(65, 'a')) == "a user name has 1 to 64 characters");
        CHECK(check_user_name("") == "a user name has 1 to 64 characters");
        for (const char* name : {"al ice", "alice@x", "élise", "a/b", "a\tb"}) {
            CAPTURE(name);
            CHECK(check_user_name(name) ==
                  "user name \"" + std::string(name) + "\" may hold only letters, digits, '.', '_' and '-'");
        }
    }

    TEST_CASE("server_created_json: id, name and key, as JSON strings")
    {
        CHECK(server_created_json("5f0c", "db-1", "cvd_abc", "cHVi")
              == R"({"id":"5f0c","name":"db-1","api_key":"cvd_abc","collector_public_key":"cHVi"})");
        CHECK(server_created_json("1", "a \"b\" Zürich", "k", "p")
              == R"({"id":"1","name":"a \"b\" Zürich","api_key":"k","collector_public_key":"p"})");
    }
}
