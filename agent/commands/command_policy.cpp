#include "agent/commands/command_policy.hpp"

#include <algorithm>
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
    // Without REG_NEWLINE, ^ and $ match only at the ends of the whole text, so a pattern for one
    // command cannot be satisfied by its first line alone.
    const std::string anchored = "^(" + pattern + ")$";
    const int rc = regcomp(&c->re, anchored.c_str(), REG_EXTENDED | REG_NOSUB);
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
    return regexec(&regex_->re, text.c_str(), 0, nullptr, 0) == 0;
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
    for (const char ch : command) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == 0)
            return "contains a NUL byte";
        if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
            return "contains a control character";
    }
    return std::nullopt;
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
