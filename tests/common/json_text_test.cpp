#include "common/json_text.hpp"

#include <doctest/doctest.h>
#include <limits>

using corvid::json_string;

TEST_SUITE("common.json_text")
{
    TEST_CASE("json_string: escapes quotes, backslash and control characters")
    {
        CHECK(json_string("a\"b\\c") == R"("a\"b\\c")");
        CHECK(json_string("line\nnext\ttab\r") == R"("line\nnext\ttab\r")");
        CHECK(json_string(std::string_view("\x01\x1f\x7f", 3)) == R"("\u0001\u001f\u007f")");
        CHECK(json_string(std::string_view("nul\0x", 5)) == R"("nul\u0000x")");
    }

    TEST_CASE("json_string: keeps well-formed UTF-8 as it is")
    {
        CHECK(json_string("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80") == "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");
    }

    TEST_CASE("json_string: replaces each ill-formed byte with U+FFFD")
    {
        const std::string fffd = "\xEF\xBF\xBD";
        CHECK(json_string("a\xFF" "b") == "\"a" + fffd + "b\"");
        CHECK(json_string("\xC3") == "\"" + fffd + "\"");                   // truncated sequence
        CHECK(json_string("\xC0\xAF") == "\"" + fffd + fffd + "\"");        // overlong '/'
        CHECK(json_string("\xED\xA0\x80") == "\"" + fffd + fffd + fffd + "\""); // UTF-16 surrogate
        CHECK(json_string("\xF4\x90\x80\x80") == "\"" + fffd + fffd + fffd + fffd + "\""); // > U+10FFFF
    }

    TEST_CASE("make_valid_utf8: same replacement without quoting")
    {
        CHECK(corvid::make_valid_utf8("ok\x80") == "ok\xEF\xBF\xBD");
        CHECK(corvid::make_valid_utf8("plain") == "plain");
    }

    TEST_CASE("append_json_number: shortest round trip, non-finite as 0")
    {
        std::string s;
        corvid::append_json_number(s, 12.5);
        s += ',';
        corvid::append_json_number(s, 0.1);
        s += ',';
        corvid::append_json_number(s, std::numeric_limits<double>::quiet_NaN());
        CHECK(s == "12.5,0.1,0");
    }
}
