// [logs] in the agent's config file.
#include "agent/config.hpp"

#include <doctest/doctest.h>
#include <string>

using corvid::agent::agent_config;
using corvid::agent::apply_agent_toml;
using corvid::agent::config_error;

namespace {

std::optional<config_error> apply_text(agent_config& cfg, const std::string& text)
{
    return apply_agent_toml(cfg, text, "agent.toml");
}

bool contains(const std::string& haystack, std::string_view needle) { return haystack.find(needle) != std::string::npos; }

} // namespace

TEST_SUITE("config.agent_logs")
{
    TEST_CASE("logs: defaults ship nothing")
    {
        agent_config cfg;
        REQUIRE_FALSE(apply_text(cfg, ""));
        const auto& l = cfg.logs;
        CHECK_FALSE(l.any_source());
        CHECK(l.rate_limit_per_s == 200);
        CHECK(l.max_message_bytes == 8192);
        CHECK(l.files.empty());
        CHECK_FALSE(l.journal.enabled);
        CHECK(l.journal.units.empty());
        CHECK(l.journal.min_priority == 6);
        CHECK(l.journal.directory.empty());
    }

    TEST_CASE("logs: every key")
    {
        agent_config cfg;
        REQUIRE_FALSE(apply_text(cfg, R"(
[logs]
rate_limit_per_s = 50
max_message_bytes = 256

[[logs.files]]
path = "/var/log/nginx/*.log"

[[logs.files]]
path = "/srv/app/app.log"

[logs.journal]
enabled = true
units = ["nginx.service", "ssh.service"]
min_priority = "warning"
directory = "/var/log/journal/remote"
)"));
        const auto& l = cfg.logs;
        CHECK(l.any_source());
        CHECK(l.rate_limit_per_s == 50);
        CHECK(l.max_message_bytes == 256);
        REQUIRE(l.files.size() == 2);
        CHECK(l.files[0].path == "/var/log/nginx/*.log");
        CHECK(l.files[1].path == "/srv/app/app.log");
        CHECK(l.journal.enabled);
        CHECK(l.journal.units == std::vector<std::string>{"nginx.service", "ssh.service"});
        CHECK(l.journal.min_priority == 4);
        CHECK(l.journal.directory == "/var/log/journal/remote");
    }

    TEST_CASE("logs: min_priority by name, digit or integer")
    {
        const std::pair<const char*, int> cases[] = {
            {"\"emerg\"", 0}, {"\"alert\"", 1}, {"\"crit\"", 2}, {"\"err\"", 3},  {"\"warning\"", 4},
            {"\"notice\"", 5}, {"\"info\"", 6}, {"\"debug\"", 7}, {"\"3\"", 3}, {"0", 0}, {"7", 7},
        };
        for (const auto& [text, expected] : cases) {
            CAPTURE(text);
            agent_config cfg;
            REQUIRE_FALSE(apply_text(cfg, std::string("[logs.journal]\nmin_priority = ") + text + "\n"));
            CHECK(cfg.logs.journal.min_priority == expected);
        }
    }

    TEST_CASE("logs: bad values are refused with the key named, and change nothing")
    {
        struct bad {
            const char* toml;
            const char* key;
            const char* says;
        };
        const bad cases[] = {
            {"[logs]\nrate_limit_per_s = 0\n", "logs.rate_limit_per_s", "between 1 and 100000"},
            {"[logs]\nrate_limit_per_s = 100001\n", "logs.rate_limit_per_s", "between 1 and 100000"},
            {"[logs]\nrate_limit_per_s = \"fast\"\n", "logs.rate_limit_per_s", "expected an integer"},
            {"[logs]\nmax_message_bytes = 255\n", "logs.max_message_bytes", "between 256 and 65536"},
            {"[logs]\nmax_message_bytes = 65537\n", "logs.max_message_bytes", "between 256 and 65536"},
            {"[[logs.files]]\npath = \"var/log/*.log\"\n", "logs.files[0].path", "must be absolute"},
            {"[[logs.files]]\npath = \"/a\"\n[[logs.files]]\npath = \"\"\n", "logs.files[1].path", "must be absolute"},
            {"[[logs.files]]\npath = \"/a\\nb\"\n", "logs.files[0].path", "control characters"},
            {"[[logs.files]]\n", "logs.files[0].path", "is required"},
            {"[[logs.files]]\npath = 1\n", "logs.files[0].path", "expected a string"},
            {"[logs]\nfiles = \"/var/log/*.log\"\n", "logs.files", "expected an array of tables"},
            {"[logs]\nfiles = [\"/var/log/*.log\"]\n", "logs.files[0]", "expected a table"},
            {"[logs.journal]\nenabled = \"yes\"\n", "logs.journal.enabled", "expected a boolean"},
            {"[logs.journal]\nunits = [\"\"]\n", "logs.journal.units", "unit name"},
            {"[logs.journal]\nunits = [\"a b\"]\n", "logs.journal.units", "unit name"},
            {"[logs.journal]\nunits = \"nginx.service\"\n", "logs.journal.units", "expected an array of strings"},
            {"[logs.journal]\nmin_priority = \"loud\"\n", "logs.journal.min_priority", "emerg, alert"},
            {"[logs.journal]\nmin_priority = 8\n", "logs.journal.min_priority", "0-7"},
            {"[logs.journal]\nmin_priority = true\n", "logs.journal.min_priority", "a string or an integer"},
            {"[logs.journal]\ndirectory = \"journal\"\n", "logs.journal.directory", "must be absolute"},
            {"logs = 5\n", "logs", "expected a table"},
            {"[logs]\njournal = 1\n", "logs.journal", "expected a table"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.toml);
            agent_config cfg;
            cfg.logs.rate_limit_per_s = 7;
            const auto e = apply_text(cfg, c.toml);
            REQUIRE(e);
            CHECK(e->key == c.key);
            CHECK(contains(e->message, c.key));
            CHECK(contains(e->message, c.says));
            CHECK(contains(e->message, "agent.toml:"));
            CHECK(cfg.logs.rate_limit_per_s == 7); // a file with an error changes nothing
        }
    }

    TEST_CASE("logs: unknown keys are refused, with a suggestion when close")
    {
        agent_config cfg;
        auto e = apply_text(cfg, "[logs]\nrate_limit_per_sec = 5\n");
        REQUIRE(e);
        CHECK(e->key == "logs.rate_limit_per_sec");
        CHECK(contains(e->message, "unknown key"));
        CHECK(contains(e->message, "did you mean \"rate_limit_per_s\""));

        e = apply_text(cfg, "[[logs.files]]\npath = \"/a\"\nglob = \"/b\"\n");
        REQUIRE(e);
        CHECK(e->key == "logs.files[0].glob");
        CHECK(contains(e->message, "unknown key"));

        e = apply_text(cfg, "[logs.journal]\nunit = [\"a.service\"]\n");
        REQUIRE(e);
        CHECK(e->key == "logs.journal.unit");
        CHECK(contains(e->message, "did you mean \"units\""));

        e = apply_text(cfg, "[logs.docker]\nenabled = true\n");
        REQUIRE(e);
        CHECK(e->key == "logs.docker");
        CHECK(contains(e->message, "unknown table"));
    }

    TEST_CASE("logs: bounds on the config itself")
    {
        std::string many;
        for (std::size_t i = 0; i <= corvid::agent::max_log_file_patterns; ++i)
            many += "[[logs.files]]\npath = \"/var/log/" + std::to_string(i) + ".log\"\n";
        agent_config cfg;
        const auto e = apply_text(cfg, many);
        REQUIRE(e);
        CHECK(e->key == "logs.files");
        CHECK(contains(e->message, "at most 64"));
    }
}
