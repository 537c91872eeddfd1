#include "common/time_format.hpp"

#include <doctest/doctest.h>

using corvid::format_iso8601_ms;
using corvid::parse_iso8601_ms;

TEST_SUITE("common.time_format")
{
    TEST_CASE("format_iso8601_ms: UTC with milliseconds and Z")
    {
        CHECK(format_iso8601_ms(0) == "1970-01-01T00:00:00.000Z");
        CHECK(format_iso8601_ms(1767225605000) == "2026-01-01T00:00:05.000Z");
        CHECK(format_iso8601_ms(951782400123) == "2000-02-29T00:00:00.123Z");
        CHECK(format_iso8601_ms(-1) == "1969-12-31T23:59:59.999Z");
    }

    TEST_CASE("parse_iso8601_ms: round trips and fractions")
    {
        CHECK(parse_iso8601_ms("2026-01-01T00:00:05.000Z") == 1767225605000);
        CHECK(parse_iso8601_ms("2026-01-01T00:00:05Z") == 1767225605000);
        CHECK(parse_iso8601_ms("2026-01-01T00:00:05.5Z") == 1767225605500);
        CHECK(parse_iso8601_ms("2026-01-01T00:00:05.123456789Z") == 1767225605123);
        for (std::int64_t t : {0LL, 951782400123LL, 1767225605999LL, 4102444799999LL})
            CHECK(parse_iso8601_ms(format_iso8601_ms(t)) == t);
    }

    TEST_CASE("parse_iso8601_ms: rejects what is not exactly the format")
    {
        for (const char* bad : {"", "2026-01-01", "2026-01-01T00:00:05.000", "2026-01-01 00:00:05.000Z",
                                "2026-13-01T00:00:05.000Z", "2026-02-30T00:00:05.000Z", "2025-02-29T00:00:00Z",
                                "2026-01-01T24:00:00Z", "2026-01-01T00:00:05.Z", "2026-01-01T00:00:05.000Z ",
                                "2026-01-01T00:00:05.000+01:00", "+026-01-01T00:00:05.000Z"})
            CHECK_MESSAGE(!parse_iso8601_ms(bad), bad);
    }
}
