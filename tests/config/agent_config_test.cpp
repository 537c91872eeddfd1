#include "agent/config.hpp"

#include <doctest/doctest.h>
#include <map>

#include "temp_files.hpp"

using corvid::agent::agent_config;
using corvid::agent::apply_agent_toml;
using corvid::agent::load_agent_invocation;
using corvid::test::args;
using corvid::test::temp_dir;

namespace {

struct fake_env {
    std::map<std::string, std::string> vars;
    corvid::agent::env_lookup lookup() const
    {
        return [this](const std::string& name) -> std::optional<std::string> {
            auto it = vars.find(name);
            if (it == vars.end())
                return std::nullopt;
            return it->second;
        };
    }
};

bool contains(const std::string& haystack, std::string_view needle) { return haystack.find(needle) != std::string::npos; }

bool any_contains(const std::vector<std::string>& lines, std::string_view needle)
{
    for (const auto& l : lines)
        if (contains(l, needle))
            return true;
    return false;
}

// A temp dir holding a readable key file, for invocations that must pass validation.
struct setup {
    temp_dir dir;
    std::string key_file = dir.write("key", "secret-key\n", 0600);
    std::string config(std::string_view text, mode_t mode = 0600) const { return dir.write("agent.toml", text, mode); }
};

} // namespace

TEST_SUITE("agent.config")
{
    TEST_CASE("apply_agent_toml: an empty file keeps the defaults")
    {
        agent_config cfg;
        REQUIRE_FALSE(apply_agent_toml(cfg, "", "agent.toml"));
        CHECK(cfg.collector_url.empty());
        CHECK(cfg.api_key.empty());
        CHECK(cfg.api_key_file.empty());
        CHECK(cfg.interval_s == 5);
        CHECK(cfg.state_dir == "/var/lib/corvid-agent");
        CHECK(cfg.ca_file.empty());
        CHECK(cfg.log_level == "info");
        CHECK(cfg.sampler.paths.proc == "/proc");
        CHECK(cfg.sampler.paths.sys == "/sys");
        CHECK(cfg.sampler.enabled.cpu);
        CHECK(cfg.sampler.enabled.memory);
        CHECK(cfg.sampler.enabled.disk_usage);
        CHECK(cfg.sampler.enabled.disk_io);
        CHECK(cfg.sampler.enabled.network);
        CHECK(cfg.sampler.enabled.load);
        CHECK(cfg.sampler.enabled.uptime);
        CHECK(cfg.sampler.disk_io_include.empty());
        CHECK(cfg.sampler.network_include.empty());
    }

    TEST_CASE("apply_agent_toml: reads every key")
    {
        agent_config cfg;
        const auto e = apply_agent_toml(cfg, R"(
collector_url = "wss://corvid.example.com:8443/api/v1/agents/ws"
api_key_file = "/etc/corvid/agent.key"
interval_s = 10
state_dir = "/tmp/state"
ca_file = "/etc/corvid/ca.pem"
log_level = "debug"

[collectors]
cpu = false
memory = false
disk_usage = false
disk_io = false
network = false
load = false
uptime = false

[disk_io]
include = ["sda1", "loop0"]

[network]
include = ["lo"]

[host]
proc = "/fixtures/proc"
sys = "/fixtures/sys"
)",
                                        "agent.toml");
        REQUIRE_FALSE(e);
        CHECK(cfg.collector_url == "wss://corvid.example.com:8443/api/v1/agents/ws");
        CHECK(cfg.api_key_file == "/etc/corvid/agent.key");
        CHECK(cfg.interval_s == 10);
        CHECK(cfg.state_dir == "/tmp/state");
        CHECK(cfg.ca_file == "/etc/corvid/ca.pem");
        CHECK(cfg.log_level == "debug");
        const auto& on = cfg.sampler.enabled;
        CHECK_FALSE((on.cpu || on.memory || on.disk_usage || on.disk_io || on.network || on.load || on.uptime));
        CHECK(cfg.sampler.disk_io_include == std::vector<std::string>{"sda1", "loop0"});
        CHECK(cfg.sampler.network_include == std::vector<std::string>{"lo"});
        CHECK(cfg.sampler.paths.proc == "/fixtures/proc");
        CHECK(cfg.sampler.paths.sys == "/fixtures/sys");

        agent_config inline_key;
        REQUIRE_FALSE(apply_agent_toml(inline_key, "api_key = \"abc\"\ncollector_url = \"ws://[::1]:8080/x\"", "a"));
        CHECK(inline_key.api_key == "abc");
        CHECK(inline_key.collector_url == "ws://[::1]:8080/x");
    }

    TEST_CASE("apply_agent_toml: each invalid value is named in the error, and nothing is changed")
    {
        struct bad {
            const char* toml;
            const char* key;
        };
        const bad cases[] = {
            {"collector_url = \"http://example.com/\"", "collector_url"},
            {"collector_url = \"ws://\"", "collector_url"},
            {"collector_url = \"wss:///path\"", "collector_url"},
            {"collector_url = \"ws://host:0/\"", "collector_url"},
            {"collector_url = \"ws://host:99999/\"", "collector_url"},
            {"collector_url = \"ws://user:pw@host/\"", "collector_url"},
            {"collector_url = \"ws://host /\"", "collector_url"},
            {"collector_url = 5", "collector_url"},
            {"api_key = \"\"", "api_key"},
            {"api_key = 5", "api_key"},
            {"api_key_file = \"\"", "api_key_file"},
            {"interval_s = 0", "interval_s"},
            {"interval_s = 61", "interval_s"},
            {"interval_s = \"5\"", "interval_s"},
            {"interval_s = 5.0", "interval_s"},
            {"state_dir = \"\"", "state_dir"},
            {"ca_file = false", "ca_file"},
            {"log_level = \"loud\"", "log_level"},
            {"collectors = true", "collectors"},
            {"[collectors]\ncpu = \"yes\"", "collectors.cpu"},
            {"[collectors]\nuptime = 1", "collectors.uptime"},
            {"[disk_io]\ninclude = \"sda1\"", "disk_io.include"},
            {"[disk_io]\ninclude = [1]", "disk_io.include"},
            {"[network]\ninclude = [\"../etc\"]", "network.include"},
            {"[network]\ninclude = [\"\"]", "network.include"},
            {"[host]\nproc = 1", "host.proc"},
            {"[host]\nsys = \"\"", "host.sys"},
            {"api_key = \"k\"\napi_key_file = \"/k\"", "api_key_file"},
            {"spool = 1", "spool"},
            {"[spool]\nmax_mb = 0", "spool.max_mb"},
            {"[spool]\nmax_mb = 0.001", "spool.max_mb"},
            {"[spool]\nmax_mb = \"64\"", "spool.max_mb"},
            {"[spool]\nmax_age_hours = 0", "spool.max_age_hours"},
            {"[spool]\nmax_age_hours = 1.5", "spool.max_age_hours"},
            {"[spool]\nsync = 1", "spool.sync"},
            {"[spool]\nsize = 1", "spool.size"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.toml);
            agent_config cfg;
            const auto e = apply_agent_toml(cfg, c.toml, "agent.toml");
            REQUIRE(e);
            CHECK(e->key == c.key);
            CHECK(contains(e->message, c.key));
            CHECK(contains(e->message, "agent.toml:"));
            CHECK(cfg.interval_s == 5);
            CHECK(cfg.collector_url.empty());
            CHECK(cfg.sampler.enabled.cpu);
            CHECK(cfg.sampler.paths.proc == "/proc");
        }
    }

    TEST_CASE("apply_agent_toml: [spool] bounds, fractional megabytes included")
    {
        agent_config cfg;
        REQUIRE_FALSE(apply_agent_toml(cfg, "[spool]\nmax_mb = 128\nmax_age_hours = 24\nsync = false\n", "agent.toml"));
        CHECK(cfg.spool.max_bytes == 128ull << 20);
        CHECK(cfg.spool.max_age == std::chrono::hours(24));
        CHECK_FALSE(cfg.spool.sync);
        REQUIRE_FALSE(apply_agent_toml(cfg, "[spool]\nmax_mb = 0.5\n", "agent.toml"));
        CHECK(cfg.spool.max_bytes == 512 * 1024);
    }

    TEST_CASE("apply_agent_toml: a wrong type names the key and the expected type, with its line")
    {
        agent_config cfg;
        auto e = apply_agent_toml(cfg, "log_level = \"info\"\ninterval_s = \"5\"\n", "agent.toml");
        REQUIRE(e);
        CHECK(e->key == "interval_s");
        CHECK(contains(e->message, "agent.toml:2:"));
        CHECK(contains(e->message, "expected an integer"));
        CHECK(contains(e->message, "got a string"));

        e = apply_agent_toml(cfg, "[network]\ninclude = \"lo\"\n", "agent.toml");
        REQUIRE(e);
        CHECK(contains(e->message, "expected an array of strings"));
    }

    TEST_CASE("apply_agent_toml: an unknown key or table is an error naming it")
    {
        agent_config cfg;
        auto e = apply_agent_toml(cfg, "intreval_s = 10\n", "agent.toml");
        REQUIRE(e);
        CHECK(e->key == "intreval_s");
        CHECK(contains(e->message, "unknown key"));
        CHECK(contains(e->message, "did you mean \"interval_s\""));

        e = apply_agent_toml(cfg, "[colectors]\ncpu = true\n", "agent.toml");
        REQUIRE(e);
        CHECK(e->key == "colectors");
        CHECK(contains(e->message, "unknown table"));

        e = apply_agent_toml(cfg, "[collectors]\ngpu = true\n", "agent.toml");
        REQUIRE(e);
        CHECK(e->key == "collectors.gpu");
        CHECK(contains(e->message, "agent.toml:2:"));

        e = apply_agent_toml(cfg, "[host]\nproc = \"/p\"\ndev = \"/dev\"\n", "agent.toml");
        REQUIRE(e);
        CHECK(e->key == "host.dev");

        e = apply_agent_toml(cfg, "[disk_io]\nexclude = [\"sda\"]\n", "agent.toml");
        REQUIRE(e);
        CHECK(e->key == "disk_io.exclude");
    }

    TEST_CASE("apply_agent_toml: a TOML syntax error carries the line and column")
    {
        agent_config cfg;
        const auto e = apply_agent_toml(cfg, "interval_s = 5\n\ncollector_url = \n", "/etc/corvid/agent.toml");
        REQUIRE(e);
        CHECK(contains(e->message, "/etc/corvid/agent.toml:3:"));
        CHECK(contains(e->message, "syntax error"));
        CHECK(cfg.interval_s == 5);
    }

    TEST_CASE("load_agent_invocation: flags override env override file")
    {
        setup s;
        const auto config = s.config(R"(collector_url = "ws://file.example:1/ws"
interval_s = 10
log_level = "notice"
api_key = "from-file"
)");
        fake_env env;
        {
            const args a{"--config", config};
            auto inv = load_agent_invocation(a.argc(), a.argv(), env.lookup());
            REQUIRE(inv.has_value());
            CHECK(inv->config_path == config);
            CHECK(inv->config.collector_url == "ws://file.example:1/ws");
            CHECK(inv->config.api_key == "from-file");
            CHECK(inv->config.interval_s == 10);
        }
        env.vars["CORVID_COLLECTOR_URL"] = "ws://env.example:2/ws";
        env.vars["CORVID_API_KEY"] = "from-env";
        {
            const args a{"--config", config};
            auto inv = load_agent_invocation(a.argc(), a.argv(), env.lookup());
            REQUIRE(inv.has_value());
            CHECK(inv->config.collector_url == "ws://env.example:2/ws");
            CHECK(inv->config.api_key == "from-env");
            CHECK(inv->config.interval_s == 10);
        }
        {
            const args a{"--config", config, "--collector-url", "wss://flag.example/ws", "--interval=20",
                         "--log-level", "debug", "--api-key-file", s.key_file};
            auto inv = load_agent_invocation(a.argc(), a.argv(), env.lookup());
            REQUIRE(inv.has_value());
            CHECK(inv->config.collector_url == "wss://flag.example/ws");
            CHECK(inv->config.interval_s == 20);
            CHECK(inv->config.log_level == "debug");
            // The key sources are alternatives: the flag's file replaces the environment's key.
            CHECK(inv->config.api_key_file == s.key_file);
            CHECK(inv->config.api_key.empty());
        }
    }

    TEST_CASE("load_agent_invocation: issue 12.3 commands need this host's server_id, from the file or "
              "CORVID_SERVER_ID")
    {
        setup s;
        const std::string key_line = "collector_public_key = \"" + std::string(43, 'A') + "=\"\n";
        const std::string base = "collector_url = \"ws://c:1/\"\napi_key_file = \"" + s.key_file + "\"\n" + key_line;
        const auto commands = s.config(base + "[commands]\nenabled = true\n");
        const args a{"--config", commands};
        fake_env env;
        auto inv = load_agent_invocation(a.argc(), a.argv(), env.lookup());
        REQUIRE_FALSE(inv.has_value());
        CHECK(inv.error().key == "server_id");
        CHECK(contains(inv.error().message, "server_id is required when commands are enabled"));
        CHECK(contains(inv.error().message, "corvid-collector server add"));

        env.vars["CORVID_SERVER_ID"] = "3F1C2A9E-8D7B-4C6A-9E5F-1A2B3C4D5E6F";
        inv = load_agent_invocation(a.argc(), a.argv(), env.lookup());
        REQUIRE(inv.has_value());
        CHECK(inv->config.remote.server_id == "3f1c2a9e-8d7b-4c6a-9e5f-1a2b3c4d5e6f"); // as the collector writes it
        env.vars["CORVID_SERVER_ID"] = "web-1";
        inv = load_agent_invocation(a.argc(), a.argv(), env.lookup());
        REQUIRE_FALSE(inv.has_value());
        CHECK(inv.error().key == "CORVID_SERVER_ID");

        // Docker alone keeps working without it (its actions are addressed as before).
        const auto docker = s.config(base + "[docker]\nenabled = true\n");
        const args d{"--config", docker};
        CHECK(load_agent_invocation(d.argc(), d.argv(), fake_env{}.lookup()).has_value());
        // --once runs nothing remote.
        const args once{"--config", commands, "--once"};
        CHECK(load_agent_invocation(once.argc(), once.argv(), fake_env{}.lookup()).has_value());
    }

    TEST_CASE("load_agent_invocation: CORVID_API_KEY replaces the file's api_key_file")
    {
        setup s;
        const auto config = s.config("collector_url = \"ws://c:1/\"\napi_key_file = \"" + s.key_file + "\"\n");
        fake_env env;
        env.vars["CORVID_API_KEY"] = "from-env";
        const args a{"--config", config};
        auto inv = load_agent_invocation(a.argc(), a.argv(), env.lookup());
        REQUIRE(inv.has_value());
        CHECK(inv->config.api_key == "from-env");
        CHECK(inv->config.api_key_file.empty());
    }

    TEST_CASE("load_agent_invocation: an empty environment variable counts as unset")
    {
        setup s;
        const auto config = s.config("collector_url = \"ws://file:1/\"\napi_key = \"k\"\n");
        fake_env env;
        env.vars["CORVID_COLLECTOR_URL"] = "";
        env.vars["CORVID_API_KEY"] = "";
        const args a{"--config", config};
        auto inv = load_agent_invocation(a.argc(), a.argv(), env.lookup());
        REQUIRE(inv.has_value());
        CHECK(inv->config.collector_url == "ws://file:1/");
        CHECK(inv->config.api_key == "k");
    }

    TEST_CASE("load_agent_invocation: an invalid CORVID_COLLECTOR_URL names the variable")
    {
        setup s;
        const auto config = s.config("");
        fake_env env;
        env.vars["CORVID_COLLECTOR_URL"] = "https://example.com/";
        const args a{"--config", config, "--once"};
        auto inv = load_agent_invocation(a.argc(), a.argv(), env.lookup());
        REQUIRE_FALSE(inv.has_value());
        CHECK(inv.error().key == "CORVID_COLLECTOR_URL");
    }

    TEST_CASE("load_agent_invocation: --once needs no collector_url or key")
    {
        setup s;
        const auto config = s.config("");
        const args a{"--config", config, "--once", "--proc-root", "/fx/proc", "--sys-root=/fx/sys"};
        auto inv = load_agent_invocation(a.argc(), a.argv(), fake_env{}.lookup());
        REQUIRE(inv.has_value());
        CHECK(inv->once);
        CHECK_FALSE(inv->help);
        CHECK_FALSE(inv->version);
        CHECK(inv->config.sampler.paths.proc == "/fx/proc");
        CHECK(inv->config.sampler.paths.sys == "/fx/sys");
    }

    TEST_CASE("load_agent_invocation: --help and --version skip the config file")
    {
        const args help{"--config", "/nonexistent/agent.toml", "--help"};
        auto inv = load_agent_invocation(help.argc(), help.argv(), {});
        REQUIRE(inv.has_value());
        CHECK(inv->help);
        const args version{"--version"};
        inv = load_agent_invocation(version.argc(), version.argv(), {});
        REQUIRE(inv.has_value());
        CHECK(inv->version);
        CHECK(contains(corvid::agent::agent_usage(), "--collector-url"));
    }

    TEST_CASE("load_agent_invocation: collector_url and a key are required")
    {
        setup s;
        const auto config = s.config("");
        {
            const args a{"--config", config, "--api-key-file", s.key_file};
            auto inv = load_agent_invocation(a.argc(), a.argv(), fake_env{}.lookup());
            REQUIRE_FALSE(inv.has_value());
            CHECK(inv.error().key == "collector_url");
        }
        {
            const args a{"--config", config, "--collector-url", "ws://c:1/"};
            auto inv = load_agent_invocation(a.argc(), a.argv(), fake_env{}.lookup());
            REQUIRE_FALSE(inv.has_value());
            CHECK(inv.error().key == "api_key");
        }
    }

    TEST_CASE("load_agent_invocation: an api_key_file that is missing or empty is an error now")
    {
        setup s;
        const auto config = s.config("collector_url = \"ws://c:1/\"\n");
        {
            const args a{"--config", config, "--api-key-file", s.dir.path() + "/no-such-key"};
            auto inv = load_agent_invocation(a.argc(), a.argv(), fake_env{}.lookup());
            REQUIRE_FALSE(inv.has_value());
            CHECK(inv.error().key == "api_key_file");
            CHECK(contains(inv.error().message, "no-such-key"));
        }
        {
            const auto empty = s.dir.write("empty.key", "\n", 0600);
            const args a{"--config", config, "--api-key-file", empty};
            auto inv = load_agent_invocation(a.argc(), a.argv(), fake_env{}.lookup());
            REQUIRE_FALSE(inv.has_value());
            CHECK(inv.error().key == "api_key_file");
        }
    }

    TEST_CASE("load_agent_invocation: an explicitly named config file that is missing is an error")
    {
        setup s;
        const args a{"--config", s.dir.path() + "/missing.toml", "--once"};
        auto inv = load_agent_invocation(a.argc(), a.argv(), fake_env{}.lookup());
        REQUIRE_FALSE(inv.has_value());
        CHECK(inv.error().key == "--config");
        CHECK(contains(inv.error().message, "missing.toml"));
    }

    TEST_CASE("load_agent_invocation: an error in the config file is returned as is")
    {
        setup s;
        const auto config = s.config("interval_s = 100\n");
        const args a{"--config", config, "--once"};
        auto inv = load_agent_invocation(a.argc(), a.argv(), fake_env{}.lookup());
        REQUIRE_FALSE(inv.has_value());
        CHECK(inv.error().key == "interval_s");
        CHECK(contains(inv.error().message, config + ":1:"));
    }

    TEST_CASE("load_agent_invocation: bad flags are errors naming the flag")
    {
        setup s;
        const auto config = s.config("");
        struct bad {
            std::vector<std::string> argv;
            const char* key;
        };
        const bad cases[] = {
            {{"--bogus"}, "--bogus"},
            {{"--api-key", "secret"}, "--api-key"},
            {{"--api-key=secret"}, "--api-key"},
            {{"--interval"}, "--interval"},
            {{"--interval", "--once"}, "--interval"},
            {{"--interval", "0"}, "--interval"},
            {{"--interval", "61"}, "--interval"},
            {{"--interval", "5s"}, "--interval"},
            {{"--interval="}, "--interval"},
            {{"--log-level", "chatty"}, "--log-level"},
            {{"--collector-url", "tcp://c:1"}, "--collector-url"},
            {{"--state-dir="}, "--state-dir"},
            {{"--once=yes"}, "--once"},
            {{"stray"}, "stray"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.key);
            std::vector<const char*> argv{"corvid-agent", "--config", config.c_str(), "--once"};
            for (const auto& w : c.argv)
                argv.push_back(w.c_str());
            auto inv = load_agent_invocation(static_cast<int>(argv.size()), argv.data(), fake_env{}.lookup());
            REQUIRE_FALSE(inv.has_value());
            CHECK(inv.error().key == c.key);
        }
        const args a{"--api-key", "secret"};
        auto inv = load_agent_invocation(a.argc(), a.argv(), {});
        REQUIRE_FALSE(inv.has_value());
        CHECK(contains(inv.error().message, "ps"));
        CHECK_FALSE(contains(inv.error().message, "secret"));
    }

    TEST_CASE("load_agent_invocation: warns about secrets readable by group or others")
    {
        setup s;
        const std::string url = "collector_url = \"ws://c:1/\"\n";
        auto run = [&](const std::string& config) {
            const args a{"--config", config};
            auto inv = load_agent_invocation(a.argc(), a.argv(), fake_env{}.lookup());
            REQUIRE(inv.has_value());
            return inv->warnings;
        };

        // A private key file and a private config: nothing to say.
        CHECK(run(s.config(url + "api_key_file = \"" + s.key_file + "\"\n", 0600)).empty());

        // The key file readable by others.
        const auto open_key = s.dir.write("open.key", "k\n", 0644);
        auto w = run(s.config(url + "api_key_file = \"" + open_key + "\"\n", 0600));
        REQUIRE(w.size() == 1);
        CHECK(contains(w[0], open_key));

        // An inline key in a group-readable config.
        w = run(s.config(url + "api_key = \"k\"\n", 0640));
        REQUIRE(w.size() == 1);
        CHECK(contains(w[0], "api_key"));
        CHECK(run(s.config(url + "api_key = \"k\"\n", 0600)).empty());

        // A config without a key: readable by group is fine, by others is not.
        CHECK(run(s.config(url + "api_key_file = \"" + s.key_file + "\"\n", 0640)).empty());
        w = run(s.config(url + "api_key_file = \"" + s.key_file + "\"\n", 0644));
        REQUIRE(w.size() == 1);
        CHECK(any_contains(w, "readable by others"));
    }

    TEST_CASE("packaging/agent.toml: parses, and its commented-out values are the defaults")
    {
        const auto text = corvid::read_file(std::string(CORVID_SOURCE_DIR) + "/packaging/agent.toml");
        REQUIRE(text.has_value());
        agent_config as_shipped;
        REQUIRE_FALSE(apply_agent_toml(as_shipped, *text, "agent.toml"));
        CHECK_FALSE(as_shipped.collector_url.empty());
        CHECK_FALSE(as_shipped.api_key_file.empty());

        agent_config all;
        // Keys whose example is a placeholder, not a default.
        const auto e = apply_agent_toml(
            all, corvid::test::uncomment_defaults(*text, {"api_key", "collector_public_key", "server_id", "tls_pin_sha256", "path", "units"}),
            "agent.toml");
        REQUIRE_FALSE(e);
        const agent_config defaults;
        CHECK(all.interval_s == defaults.interval_s);
        CHECK(all.state_dir == defaults.state_dir);
        CHECK(all.ca_file == defaults.ca_file);
        CHECK(all.log_level == defaults.log_level);
        CHECK(all.sampler.paths.proc == defaults.sampler.paths.proc);
        CHECK(all.sampler.paths.sys == defaults.sampler.paths.sys);
        const auto& on = all.sampler.enabled;
        CHECK((on.cpu && on.memory && on.disk_usage && on.disk_io && on.network && on.load && on.uptime));
        CHECK(all.sampler.disk_io_include.empty());
        CHECK(all.sampler.network_include.empty());
        const corvid::agent::remote_policy off;
        CHECK(all.remote.commands.enabled == off.commands.enabled);
        CHECK(all.remote.commands.allow.empty());
        CHECK(all.remote.commands.run_as == off.commands.run_as);
        CHECK(all.remote.commands.max_timeout_s == off.commands.max_timeout_s);
        CHECK(all.remote.commands.output_cap_bytes == off.commands.output_cap_bytes);
        CHECK(all.remote.commands.max_concurrent == off.commands.max_concurrent);
        CHECK(all.remote.docker.enabled == off.docker.enabled);
        CHECK(all.remote.docker.socket == off.docker.socket);
        CHECK(all.remote.docker.actions == off.docker.actions);
        CHECK(all.spool.max_bytes == defaults.spool.max_bytes);
        CHECK(all.spool.max_age == defaults.spool.max_age);
        CHECK(all.spool.sync == defaults.spool.sync);
        CHECK(all.logs.rate_limit_per_s == defaults.logs.rate_limit_per_s);
        CHECK(all.logs.max_message_bytes == defaults.logs.max_message_bytes);
        CHECK(all.logs.journal.enabled == defaults.logs.journal.enabled);
        CHECK(all.logs.journal.min_priority == defaults.logs.journal.min_priority);
        CHECK(all.logs.journal.directory == defaults.logs.journal.directory);
        // Every optional key is listed in the example.
        const auto uncommented = corvid::test::uncomment_defaults(*text);
        for (const char* key : {"api_key", "interval_s", "state_dir", "ca_file", "log_level", "cpu", "memory",
                                "disk_usage", "disk_io", "network", "load", "uptime", "include", "proc", "sys",
                                "max_mb", "max_age_hours", "sync", "rate_limit_per_s", "max_message_bytes",
                                "min_priority", "directory", "collector_public_key", "server_id"}) {
            CAPTURE(key);
            CHECK(uncommented.find(std::string("\n") + key + " = ") != std::string::npos);
        }
    }
}
