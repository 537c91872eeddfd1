// The agent's [commands] and [docker] policy in its config file.
#include "agent/config.hpp"

#include <doctest/doctest.h>

#include "common/random.hpp"

using corvid::agent::agent_config;
using corvid::agent::apply_agent_toml;

namespace {
const std::string key_line = "collector_public_key = \"" + corvid::base64_encode(std::string(32, 'k')) + "\"\n";

bool allowed(const corvid::agent::command_policy& p, const std::string& command)
{
    return p.allowing(command) != nullptr;
}

std::optional<corvid::agent::config_error> apply_text(agent_config& cfg, const std::string& text)
{
    return apply_agent_toml(cfg, text, "agent.toml");
}
} // namespace

TEST_SUITE("config.agent_policy")
{
    TEST_CASE("policy: commands and docker are off by default and then run nothing")
    {
        agent_config cfg;
        REQUIRE_FALSE(apply_text(cfg, ""));
        CHECK_FALSE(cfg.remote.commands.enabled);
        CHECK_FALSE(cfg.remote.docker.enabled);
        CHECK_FALSE(allowed(cfg.remote.commands, "uptime"));
        REQUIRE_FALSE(apply_text(cfg, key_line + "[commands]\nenabled = true\n"));
        CHECK_FALSE(allowed(cfg.remote.commands, "uptime")); // enabled with no patterns: nothing runs
    }

    TEST_CASE("policy: allow patterns match the whole command line only")
    {
        agent_config cfg;
        REQUIRE_FALSE(apply_text(cfg, key_line + R"([commands]
enabled = true
allow = ["systemctl status [a-z0-9@.-]+", "uptime"]
run_as = "nobody"
timeout_s = 120
output_cap_bytes = 65536
max_concurrent = 4
)"));
        const auto& p = cfg.remote.commands;
        CHECK(allowed(p, "uptime"));
        CHECK(allowed(p, "systemctl status nginx.service"));
        CHECK_FALSE(allowed(p, "uptime; reboot"));
        CHECK_FALSE(allowed(p, "systemctl status nginx; reboot"));
        CHECK_FALSE(allowed(p, "uptime\nreboot")); // no line of a multi-line command is enough
        CHECK_FALSE(allowed(p, "xuptime"));
        CHECK(p.run_as == "nobody");
        CHECK(p.max_timeout_s == 120);
        CHECK(p.output_cap_bytes == 65536);
        CHECK(p.max_concurrent == 4);
        // A long command line does not exhaust the stack (POSIX regex, not std::regex).
        CHECK(allowed(p, "systemctl status " + std::string(16000, 'a')));
    }

    TEST_CASE("policy: errors name the key")
    {
        auto error_of = [](const std::string& text) {
            agent_config cfg;
            auto e = apply_text(cfg, text);
            REQUIRE(e);
            return *e;
        };
        CHECK(error_of(key_line + "[commands]\nallow = [\"(unclosed\"]\n").key == "commands.allow");
        CHECK(error_of(key_line + "[commands]\noutput_cap_bytes = 2000000\n").key == "commands.output_cap_bytes");
        CHECK(error_of(key_line + "[commands]\nrun_ass = \"x\"\n").message.find("did you mean") != std::string::npos);
        CHECK(error_of(key_line + "[docker]\nactions = [\"exec\"]\n").key == "docker.actions");
        CHECK(error_of("collector_public_key = \"c2hvcnQ=\"\n").key == "collector_public_key");
        // Remote execution without the collector's key cannot verify anything: refused.
        CHECK(error_of("[commands]\nenabled = true\n").key == "collector_public_key");
        CHECK(error_of("[docker]\nenabled = true\n").key == "collector_public_key");
    }

    TEST_CASE("policy: docker defaults and actions")
    {
        agent_config cfg;
        REQUIRE_FALSE(apply_text(cfg, key_line + "[docker]\nenabled = true\n"));
        const auto& d = cfg.remote.docker;
        CHECK(d.socket == "/var/run/docker.sock");
        CHECK(d.allows("restart"));
        CHECK_FALSE(d.allows("remove")); // destructive actions are opt-in
        REQUIRE_FALSE(apply_text(cfg, key_line + "[docker]\nenabled = true\nactions = [\"remove\"]\nsocket = \"/run/podman.sock\"\n"));
        CHECK(cfg.remote.docker.allows("remove"));
        CHECK_FALSE(cfg.remote.docker.allows("start"));
    }

    TEST_CASE("unsafe_command_text: NUL and control characters never reach a shell")
    {
        using corvid::agent::unsafe_command_text;
        CHECK_FALSE(unsafe_command_text("echo a b c"));
        CHECK_FALSE(unsafe_command_text("echo caf\xC3\xA9")); // UTF-8 above 0x7f is text
        CHECK(unsafe_command_text(std::string("ls\0rm", 5)));
        CHECK(unsafe_command_text("ls\x1b[2J"));
    }

    // The review's exact finding: this pattern's negated bracket matched '\n' and /bin/sh ran the
    // text after it ("id") as a second command.
    TEST_CASE("command_policy: issue 12.1 a newline in the command is denied even when the pattern's negated bracket "
              "would match it")
    {
        using corvid::agent::unsafe_command_text;
        agent_config cfg;
        REQUIRE_FALSE(apply_text(cfg, key_line + "[commands]\nenabled = true\nallow = [\"cat /var/log/[^ ;&|$`<>()]+\"]\n"));
        const auto& p = cfg.remote.commands;
        CHECK(allowed(p, "cat /var/log/syslog"));
        const std::string payload = "cat /var/log/none\nid";
        CHECK_FALSE(allowed(p, payload));
        CHECK(unsafe_command_text(payload));
        // Every other control character too, wherever it stands: none is ever part of an
        // allowed command line, whatever the pattern.
        for (int c = 0; c < 0x20; ++c) {
            CAPTURE(c);
            const std::string line = "cat /var/log/a" + std::string(1, static_cast<char>(c)) + "id";
            CHECK(unsafe_command_text(line));
            CHECK_FALSE(allowed(p, line));
        }
        CHECK(unsafe_command_text("cat /var/log/a\x7f"));
        CHECK_FALSE(allowed(p, "cat /var/log/a\x7f"));
        CHECK(unsafe_command_text("\ncat /var/log/a"));
        CHECK(unsafe_command_text("cat /var/log/a\r"));
        CHECK(unsafe_command_text("cat\t/var/log/a"));
        // A pattern that spells a line break itself still cannot allow one.
        REQUIRE_FALSE(apply_text(cfg, key_line + "[commands]\nenabled = true\nallow = [\"uptime(.|\\n)*\", \"echo [[:space:]a-z]+\"]\n"));
        CHECK(allowed(cfg.remote.commands, "uptime now"));
        CHECK_FALSE(allowed(cfg.remote.commands, "uptime\nreboot"));
        CHECK_FALSE(allowed(cfg.remote.commands, "echo a\nreboot"));
        CHECK_FALSE(allowed(cfg.remote.commands, "echo a\treboot"));
    }
}

TEST_SUITE("config.agent_remote_identity")
{
    TEST_CASE("server_id: a uuid, stored in lower case, anything else names the key")
    {
        agent_config cfg;
        REQUIRE_FALSE(apply_text(cfg, "server_id = \"3F1C2A9E-8d7b-4c6a-9e5f-1a2b3c4d5e6f\"\n"));
        CHECK(cfg.remote.server_id == "3f1c2a9e-8d7b-4c6a-9e5f-1a2b3c4d5e6f");
        for (const char* bad : {"\"web-1\"", "\"\"", "\"3f1c2a9e-8d7b-4c6a-9e5f-1a2b3c4d5e6\"",
                                "\"3f1c2a9e_8d7b-4c6a-9e5f-1a2b3c4d5e6f\"", "\"3f1c2a9e-8d7b-4c6a-9e5f-1a2b3c4d5e6g\"", "7"}) {
            CAPTURE(bad);
            agent_config other;
            auto e = apply_text(other, std::string("server_id = ") + bad + "\n");
            REQUIRE(e);
            CHECK(e->key == "server_id");
        }
    }

    TEST_CASE("check_command_privilege: issue 12.2 a root or CAP_SETUID agent needs an explicit run_as")
    {
        using corvid::agent::check_command_privilege;
        using corvid::agent::process_privilege;
        corvid::agent::command_policy p;
        p.enabled = true;
        const process_privilege root{true, false}, capable{false, true}, plain{false, false};
        auto problem = check_command_privilege(p, root);
        REQUIRE(problem);
        CHECK(problem->starts_with("commands.run_as is required"));
        CHECK(problem->find("runs as root") != std::string::npos);
        CHECK(problem->find('\n') == std::string::npos); // one line
        problem = check_command_privilege(p, capable);
        REQUIRE(problem);
        CHECK(problem->find("holds CAP_SETUID") != std::string::npos);
        CHECK_FALSE(check_command_privilege(p, plain)); // commands run as the agent's own, powerless user
        p.run_as = "nobody";
        CHECK_FALSE(check_command_privilege(p, root));
        CHECK_FALSE(check_command_privilege(p, capable));
        p.run_as = "root"; // written out: the operator asked for root
        CHECK_FALSE(check_command_privilege(p, root));
        p.run_as.clear();
        p.enabled = false;
        CHECK_FALSE(check_command_privilege(p, root));
    }
}

TEST_SUITE("config.agent_tls")
{
    TEST_CASE("tls_pin_sha256: a fingerprint is accepted, anything else names the key")
    {
        agent_config cfg;
        const std::string pin(64, 'a');
        REQUIRE_FALSE(apply_text(cfg, "tls_pin_sha256 = \"" + pin + "\"\n"));
        CHECK(cfg.tls_pin_sha256 == pin);
        auto e = apply_text(cfg, "tls_pin_sha256 = \"AB:CD\"\n");
        REQUIRE(e);
        CHECK(e->key == "tls_pin_sha256");
        CHECK(cfg.tls_pin_sha256 == pin); // a file with an error changes nothing
    }
}
