#include "agent/metrics/text_fields.hpp"

#include <doctest/doctest.h>
#include <string>

using namespace corvid::agent::metrics;

TEST_SUITE("agent.metrics.text")
{
    TEST_CASE("next_line: splits on newlines, with or without a final one")
    {
        std::string_view text = "a b\n\nc";
        std::string_view line;
        REQUIRE(next_line(text, line));
        CHECK(line == "a b");
        REQUIRE(next_line(text, line));
        CHECK(line.empty());
        REQUIRE(next_line(text, line));
        CHECK(line == "c");
        CHECK_FALSE(next_line(text, line));

        std::string_view one = "x\n";
        REQUIRE(next_line(one, line));
        CHECK(line == "x");
        CHECK_FALSE(next_line(one, line));
    }

    TEST_CASE("split_fields: runs of spaces and tabs separate fields")
    {
        const auto f = split_fields("  cpu0\t 1   2\t\t3  ");
        REQUIRE(f.size() == 4);
        CHECK(f[0] == "cpu0");
        CHECK(f[3] == "3");
        CHECK(split_fields("").empty());
        CHECK(split_fields(" \t ").empty());
        CHECK(trim(" \t x y \t") == "x y");
    }

    TEST_CASE("parse_u64: whole token, no sign, no overflow")
    {
        CHECK(parse_u64("0") == 0u);
        CHECK(parse_u64("18446744073709551615") == 18446744073709551615u);
        CHECK_FALSE(parse_u64("18446744073709551616"));
        CHECK_FALSE(parse_u64(""));
        CHECK_FALSE(parse_u64("-1"));
        CHECK_FALSE(parse_u64("+1"));
        CHECK_FALSE(parse_u64(" 1"));
        CHECK_FALSE(parse_u64("12kB"));
        CHECK_FALSE(parse_u64("0x10"));
    }

    TEST_CASE("parse_double: finite numbers only")
    {
        CHECK(parse_double("0.52") == doctest::Approx(0.52));
        CHECK(parse_double("12") == doctest::Approx(12));
        CHECK(parse_double("-1.5") == doctest::Approx(-1.5));
        CHECK_FALSE(parse_double("nan"));
        CHECK_FALSE(parse_double("inf"));
        CHECK_FALSE(parse_double("1e999"));
        CHECK_FALSE(parse_double("0,52"));
        CHECK_FALSE(parse_double(""));
        CHECK_FALSE(parse_double("1.5x"));
    }
}
