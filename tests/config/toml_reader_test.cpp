#include "common/toml_reader.hpp"

#include <doctest/doctest.h>

using corvid::check_log_level;
using corvid::check_not_empty;
using corvid::did_you_mean;
using corvid::toml_reader;
using corvid::toml_type_name;

namespace {
toml::table parsed(const toml_reader& r, std::string_view text)
{
    auto t = r.parse(text);
    REQUIRE(t.has_value());
    return std::move(*t);
}
} // namespace

TEST_SUITE("common.toml_reader")
{
    TEST_CASE("toml_reader: a syntax error names the file, line and column")
    {
        const toml_reader r("f.toml");
        const auto t = r.parse("a = 1\n[b\nc = 2\n");
        REQUIRE_FALSE(t.has_value());
        CHECK(t.error().key.empty());
        CHECK(t.error().message.starts_with("f.toml:2:"));
        CHECK(t.error().message.find(": TOML syntax error: ") != std::string::npos);
    }

    TEST_CASE("toml_reader: errors read file:line:column: key: problem, on one line")
    {
        const toml_reader r("f.toml");
        const auto t = parsed(r, "a = 1\n  b = \"x\"\n");
        const auto e = r.at(t["b"].node()->source(), "b", "is wrong");
        CHECK(e.key == "b");
        CHECK(e.message == "f.toml:2:7: b: is wrong");
        // The key keeps its bytes; the message shows control characters as '?'.
        const auto odd = r.at(t["b"].node()->source(), "x\ny\x7f", "is wrong");
        CHECK(odd.key == "x\ny\x7f");
        CHECK(odd.message == "f.toml:2:7: x?y?: is wrong");
        CHECK(r.at(toml::source_region{}, "k", "p").message == "f.toml: k: p");
    }

    TEST_CASE("toml_reader: a wrong type says what was expected and what was found")
    {
        const toml_reader r("f.toml");
        const auto t = parsed(r, R"(s = "x"
i = 1
f = 1.5
b = true
a = [1]
d = 1979-05-27
tm = 07:32:00
dt = 1979-05-27T07:32:00Z
[tab]
)");
        const std::pair<const char*, const char*> types[] = {
            {"s", "a string"}, {"i", "an integer"}, {"f", "a float"},       {"b", "a boolean"},     {"a", "an array"},
            {"d", "a date"},   {"tm", "a time"},    {"dt", "a date-time"}, {"tab", "a table"}};
        for (const auto& [key, name] : types) {
            CAPTURE(key);
            CHECK(toml_type_name(*t.get(key)) == name);
        }
        std::string out = "kept";
        const auto e = r.string(*t.get("i"), "i", out);
        REQUIRE(e);
        CHECK(e->message == "f.toml:2:5: i: expected a string, got an integer");
        CHECK(out == "kept");
        bool flag = false;
        CHECK(r.boolean(*t.get("s"), "s", flag)->message == "f.toml:1:5: s: expected a boolean, got a string");
    }

    TEST_CASE("toml_reader: an unknown key or table, with a suggestion only when one is close")
    {
        const toml_reader r("f.toml");
        const auto t = parsed(r, "intervl_s = 5\nlgo = 1\nzzz = 1\n[colectors]\n");
        static constexpr std::string_view known[] = {"interval_s", "log", "collectors"};
        auto unknown = [&](const char* key, bool use_known) {
            for (auto&& [k, v] : t)
                if (k == key)
                    return use_known ? r.unknown(k, key, v.is_table(), known) : r.unknown(k, key, v.is_table());
            FAIL("no key ", key);
            return corvid::toml_error{};
        };
        CHECK(unknown("intervl_s", true).message == R"(f.toml:1:1: intervl_s: unknown key (did you mean "interval_s"?))");
        CHECK(unknown("colectors", true).message == R"(f.toml:4:2: colectors: unknown table (did you mean "collectors"?))");
        // Two edits from a 3-character key is too far to be a typo.
        CHECK(unknown("lgo", true).message == "f.toml:2:1: lgo: unknown key");
        CHECK(unknown("zzz", true).message == "f.toml:3:1: zzz: unknown key");
        CHECK(unknown("intervl_s", false).message == "f.toml:1:1: intervl_s: unknown key");
        CHECK(unknown("colectors", false).message == "f.toml:4:2: colectors: unknown table");
    }

    TEST_CASE("did_you_mean: one edit for keys under 6 characters, two from 6 on")
    {
        static constexpr std::string_view known[] = {"cpu", "network"};
        CHECK(did_you_mean("cpus", known) == R"( (did you mean "cpu"?))");
        CHECK(did_you_mean("cp", known) == R"( (did you mean "cpu"?))");
        CHECK(did_you_mean("cxx", known).empty());
        CHECK(did_you_mean("netwrok", known) == R"( (did you mean "network"?))");
        CHECK(did_you_mean("netwrk", known) == R"( (did you mean "network"?))");
        CHECK(did_you_mean("ntwk", known).empty());
        CHECK(did_you_mean("cpu", {}).empty());
    }

    TEST_CASE("toml_reader: checks and ranges report at the value, and leave the target alone")
    {
        const toml_reader r("f.toml");
        const auto t = parsed(r, "level = \"trace\"\nn = 0\nm = 7\nnames = [\"a\", \"\", 3]\nok = [\"a\", \"b\"]\n");
        std::string level = "info";
        CHECK(r.string(*t.get("level"), "level", level, check_log_level)->message ==
              R"(f.toml:1:9: level: must be debug, info, notice, warn or error (got "trace"))");
        CHECK(level == "info");

        int n = 3;
        CHECK(r.integer(*t.get("n"), "n", n, 1, 10)->message == "f.toml:2:5: n: must be between 1 and 10 (got 0)");
        CHECK(n == 3);
        CHECK_FALSE(r.integer(*t.get("m"), "m", n, 1, 10));
        CHECK(n == 7);

        std::vector<std::string> names{"kept"};
        CHECK(r.string_array(*t.get("names"), "names", names, check_not_empty)->message ==
              "f.toml:4:15: names: must not be empty");
        CHECK(r.string_array(*t.get("names"), "names", names)->message ==
              "f.toml:4:19: names: expected an array of strings, got an integer");
        CHECK(r.string_array(*t.get("m"), "m", names)->message ==
              "f.toml:3:5: m: expected an array of strings, got an integer");
        CHECK(names == std::vector<std::string>{"kept"});
        CHECK_FALSE(r.string_array(*t.get("ok"), "ok", names, check_not_empty));
        CHECK(names == std::vector<std::string>{"a", "b"});
    }

    TEST_CASE("check_log_level and check_not_empty")
    {
        for (const char* level : {"debug", "info", "notice", "warn", "error"}) {
            CAPTURE(level);
            CHECK_FALSE(check_log_level(level));
        }
        CHECK(check_log_level("trace") == R"(must be debug, info, notice, warn or error (got "trace"))");
        CHECK(check_not_empty("") == "must not be empty");
        CHECK_FALSE(check_not_empty("x"));
    }
}
