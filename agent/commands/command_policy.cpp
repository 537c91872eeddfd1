#include "agent/commands/command_policy.hpp"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <regex.h>

#include "common/random.hpp"
#include "common/signing.hpp"
#include "proto/codec.hpp"

namespace corvid::agent {

struct whole_match_pattern::compiled {
    regex_t re{};
    ~compiled() { regfree(&re); }
};

std::optional<whole_match_pattern> whole_match_pattern::compile(const std::string& pattern, std::string& problem)
{
    auto c = std::make_shared<compiled>();
    // REG_NEWLINE keeps `.` and negated brackets such as [^ ;] from ever matching a line break
    // (issue 12.1: "cat /var/log/[^ ;]+" matched "cat /var/log/x\nid", and sh ran `id`). It also
    // lets ^ and $ match at line breaks, so they alone no longer pin the whole text: matches()
    // checks that the match spans all of it. Both are defence in depth: matches() refuses any
    // text holding a control character before the regex is asked.
    const std::string anchored = "^(" + pattern + ")$";
    const int rc = regcomp(&c->re, anchored.c_str(), REG_EXTENDED | REG_NEWLINE);
    if (rc != 0) {
        char buf[256];
        regerror(rc, &c->re, buf, sizeof buf);
        problem = buf;
        return std::nullopt; // regcomp frees what it allocated on failure; compiled's regfree is harmless
    }
    whole_match_pattern p;
    p.source_ = pattern;
    p.regex_ = std::move(c);
    return p;
}

bool whole_match_pattern::matches(const std::string& text) const
{
    if (unsafe_command_text(text))
        return false;
    // POSIX matching is leftmost-longest: if any match spans the whole text, this one does.
    regmatch_t m{};
    return regexec(&regex_->re, text.c_str(), 1, &m, 0) == 0 && m.rm_so == 0 &&
           static_cast<std::size_t>(m.rm_eo) == text.size();
}

const whole_match_pattern* command_policy::allowing(const std::string& command) const
{
    for (const auto& p : allow)
        if (p.matches(command))
            return &p;
    return nullptr;
}

bool docker_policy::allows(std::string_view action) const
{
    return std::find(actions.begin(), actions.end(), action) != actions.end();
}

std::optional<std::string> unsafe_command_text(std::string_view command)
{
    for (std::size_t i = 0; i < command.size(); ++i) {
        const auto c = static_cast<unsigned char>(command[i]);
        if (c == 0)
            return fmt::format("contains a NUL byte (at byte {})", i);
        // Tab and newline too (issue 12.1): sh treats a newline as the end of a command, and no
        // operator's command line needs either.
        if (c < 0x20 || c == 0x7f)
            return fmt::format("contains the control character 0x{:02x} (at byte {}); no control character, "
                               "newline and tab included, is ever allowed",
                               c, i);
    }
    return std::nullopt;
}

std::optional<std::string> check_server_id(std::string_view v)
{
    // Upper case is accepted here (the config stores the id lower-cased, as the collector writes it).
    std::string lower(v);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (!is_uuid(lower))
        return "must be this server's id, the uuid `corvid-collector server add` printed as \"id\" "
               "(e.g. \"3f1c2a9e-8d7b-4c6a-9e5f-1a2b3c4d5e6f\")";
    return std::nullopt;
}

std::optional<std::string> check_command_privilege(const command_policy& p, const process_privilege& self)
{
    if (!p.enabled || !p.run_as.empty() || !(self.root || self.setuid_capability))
        return std::nullopt;
    return fmt::format("commands.run_as is required: commands are enabled and the agent {}, so without run_as "
                       "every command would run with that power; set run_as to an unprivileged user (e.g. "
                       "\"nobody\"), or to \"root\" if commands really must run as root",
                       self.root ? "runs as root" : "holds CAP_SETUID");
}

std::optional<toml_error> apply_commands_table(const toml_reader& r, const toml::table& t, command_policy& out)
{
    static constexpr std::string_view known[] = {"enabled", "allow", "run_as", "timeout_s", "output_cap_bytes",
                                                 "max_concurrent"};
    for (auto&& [k, v] : t) {
        const std::string key = "commands." + std::string(k.str());
        std::optional<toml_error> e;
        if (k == "enabled")
            e = r.boolean(v, key, out.enabled);
        else if (k == "allow") {
            std::vector<std::string> patterns;
            e = r.string_array(v, key, patterns, check_not_empty);
            if (!e) {
                out.allow.clear();
                for (const auto& p : patterns) {
                    std::string problem;
                    auto compiled = whole_match_pattern::compile(p, problem);
                    if (!compiled)
                        return r.at(v.source(), key, fmt::format("\"{}\" is not a valid extended regular expression: {}",
                                                                 p, problem));
                    out.allow.push_back(std::move(*compiled));
                }
            }
        } else if (k == "run_as")
            e = r.string(v, key, out.run_as, check_not_empty);
        else if (k == "timeout_s")
            e = r.integer(v, key, out.max_timeout_s, 1, 86400);
        else if (k == "output_cap_bytes")
            // The result travels in one frame of at most 1 MiB (PROTOCOL.md), escapes included.
            e = r.integer(v, key, out.output_cap_bytes, 1024, 512 * 1024);
        else if (k == "max_concurrent")
            e = r.integer(v, key, out.max_concurrent, 1, 64);
        else
            e = r.unknown(k, key, v.is_table(), known);
        if (e)
            return e;
    }
    return std::nullopt;
}

std::optional<toml_error> apply_docker_table(const toml_reader& r, const toml::table& t, docker_policy& out)
{
    static constexpr std::string_view known[] = {"enabled", "socket", "actions"};
    for (auto&& [k, v] : t) {
        const std::string key = "docker." + std::string(k.str());
        std::optional<toml_error> e;
        if (k == "enabled")
            e = r.boolean(v, key, out.enabled);
        else if (k == "socket")
            e = r.string(v, key, out.socket, check_not_empty);
        else if (k == "actions")
            e = r.string_array(v, key, out.actions, [](std::string_view a) -> std::optional<std::string> {
                if (proto::is_docker_action(a))
                    return std::nullopt;
                return fmt::format("\"{}\" is not an action (start, stop, restart, pause, unpause, kill, remove)", a);
            });
        else
            e = r.unknown(k, key, v.is_table(), known);
        if (e)
            return e;
    }
    return std::nullopt;
}

std::optional<toml_error> apply_collector_public_key(const toml_reader& r, const toml::node& n, std::string& out)
{
    std::string text;
    if (auto e = r.string(n, "collector_public_key", text))
        return e;
    auto raw = base64_decode(text);
    if (!raw || raw->size() != signing_public_key_bytes)
        return r.at(n.source(), "collector_public_key",
                    "must be the base64 Ed25519 public key that `corvid-collector server add` prints");
    out = std::move(*raw);
    return std::nullopt;
}

} // namespace corvid::agent
