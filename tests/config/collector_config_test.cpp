#include "collector/config.hpp"

#include <doctest/doctest.h>

#include "temp_files.hpp"

using corvid::collector::apply_collector_toml;
using corvid::collector::collector_config;
using corvid::collector::command_kind;
using corvid::collector::load_collector_invocation;
using corvid::test::args;
using corvid::test::temp_dir;

namespace {
bool contains(const std::string& haystack, std::string_view needle) { return haystack.find(needle) != std::string::npos; }
} // namespace

TEST_SUITE("collector.config")
{
    TEST_CASE("apply_collector_toml: an empty file keeps the defaults")
    {
        collector_config cfg;
        REQUIRE_FALSE(apply_collector_toml(cfg, "", "collector.toml"));
        CHECK(cfg.listen == "127.0.0.1:8080");
        CHECK(cfg.data_dir == "/var/lib/corvid");
        CHECK(cfg.log_level == "info");
        CHECK(cfg.token_ttl_s == 3600);
        CHECK(cfg.sqlite_synchronous == "normal");
        CHECK(cfg.retention_days == 30);
        CHECK(cfg.log_retention_days == 7);
        CHECK(cfg.log_max_mb == 1024);
        CHECK(cfg.max_body_bytes == 64 * 1024);
        CHECK(cfg.write_queue_samples == 10000);
        CHECK(cfg.login_max_failures == 5);
        CHECK(cfg.login_max_failures_per_address == 20);
        CHECK(cfg.login_window_s == 900);
    }

    TEST_CASE("apply_collector_toml: reads every key")
    {
        collector_config cfg;
        REQUIRE_FALSE(apply_collector_toml(cfg, R"(
listen = "[::]:9090"
data_dir = "/srv/corvid"
log_level = "warn"
token_ttl_s = 600
sqlite_synchronous = "full"
retention_days = 90
log_retention_days = 14
log_max_mb = 256
max_body_bytes = 1048576
write_queue_samples = 500

[login]
max_failures = 10
window_s = 60
)",
                                           "collector.toml"));
        CHECK(cfg.listen == "[::]:9090");
        CHECK(cfg.data_dir == "/srv/corvid");
        CHECK(cfg.log_level == "warn");
        CHECK(cfg.token_ttl_s == 600);
        CHECK(cfg.sqlite_synchronous == "full");
        CHECK(cfg.retention_days == 90);
        CHECK(cfg.log_retention_days == 14);
        CHECK(cfg.log_max_mb == 256);
        CHECK(cfg.max_body_bytes == 1048576);
        CHECK(cfg.write_queue_samples == 500);
        CHECK(cfg.login_max_failures == 10);
        CHECK(cfg.login_window_s == 60);
    }

    TEST_CASE("apply_collector_toml: each invalid value is named in the error, and nothing is changed")
    {
        struct bad {
            const char* toml;
            const char* key;
        };
        const bad cases[] = {
            {"listen = \"8080\"", "listen"},
            {"listen = 8080", "listen"},
            {"data_dir = \"\"", "data_dir"},
            {"log_level = \"trace\"", "log_level"},
            {"token_ttl_s = 59", "token_ttl_s"},
            {"token_ttl_s = 604801", "token_ttl_s"},
            {"token_ttl_s = \"1h\"", "token_ttl_s"},
            {"sqlite_synchronous = \"off\"", "sqlite_synchronous"},
            {"retention_days = 0", "retention_days"},
            {"retention_days = 3651", "retention_days"},
            {"log_retention_days = 0", "log_retention_days"},
            {"log_retention_days = 3651", "log_retention_days"},
            {"log_max_mb = 0", "log_max_mb"},
            {"log_max_mb = 1048577", "log_max_mb"},
            {"log_max_mb = \"1G\"", "log_max_mb"},
            {"max_body_bytes = 1023", "max_body_bytes"},
            {"max_body_bytes = 16777217", "max_body_bytes"},
            {"write_queue_samples = 99", "write_queue_samples"},
            {"write_queue_samples = 1000001", "write_queue_samples"},
            {"write_queue_samples = 1e4", "write_queue_samples"},
            {"write_queue_mb = 0", "write_queue_mb"},
            {"write_queue_mb = 4097", "write_queue_mb"},
            {"login = 5", "login"},
            {"[login]\nmax_failures = 0", "login.max_failures"},
            {"[login]\nmax_failures = 1001", "login.max_failures"},
            {"[login]\nwindow_s = 0", "login.window_s"},
            {"[login]\nwindow_s = 86401", "login.window_s"},
            {"[login]\nlockout_s = 60", "login.lockout_s"},
            {"retention = 30", "retention"},
            {"[storage]\npath = \"/x\"", "storage"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.toml);
            collector_config cfg;
            const auto e = apply_collector_toml(cfg, c.toml, "collector.toml");
            REQUIRE(e);
            CHECK(e->key == c.key);
            CHECK(contains(e->message, c.key));
            CHECK(contains(e->message, "collector.toml:"));
            CHECK(cfg.listen == "127.0.0.1:8080");
            CHECK(cfg.login_max_failures == 5);
        }
    }

    TEST_CASE("apply_collector_toml: a TOML syntax error carries the line")
    {
        collector_config cfg;
        const auto e = apply_collector_toml(cfg, "listen = \"127.0.0.1:1\"\n[login\nmax_failures = 3\n", "c.toml");
        REQUIRE(e);
        CHECK(contains(e->message, "c.toml:2:"));
    }

    TEST_CASE("apply_collector_toml: listen takes host:port or a bracketed IPv6 address, port 0-65535")
    {
        const char* good[] = {"127.0.0.1:8080", "0.0.0.0:0", "localhost:65535", "[::1]:8080", "[::]:0",
                              "corvid.example.com:443"};
        for (const char* l : good) {
            CAPTURE(l);
            collector_config cfg;
            CHECK_FALSE(apply_collector_toml(cfg, std::string("listen = \"") + l + "\"", "c.toml"));
            CHECK(cfg.listen == l);
        }
        const char* bad[] = {":8080",       "localhost",      "localhost:",   "localhost:65536", "localhost:-1",
                             "localhost:8x", "::1:8080",      "[::1]8080",    "[::1]:",         "[]:80",
                             "[::1:80",     "host name:80",   "localhost: 80"};
        for (const char* l : bad) {
            CAPTURE(l);
            collector_config cfg;
            const auto e = apply_collector_toml(cfg, std::string("listen = \"") + l + "\"", "c.toml");
            REQUIRE(e);
            CHECK(e->key == "listen");
        }
    }

    TEST_CASE("load_collector_invocation: serve is the default, flags override the file")
    {
        temp_dir dir;
        const auto config = dir.write("collector.toml", "listen = \"127.0.0.1:9000\"\nretention_days = 7\n");
        {
            const args a{"--config", config};
            auto inv = load_collector_invocation(a.argc(), a.argv());
            REQUIRE(inv.has_value());
            CHECK(inv->command == command_kind::serve);
            CHECK(inv->config_path == config);
            CHECK(inv->config.listen == "127.0.0.1:9000");
            CHECK(inv->config.retention_days == 7);
        }
        {
            const args a{"serve", "--config=" + config, "--listen", "[::1]:0", "--data-dir", "/tmp/d",
                         "--log-level=debug"};
            auto inv = load_collector_invocation(a.argc(), a.argv());
            REQUIRE(inv.has_value());
            CHECK(inv->command == command_kind::serve);
            CHECK(inv->config.listen == "[::1]:0");
            CHECK(inv->config.data_dir == "/tmp/d");
            CHECK(inv->config.log_level == "debug");
            CHECK(inv->config.retention_days == 7);
        }
    }

    TEST_CASE("load_collector_invocation: user add and server add parse")
    {
        temp_dir dir;
        const auto config = dir.write("collector.toml", "data_dir = \"/from/file\"\n");
        {
            const args a{"user", "add", "alice.b-1_x", "--role", "operator", "--config", config};
            auto inv = load_collector_invocation(a.argc(), a.argv());
            REQUIRE(inv.has_value());
            CHECK(inv->command == command_kind::user_add);
            CHECK(inv->name == "alice.b-1_x");
            CHECK(inv->role == "operator");
            CHECK(inv->config.data_dir == "/from/file");
        }
        {
            const args a{"--config", config, "user", "add", "--role=admin", "root", "--data-dir", "/d"};
            auto inv = load_collector_invocation(a.argc(), a.argv());
            REQUIRE(inv.has_value());
            CHECK(inv->command == command_kind::user_add);
            CHECK(inv->name == "root");
            CHECK(inv->role == "admin");
            CHECK(inv->config.data_dir == "/d");
        }
        {
            const args a{"server", "add", "web 01 — Zürich", "--config", config};
            auto inv = load_collector_invocation(a.argc(), a.argv());
            REQUIRE(inv.has_value());
            CHECK(inv->command == command_kind::server_add);
            CHECK(inv->name == "web 01 — Zürich");
            CHECK(inv->role.empty());
        }
    }

    TEST_CASE("load_collector_invocation: --role is required and checked for user add")
    {
        temp_dir dir;
        const auto config = dir.write("collector.toml", "");
        {
            const args a{"user", "add", "alice", "--config", config};
            auto inv = load_collector_invocation(a.argc(), a.argv());
            REQUIRE_FALSE(inv.has_value());
            CHECK(inv.error().key == "--role");
        }
        {
            const args a{"user", "add", "alice", "--role", "root", "--config", config};
            auto inv = load_collector_invocation(a.argc(), a.argv());
            REQUIRE_FALSE(inv.has_value());
            CHECK(inv.error().key == "--role");
            CHECK(contains(inv.error().message, "root"));
        }
        {
            const args a{"user", "add", "alice", "--role", "--config", config};
            auto inv = load_collector_invocation(a.argc(), a.argv());
            REQUIRE_FALSE(inv.has_value());
            CHECK(inv.error().key == "--role");
        }
        {
            const args a{"server", "add", "web", "--role", "admin", "--config", config};
            auto inv = load_collector_invocation(a.argc(), a.argv());
            REQUIRE_FALSE(inv.has_value());
            CHECK(inv.error().key == "--role");
        }
    }

    TEST_CASE("load_collector_invocation: names are validated")
    {
        temp_dir dir;
        const auto config = dir.write("collector.toml", "");
        const std::string long_user(65, 'a');
        const std::string max_user(64, 'a');
        const std::string long_server(129, 'x');
        std::string max_server;
        for (int i = 0; i < 128; ++i)
            max_server += "é"; // 128 characters, 256 bytes
        struct named {
            const char* kind;
            std::string name;
            bool ok;
        };
        const named cases[] = {
            {"user", "alice", true},        {"user", max_user, true},      {"user", long_user, false},
            {"user", "", false},            {"user", "al ice", false},     {"user", "alice@x", false},
            {"user", "élise", false},       {"server", "db-1", true},      {"server", max_server, true},
            {"server", long_server, false}, {"server", "", false},         {"server", "a\tb", false},
            {"server", "a\nb", false},      {"server", "a\x7f", false},    {"server", "a\xc2\x85", false},
            {"server", "a\xff", false},     {"server", "a\xc0\xaf", false}, {"server", " web", false},
        };
        for (const auto& c : cases) {
            CAPTURE(c.kind);
            CAPTURE(c.name);
            const args a{c.kind, "add", c.name, "--role", "viewer", "--config", config};
            const args s{c.kind, "add", c.name, "--config", config};
            auto inv = std::string(c.kind) == "user" ? load_collector_invocation(a.argc(), a.argv())
                                                     : load_collector_invocation(s.argc(), s.argv());
            CHECK(inv.has_value() == c.ok);
            if (!inv)
                CHECK(inv.error().key == "NAME");
        }
    }

    TEST_CASE("load_collector_invocation: malformed command lines are errors")
    {
        temp_dir dir;
        const auto config = dir.write("collector.toml", "");
        struct bad {
            std::vector<std::string> argv;
            const char* key;
        };
        const bad cases[] = {
            {{"frobnicate"}, "frobnicate"},
            {{"user"}, "user"},
            {{"user", "del", "alice"}, "user"},
            {{"server", "add"}, "NAME"},
            {{"server", "add", "a", "b"}, "b"},
            {{"serve", "extra"}, "extra"},
            {{"--bogus"}, "--bogus"},
            {{"--listen"}, "--listen"},
            {{"--listen", "nohostport"}, "--listen"},
            {{"--listen", "[::1]:99999"}, "--listen"},
            {{"--data-dir="}, "--data-dir"},
            {{"--help=1"}, "--help"},
            {{"user", "add", "alice", "--role", "admin", "--listen", "0.0.0.0:1"}, "--listen"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.key);
            std::vector<const char*> argv{"corvid-collector", "--config", config.c_str()};
            for (const auto& w : c.argv)
                argv.push_back(w.c_str());
            auto inv = load_collector_invocation(static_cast<int>(argv.size()), argv.data());
            REQUIRE_FALSE(inv.has_value());
            CHECK(inv.error().key == c.key);
        }
    }

    TEST_CASE("load_collector_invocation: config file errors and --version / --help")
    {
        temp_dir dir;
        {
            const args a{"--config", dir.path() + "/missing.toml"};
            auto inv = load_collector_invocation(a.argc(), a.argv());
            REQUIRE_FALSE(inv.has_value());
            CHECK(inv.error().key == "--config");
        }
        {
            const auto config = dir.write("collector.toml", "listen = \"nope\"\n");
            const args a{"--config", config};
            auto inv = load_collector_invocation(a.argc(), a.argv());
            REQUIRE_FALSE(inv.has_value());
            CHECK(inv.error().key == "listen");
            CHECK(contains(inv.error().message, config + ":1:"));
        }
        {
            // Both work without reading the (missing) config file.
            const args a{"--version", "--config", dir.path() + "/missing.toml"};
            auto inv = load_collector_invocation(a.argc(), a.argv());
            REQUIRE(inv.has_value());
            CHECK(inv->command == command_kind::version);
            const args h{"user", "--help"};
            inv = load_collector_invocation(h.argc(), h.argv());
            REQUIRE(inv.has_value());
            CHECK(inv->command == command_kind::help);
        }
        CHECK(contains(corvid::collector::collector_usage(), "user add NAME"));
    }

    TEST_CASE("packaging/collector.toml: parses, and its commented-out values are the defaults")
    {
        const auto text = corvid::read_file(std::string(CORVID_SOURCE_DIR) + "/packaging/collector.toml");
        REQUIRE(text.has_value());
        collector_config as_shipped;
        REQUIRE_FALSE(apply_collector_toml(as_shipped, *text, "collector.toml"));

        const auto uncommented = corvid::test::uncomment_defaults(*text);
        for (const char* key : {"listen", "data_dir", "log_level", "token_ttl_s", "sqlite_synchronous",
                                "retention_days", "log_retention_days", "log_max_mb", "max_body_bytes",
                                "write_queue_samples", "write_queue_mb", "max_failures",
                                "window_s", "max_failures_per_address", "max_connections_per_address"}) {
            CAPTURE(key);
            CHECK(uncommented.find(std::string("\n") + key + " = ") != std::string::npos);
        }
        collector_config all;
        const auto e = apply_collector_toml(all, uncommented, "collector.toml");
        REQUIRE_FALSE(e);
        const collector_config defaults;
        CHECK(all.listen == defaults.listen);
        CHECK(all.data_dir == defaults.data_dir);
        CHECK(all.log_level == defaults.log_level);
        CHECK(all.token_ttl_s == defaults.token_ttl_s);
        CHECK(all.sqlite_synchronous == defaults.sqlite_synchronous);
        CHECK(all.retention_days == defaults.retention_days);
        CHECK(all.log_retention_days == defaults.log_retention_days);
        CHECK(all.log_max_mb == defaults.log_max_mb);
        CHECK(all.max_body_bytes == defaults.max_body_bytes);
        CHECK(all.write_queue_samples == defaults.write_queue_samples);
        CHECK(all.write_queue_mb == defaults.write_queue_mb);
        CHECK(all.login_max_failures == defaults.login_max_failures);
        CHECK(all.login_window_s == defaults.login_window_s);
        CHECK(all.login_max_failures_per_address == defaults.login_max_failures_per_address);
        CHECK(all.max_connections_per_address == defaults.max_connections_per_address);
    }
}

TEST_SUITE("config.collector_tls")
{
    TEST_CASE("apply_collector_toml: tls_cert and tls_key come together")
    {
        collector_config cfg;
        REQUIRE_FALSE(apply_collector_toml(cfg, "tls_cert = \"/etc/corvid/c.pem\"\ntls_key = \"/etc/corvid/k.pem\"\n",
                                           "collector.toml"));
        CHECK(cfg.tls_cert == "/etc/corvid/c.pem");
        CHECK(cfg.tls_key == "/etc/corvid/k.pem");
        collector_config half;
        auto e = apply_collector_toml(half, "tls_cert = \"/etc/corvid/c.pem\"\n", "collector.toml");
        REQUIRE(e);
        CHECK(e->message.find("tls_key") != std::string::npos);
        CHECK(half.tls_cert.empty());
        CHECK(apply_collector_toml(half, "tls_key = \"\"\n", "collector.toml"));
    }
}
