#include "common/command_line.hpp"

#include <doctest/doctest.h>

namespace {
enum class id { config, once };
constexpr corvid::flag_spec<id> specs[] = {{"--config", id::config, true}, {"--once", id::once, false}};

auto parse(std::vector<const char*> args, bool words)
{
    args.insert(args.begin(), "prog");
    return corvid::parse_command_line<id>(static_cast<int>(args.size()), args.data(), specs, words);
}
} // namespace

TEST_SUITE("common.command_line")
{
    TEST_CASE("parse_command_line: values in both spellings, switches and words")
    {
        auto r = parse({"serve", "--config", "a.toml", "--once", "--config=b.toml"}, true);
        REQUIRE(r.has_value());
        REQUIRE(r->flags.size() == 3);
        CHECK(r->flags[0].value == "a.toml");
        CHECK(r->flags[1].id == id::once);
        CHECK(r->flags[2].value == "b.toml");
        CHECK(r->words == std::vector<std::string>{"serve"});
    }

    TEST_CASE("parse_command_line: each mistake names the argument")
    {
        CHECK(parse({"--nope"}, true).error().message == "unknown flag --nope; see --help");
        CHECK(parse({"--config"}, true).error().message == "--config needs a value");
        CHECK(parse({"--config", "--once"}, true).error().flag == "--config");
        CHECK(parse({"--once=1"}, true).error().message == "--once takes no value");
        CHECK(parse({"word"}, false).error().message == "unexpected argument \"word\"; see --help");
        CHECK(parse({"--"}, true).error().flag == "--");
    }
}
