#include "agent/logs/positions.hpp"

#include <doctest/doctest.h>
#include <string>

using corvid::agent::logs::decode_positions;
using corvid::agent::logs::encode_positions;
using corvid::agent::logs::positions;

TEST_SUITE("logs.positions")
{
    TEST_CASE("logs positions: encode then decode gives the same positions")
    {
        positions p;
        p.patterns = {"/var/log/nginx/*.log", "/srv/app/\"quoted\".log"};
        p.files.push_back({"/var/log/nginx/error.log", {2049, 1234}, 5678, false, 1024, 0xDEADBEEF});
        p.files.push_back({"/var/log/nginx/access.log", {2049, 18446744073709551615ull}, 0, true, 0, 0});
        p.journal_cursor = "s=abc;i=1;b=def;m=3e8;t=1;x=2";
        const auto text = encode_positions(p);
        auto back = decode_positions(text);
        REQUIRE(back.has_value());
        CHECK(*back == p);

        positions empty;
        back = decode_positions(encode_positions(empty));
        REQUIRE(back.has_value());
        CHECK(*back == empty);
        CHECK(encode_positions(empty) == R"({"version":1,"patterns":[],"files":[],"journal":null})");
    }

    TEST_CASE("logs positions: what is not a snapshot is refused with the reason")
    {
        auto r = decode_positions("");
        REQUIRE_FALSE(r.has_value());
        r = decode_positions("[1]");
        REQUIRE_FALSE(r.has_value());
        r = decode_positions(R"({"version":2,"patterns":[],"files":[]})");
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().find("version") != std::string::npos);
        r = decode_positions(R"({"version":1,"patterns":[],"files":[{"path":"/a","dev":1,"ino":2,"offset":-1}]})");
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().find("files[0].offset") != std::string::npos);
        r = decode_positions(R"({"version":1,"patterns":[],"files":[{"path":"/a","dev":1,"offset":0}]})");
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().find("files[0].ino") != std::string::npos);
        r = decode_positions(R"({"version":1,"patterns":[],"files":[]} x)");
        REQUIRE_FALSE(r.has_value());
        r = decode_positions(R"({"version":1,"patterns":[],"files":[],"journal":{"cursor":"c"},"future":[1,2]})");
        REQUIRE(r.has_value()); // unknown fields are for later versions to add
        CHECK(r->journal_cursor == "c");
    }
}
