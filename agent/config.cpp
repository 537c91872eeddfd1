// The agent's configuration: TOML file, then environment, then flags (see config.hpp).
// Called once at start-up on the main thread; it reads files and stats them, so it blocks.
#include "agent/config.hpp"

#include <cctype>
#include <charconv>
#include <cstdint>
#include <fmt/format.h>
#include <sys/stat.h>

#include "common/command_line.hpp"
#include "common/file_util.hpp"
#include "common/tls_pin.hpp"
#include "common/toml_reader.hpp"

namespace corvid::agent {
namespace {

constexpr const char* default_config_path = "/etc/corvid/agent.toml";
constexpr int min_interval_s = 1;
constexpr int max_interval_s = 60;
// The key file is read again on every connection attempt; this only bounds the start-up check.
constexpr std::size_t max_key_file_bytes = 64 * 1024;

// ---- value checks shared by the file, the environment and the flags; each returns the problem ----

// host[:port] or [v6]:port after the scheme, without credentials (a key in a URL ends up in logs).
std::optional<std::string> check_collector_url(std::string_view url)
{
    for (const char c : url)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
            return "must not contain spaces or control characters";
    std::string_view rest;
    if (url.starts_with("ws://"))
        rest = url.substr(5);
    else if (url.starts_with("wss://"))
        rest = url.substr(6);
    else if (const auto scheme = url.find("://"); scheme != std::string_view::npos)
        // Only the scheme is echoed: the rest may hold credentials.
        return fmt::format("must start with ws:// or wss:// (got {}://)", url.substr(0, scheme));
    else
        return "must start with ws:// or wss://";
    const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    if (authority.find('@') != std::string_view::npos)
        return "must not contain user credentials; set api_key_file instead";
    std::string_view host = authority, port;
    if (authority.starts_with('[')) {
        const auto close = authority.find(']');
        if (close == std::string_view::npos)
            return "has an unterminated IPv6 address";
        host = authority.substr(1, close - 1);
        const auto after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':')
                return "has text after the IPv6 address";
            port = after.substr(1);
            if (port.empty())
                return "has an empty port";
        }
    } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
        if (port.empty())
            return "has an empty port";
    }
    if (host.empty())
        return "has no host";
    if (!port.empty()) {
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc{} || end != port.data() + port.size() || value < 1 || value > 65535)
            return fmt::format("has an invalid port \"{}\" (1-65535)", port);
    }
    return std::nullopt;
}

// The SHA-256 fingerprint of the collector's certificate, as `openssl x509 -fingerprint -sha256`
// prints it or as bare hex; normalized when the connection is made (common/tls_pin.hpp).
std::optional<std::string> check_tls_pin(std::string_view v)
{
    if (!normalize_sha256_fingerprint(v))
        return "must be a SHA-256 fingerprint: 64 hex digits, colons allowed (openssl x509 -noout -fingerprint "
               "-sha256 -in cert.pem)";
    return std::nullopt;
}

std::optional<std::string> check_interval(std::int64_t v)
{
    if (v < min_interval_s || v > max_interval_s)
        return fmt::format("must be between {} and {} seconds (got {})", min_interval_s, max_interval_s, v);
    return std::nullopt;
}

// Device and interface names become path components under /sys, so a '/' would escape the tree.
std::optional<std::string> check_device_name(std::string_view v)
{
    if (v.empty() || v.find('/') != std::string_view::npos || v == "." || v == "..")
        return fmt::format("\"{}\" is not a device name", v);
    return std::nullopt;
}

std::optional<toml_error> apply_collectors(const toml_reader& r, const toml::table& t, collector_toggles& on)
{
    static constexpr std::string_view known[] = {"cpu",     "memory", "disk_usage", "disk_io",
                                                 "network", "load",   "uptime"};
    for (auto&& [k, v] : t) {
        const std::string key = "collectors." + std::string(k.str());
        bool* target = nullptr;
        if (k == "cpu") target = &on.cpu;
        else if (k == "memory") target = &on.memory;
        else if (k == "disk_usage") target = &on.disk_usage;
        else if (k == "disk_io") target = &on.disk_io;
        else if (k == "network") target = &on.network;
        else if (k == "load") target = &on.load;
        else if (k == "uptime") target = &on.uptime;
        else return r.unknown(k, key, v.is_table(), known);
        if (auto e = r.boolean(v, key, *target))
            return e;
    }
    return std::nullopt;
}

// [disk_io] and [network] hold one key each: the names reported although filtered by default.
std::optional<toml_error> apply_include_table(const toml_reader& r, const toml::table& t, std::string_view table,
                                              std::vector<std::string>& out)
{
    for (auto&& [k, v] : t) {
        const std::string key = fmt::format("{}.{}", table, k.str());
        if (k != "include")
        {
            static constexpr std::string_view known[] = {"include"};
            return r.unknown(k, key, v.is_table(), known);
        }
        if (auto e = r.string_array(v, key, out, check_device_name))
            return e;
    }
    return std::nullopt;
}

std::optional<toml_error> apply_host(const toml_reader& r, const toml::table& t, host_paths& paths)
{
    for (auto&& [k, v] : t) {
        const std::string key = "host." + std::string(k.str());
        std::string* target = nullptr;
        if (k == "proc") target = &paths.proc;
        else if (k == "sys") target = &paths.sys;
        else {
            static constexpr std::string_view known[] = {"proc", "sys"};
            return r.unknown(k, key, v.is_table(), known);
        }
        if (auto e = r.string(v, key, *target, check_not_empty))
            return e;
    }
    return std::nullopt;
}

// ---- [logs] ----

bool has_control_character(std::string_view v)
{
    for (const char c : v)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            return true;
    return false;
}

std::optional<std::string> check_log_file_pattern(std::string_view v)
{
    // Relative patterns would depend on the agent's working directory, which systemd sets to /.
    if (!v.starts_with('/'))
        return "must be absolute";
    if (has_control_character(v))
        return "must not contain control characters";
    return std::nullopt;
}

std::optional<std::string> check_journal_unit(std::string_view v)
{
    if (v.empty() || has_control_character(v) || v.find_first_of(" =") != std::string_view::npos)
        return "must be a unit name such as \"nginx.service\" (no spaces, '=' or control characters)";
    return std::nullopt;
}

std::optional<std::string> check_journal_directory(std::string_view v)
{
    if (v.empty())
        return std::nullopt; // the system journal
    if (!v.starts_with('/'))
        return "must be absolute, or \"\" for the system journal";
    if (has_control_character(v))
        return "must not contain control characters";
    return std::nullopt;
}

// [[logs.files]]: an array of tables, so that options per file can be added without a new syntax.
std::optional<toml_error> apply_log_files(const toml_reader& r, const toml::node& n, std::vector<log_file_config>& out)
{
    const auto* arr = n.as_array();
    if (!arr)
        return r.wrong_type(n, "logs.files", "an array of tables ([[logs.files]])");
    if (arr->size() > max_log_file_patterns)
        return r.at(n.source(), "logs.files", fmt::format("at most {} entries (got {})", max_log_file_patterns,
                                                          arr->size()));
    std::vector<log_file_config> files;
    for (std::size_t i = 0; i < arr->size(); ++i) {
        const std::string prefix = fmt::format("logs.files[{}]", i);
        const auto* t = (*arr)[i].as_table();
        if (!t)
            return r.wrong_type((*arr)[i], prefix, "a table");
        log_file_config f;
        for (auto&& [k, v] : *t) {
            const std::string key = prefix + "." + std::string(k.str());
            if (k != "path") {
                static constexpr std::string_view known[] = {"path"};
                return r.unknown(k, key, v.is_table(), known);
            }
            if (auto e = r.string(v, key, f.path, check_log_file_pattern))
                return e;
        }
        if (f.path.empty())
            return r.at(t->source(), prefix + ".path", "is required");
        files.push_back(std::move(f));
    }
    out = std::move(files);
    return std::nullopt;
}

// A journalctl priority name or its number, as a string or an integer.
std::optional<toml_error> apply_min_priority(const toml_reader& r, const toml::node& n, const std::string& key,
                                             int& out)
{
    std::optional<int> priority;
    if (const auto* i = n.as_integer()) {
        if (i->get() >= 0 && i->get() <= 7)
            priority = static_cast<int>(i->get());
    } else if (const auto* s = n.as_string())
        priority = parse_syslog_priority(s->get());
    else
        return r.wrong_type(n, key, "a string or an integer");
    if (!priority)
        return r.at(n.source(), key, "must be emerg, alert, crit, err, warning, notice, info, debug or 0-7");
    out = *priority;
    return std::nullopt;
}

std::optional<toml_error> apply_journal_table(const toml_reader& r, const toml::table& t, journal_source_config& out)
{
    static constexpr std::string_view known[] = {"enabled", "units", "min_priority", "directory"};
    for (auto&& [k, v] : t) {
        const std::string key = "logs.journal." + std::string(k.str());
        std::optional<toml_error> e;
        if (k == "enabled")
            e = r.boolean(v, key, out.enabled);
        else if (k == "units") {
            e = r.string_array(v, key, out.units, check_journal_unit);
            if (!e && out.units.size() > max_journal_units)
                e = r.at(v.source(), key, fmt::format("at most {} units (got {})", max_journal_units,
                                                      out.units.size()));
        } else if (k == "min_priority")
            e = apply_min_priority(r, v, key, out.min_priority);
        else if (k == "directory")
            e = r.string(v, key, out.directory, check_journal_directory);
        else
            e = r.unknown(k, key, v.is_table(), known);
        if (e)
            return e;
    }
    return std::nullopt;
}

std::optional<toml_error> apply_logs_table(const toml_reader& r, const toml::table& t, logs_config& out)
{
    static constexpr std::string_view known[] = {"rate_limit_per_s", "max_message_bytes", "files", "journal"};
    for (auto&& [k, v] : t) {
        const std::string key = "logs." + std::string(k.str());
        std::optional<toml_error> e;
        if (k == "rate_limit_per_s")
            e = r.integer(v, key, out.rate_limit_per_s, min_log_rate_per_s, max_log_rate_per_s);
        else if (k == "max_message_bytes")
            e = r.integer(v, key, out.max_message_bytes, min_log_message_bytes, max_log_message_bytes);
        else if (k == "files")
            e = apply_log_files(r, v, out.files);
        else if (k == "journal") {
            if (const auto* j = v.as_table())
                e = apply_journal_table(r, *j, out.journal);
            else
                e = r.wrong_type(v, key, "a table");
        } else
            e = r.unknown(k, key, v.is_table(), known);
        if (e)
            return e;
    }
    return std::nullopt;
}

std::string lower_case(std::string s)
{
    for (char& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// The TOML part works in toml_error; apply_agent_toml hands out the module's own error type.
config_error to_config_error(toml_error e) { return {std::move(e.key), std::move(e.message)}; }

// ---- the command line ----

enum class flag_id {
    config, collector_url, api_key_file, interval, state_dir, ca_file, tls_pin_sha256, log_level, proc_root, sys_root,
    once, version, help
};

constexpr flag_spec<flag_id> flag_specs[] = {
    {"--config", flag_id::config, true},       {"--collector-url", flag_id::collector_url, true},
    {"--api-key-file", flag_id::api_key_file, true}, {"--interval", flag_id::interval, true},
    {"--state-dir", flag_id::state_dir, true}, {"--ca-file", flag_id::ca_file, true},
    {"--tls-pin-sha256", flag_id::tls_pin_sha256, true},
    {"--log-level", flag_id::log_level, true}, {"--proc-root", flag_id::proc_root, true},
    {"--sys-root", flag_id::sys_root, true},   {"--once", flag_id::once, false},
    {"--version", flag_id::version, false},    {"--help", flag_id::help, false},
};

using parsed_flag = corvid::parsed_flag<flag_id>;

boost::system::result<std::vector<parsed_flag>, config_error> parse_flags(int argc, const char* const* argv)
{
    auto parsed = parse_command_line<flag_id>(argc, argv, flag_specs, false);
    if (!parsed) {
        auto e = parsed.error();
        if (e.flag == "--api-key")
            return config_error{e.flag, "there is no --api-key flag (the command line is visible in ps); use "
                                        "--api-key-file, api_key_file in the config file or CORVID_API_KEY"};
        return config_error{std::move(e.flag), std::move(e.message)};
    }
    return std::move(parsed->flags);
}

std::optional<config_error> checked(const std::string& key, std::string_view value,
                                     std::optional<std::string> (*check)(std::string_view), std::string& out)
{
    if (auto problem = check(value))
        return config_error{key, fmt::format("{}: {}", key, *problem)};
    out = value;
    return std::nullopt;
}

std::optional<config_error> apply_flag(agent_config& cfg, const parsed_flag& f)
{
    switch (f.id) {
    case flag_id::collector_url: return checked(f.name, f.value, check_collector_url, cfg.collector_url);
    case flag_id::api_key_file:
        // The key sources are alternatives: the later source replaces an inline key from an earlier one.
        cfg.api_key.clear();
        return checked(f.name, f.value, check_not_empty, cfg.api_key_file);
    case flag_id::interval: {
        std::int64_t v = 0;
        const auto [end, ec] = std::from_chars(f.value.data(), f.value.data() + f.value.size(), v);
        if (ec != std::errc{} || end != f.value.data() + f.value.size())
            return config_error{f.name, fmt::format("{}: \"{}\" is not a whole number of seconds", f.name, f.value)};
        if (auto problem = check_interval(v))
            return config_error{f.name, fmt::format("{}: {}", f.name, *problem)};
        cfg.interval_s = static_cast<int>(v);
        return std::nullopt;
    }
    case flag_id::state_dir: return checked(f.name, f.value, check_not_empty, cfg.state_dir);
    case flag_id::ca_file: cfg.ca_file = f.value; return std::nullopt; // "" restores the system CAs
    case flag_id::tls_pin_sha256:
        if (f.value.empty()) { // "" removes a pin set in the file
            cfg.tls_pin_sha256.clear();
            return std::nullopt;
        }
        return checked(f.name, f.value, check_tls_pin, cfg.tls_pin_sha256);
    case flag_id::log_level: return checked(f.name, f.value, check_log_level, cfg.log_level);
    case flag_id::proc_root: return checked(f.name, f.value, check_not_empty, cfg.sampler.paths.proc);
    case flag_id::sys_root: return checked(f.name, f.value, check_not_empty, cfg.sampler.paths.sys);
    case flag_id::config:
    case flag_id::once:
    case flag_id::version:
    case flag_id::help: return std::nullopt; // handled by the caller
    }
    return std::nullopt;
}

// Empty variables count as unset: a unit file's blank Environment= line should not wipe the file's value.
std::optional<std::string> lookup(const env_lookup& env, const std::string& name)
{
    if (!env)
        return std::nullopt;
    auto v = env(name);
    if (v && v->empty())
        return std::nullopt;
    return v;
}

// Group/others permission bits, or 0 when the file cannot be stat'ed (it was just read, so rare).
mode_t shared_bits(const std::string& path)
{
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        return 0;
    return st.st_mode & (S_IRWXG | S_IRWXO);
}

} // namespace

// [spool]: max_mb may be fractional (tests use a few KiB to force a gap quickly).
std::optional<toml_error> apply_spool_table(const toml_reader& r, const toml::table& t, spool_settings& out)
{
    static constexpr std::string_view known[] = {"max_mb", "max_age_hours", "sync"};
    for (auto&& [k, v] : t) {
        const std::string key = "spool." + std::string(k.str());
        std::optional<toml_error> e;
        if (k == "max_mb") {
            const auto mb = v.value<double>(); // integers convert too
            if (!mb || !(v.is_integer() || v.is_floating_point()))
                e = r.wrong_type(v, key, "a number");
            else if (!(*mb >= 0.004 && *mb <= 1024 * 1024))
                e = r.at(v.source(), key, "must be between 0.004 (4 KiB) and 1048576 (1 TiB)");
            else
                out.max_bytes = static_cast<std::uint64_t>(*mb * 1024 * 1024);
        } else if (k == "max_age_hours") {
            const auto* i = v.as_integer();
            if (!i)
                e = r.wrong_type(v, key, "an integer");
            else if (i->get() < 1 || i->get() > 24 * 366)
                e = r.at(v.source(), key, "must be between 1 and 8784 (a year)");
            else
                out.max_age = std::chrono::hours(i->get());
        } else if (k == "sync")
            e = r.boolean(v, key, out.sync);
        else
            e = r.unknown(k, key, v.is_table(), known);
        if (e)
            return e;
    }
    return std::nullopt;
}

std::optional<config_error> apply_agent_toml(agent_config& cfg, std::string_view toml_text, std::string_view source)
{
    const toml_reader r(source);
    auto parsed = r.parse(toml_text);
    if (!parsed)
        return to_config_error(std::move(parsed.error()));
    const toml::table& root = *parsed;
    static constexpr std::string_view known[] = {
        "collector_url", "api_key", "api_key_file", "interval_s", "state_dir", "ca_file", "tls_pin_sha256", "log_level",
        "collectors",    "disk_io", "network",      "host",      "commands",  "docker",  "collector_public_key",
        "logs",          "spool",   "server_id"};
    // Work on a copy so a file with an error changes nothing.
    agent_config next = cfg;
    for (auto&& [k, v] : root) {
        const std::string key(k.str());
        std::optional<toml_error> e;
        if (key == "collector_url")
            e = r.string(v, key, next.collector_url, check_collector_url);
        else if (key == "api_key")
            e = r.string(v, key, next.api_key, check_not_empty);
        else if (key == "api_key_file")
            e = r.string(v, key, next.api_key_file, check_not_empty);
        else if (key == "interval_s") {
            const auto* i = v.as_integer();
            if (!i)
                e = r.wrong_type(v, key, "an integer");
            else if (auto problem = check_interval(i->get()))
                e = r.at(v.source(), key, *problem);
            else
                next.interval_s = static_cast<int>(i->get());
        } else if (key == "state_dir")
            e = r.string(v, key, next.state_dir, check_not_empty);
        else if (key == "ca_file")
            e = r.string(v, key, next.ca_file);
        else if (key == "tls_pin_sha256")
            e = r.string(v, key, next.tls_pin_sha256, check_tls_pin);
        else if (key == "log_level")
            e = r.string(v, key, next.log_level, check_log_level);
        else if (key == "collector_public_key")
            e = apply_collector_public_key(r, v, next.remote.collector_public_key);
        else if (key == "server_id") {
            e = r.string(v, key, next.remote.server_id, check_server_id);
            next.remote.server_id = lower_case(std::move(next.remote.server_id)); // as the collector writes it
        } else if (key == "commands" || key == "docker") {
            const auto* t = v.as_table();
            if (!t)
                e = r.wrong_type(v, key, "a table");
            else if (key == "commands")
                e = apply_commands_table(r, *t, next.remote.commands);
            else
                e = apply_docker_table(r, *t, next.remote.docker);
        } else if (key == "spool") {
            if (const auto* t = v.as_table())
                e = apply_spool_table(r, *t, next.spool);
            else
                e = r.wrong_type(v, key, "a table");
        } else if (key == "logs") {
            if (const auto* t = v.as_table())
                e = apply_logs_table(r, *t, next.logs);
            else
                e = r.wrong_type(v, key, "a table");
        } else if (key == "collectors" || key == "disk_io" || key == "network" || key == "host") {
            const auto* t = v.as_table();
            if (!t)
                e = r.wrong_type(v, key, "a table");
            else if (key == "collectors")
                e = apply_collectors(r, *t, next.sampler.enabled);
            else if (key == "disk_io")
                e = apply_include_table(r, *t, key, next.sampler.disk_io_include);
            else if (key == "network")
                e = apply_include_table(r, *t, key, next.sampler.network_include);
            else
                e = apply_host(r, *t, next.sampler.paths);
        } else
            e = r.unknown(k, key, v.is_table(), known);
        if (e)
            return to_config_error(std::move(*e));
    }
    // Two sources for one secret in one file is ambiguous; make the operator pick.
    if (root.contains("api_key") && root.contains("api_key_file"))
        return to_config_error(
            r.at(root.get("api_key_file")->source(), "api_key_file", "set either api_key or api_key_file, not both"));
    // Remote execution is only as safe as the signature check, which needs the collector's key.
    const auto& remote = next.remote;
    if ((remote.commands.enabled || remote.docker.enabled) && remote.collector_public_key.empty()) {
        const auto* where = root.get(remote.commands.enabled ? "commands" : "docker");
        return to_config_error(r.at(where->source(), "collector_public_key",
                                    "collector_public_key is required when commands or docker are enabled"));
    }
    cfg = std::move(next);
    return std::nullopt;
}

boost::system::result<agent_invocation, config_error> load_agent_invocation(int argc, const char* const* argv,
                                                                            const env_lookup& env)
{
    auto flags = parse_flags(argc, argv);
    if (!flags)
        return flags.error();

    agent_invocation inv;
    std::optional<std::string> explicit_config;
    for (const auto& f : *flags) {
        if (f.id == flag_id::once) inv.once = true;
        else if (f.id == flag_id::version) inv.version = true;
        else if (f.id == flag_id::help) inv.help = true;
        else if (f.id == flag_id::config) explicit_config = f.value;
    }
    // Help and version must work even when the installed config file is broken.
    if (inv.help || inv.version)
        return inv;

    // 1. The file.
    bool file_has_inline_key = false;
    auto file = read_config_file(explicit_config, default_config_path);
    if (!file)
        return to_config_error(file.error());
    if (*file) {
        if (auto e = apply_agent_toml(inv.config, (*file)->text, (*file)->path))
            return *e;
        inv.config_path = (*file)->path;
        file_has_inline_key = !inv.config.api_key.empty();
    }

    // 2. The environment.
    if (auto url = lookup(env, "CORVID_COLLECTOR_URL"))
        if (auto e = checked("CORVID_COLLECTOR_URL", *url, check_collector_url, inv.config.collector_url))
            return *e;
    if (auto key = lookup(env, "CORVID_API_KEY")) {
        inv.config.api_key = *key;
        inv.config.api_key_file.clear();
    }
    if (auto id = lookup(env, "CORVID_SERVER_ID")) {
        if (auto e = checked("CORVID_SERVER_ID", *id, check_server_id, inv.config.remote.server_id))
            return *e;
        inv.config.remote.server_id = lower_case(std::move(inv.config.remote.server_id));
    }

    // 3. The flags.
    for (const auto& f : *flags)
        if (auto e = apply_flag(inv.config, f))
            return *e;

    // 4. What the merged result must hold. --once samples locally and needs no collector.
    const auto& cfg = inv.config;
    if (!inv.once) {
        if (cfg.collector_url.empty())
            return config_error{"collector_url", "collector_url is required: set it in the config file, "
                                                 "CORVID_COLLECTOR_URL or --collector-url"};
        if (cfg.api_key.empty() && cfg.api_key_file.empty())
            return config_error{"api_key", "an API key is required: set api_key_file (or api_key) in the config "
                                           "file, CORVID_API_KEY or --api-key-file"};
        // Issue 12.3: the id commands must be addressed to comes from this host's own config, never
        // from the collector's auth_success, so a replayed command for another host is refused.
        if (cfg.remote.commands.enabled && cfg.remote.server_id.empty())
            return config_error{"server_id", "server_id is required when commands are enabled: set it to the \"id\" "
                                             "`corvid-collector server add` printed for this host (or CORVID_SERVER_ID)"};
        if (!cfg.tls_pin_sha256.empty() && !cfg.collector_url.starts_with("wss://"))
            return config_error{"tls_pin_sha256", "tls_pin_sha256 needs a wss:// collector_url (ws:// has no "
                                                  "certificate to pin)"};
        if (!cfg.api_key_file.empty()) {
            auto key = read_file(cfg.api_key_file, max_key_file_bytes);
            if (!key)
                return config_error{"api_key_file", fmt::format("cannot read api_key_file {}: {}", cfg.api_key_file,
                                                                key.error().message())};
            if (key->find_first_not_of(" \t\r\n") == std::string::npos)
                return config_error{"api_key_file", fmt::format("api_key_file {} is empty", cfg.api_key_file)};
        }
    }

    // 5. Warnings: secrets should be readable by the agent's user alone.
    if (!cfg.api_key_file.empty() && readable_by_group_or_others(cfg.api_key_file))
        inv.warnings.push_back(fmt::format("api_key_file {} is accessible by group or others; chmod 0600 it",
                                           cfg.api_key_file));
    if (!inv.config_path.empty()) {
        const mode_t bits = shared_bits(inv.config_path);
        if (file_has_inline_key && (bits & (S_IRGRP | S_IROTH)))
            inv.warnings.push_back(fmt::format("config file {} holds api_key and is readable by group or others; "
                                               "chmod 0600 it or move the key to api_key_file",
                                               inv.config_path));
        else if (bits & S_IROTH)
            inv.warnings.push_back(fmt::format("config file {} is readable by others; chmod 0640 or tighter, "
                                               "since it is where api_key may be set",
                                               inv.config_path));
    }
    return inv;
}

std::string agent_usage()
{
    return R"(Usage: corvid-agent [options]
Samples this host's metrics and sends them to a Corvid collector over a WebSocket.

  --config PATH          TOML config file (default /etc/corvid/agent.toml, if it exists)
  --collector-url URL    ws://host:port/api/v1/agents/ws or wss://...  (env CORVID_COLLECTOR_URL)
  --api-key-file PATH    file holding the API key (or api_key_file / api_key in the config file,
                         or env CORVID_API_KEY); there is no --api-key flag: ps would show it
  --interval N           seconds between samples, 1-60 (default 5)
  --state-dir DIR        agent state (default /var/lib/corvid-agent)
  --ca-file PATH         PEM CA bundle for wss:// (default: the system CAs)
  --tls-pin-sha256 HEX   also require the collector's certificate to have this SHA-256
                         fingerprint (colons optional; checked after the CA and host name)
  --log-level LEVEL      debug, info, notice, warn or error (default info)
  --proc-root DIR        where procfs is mounted (default /proc)
  --sys-root DIR         where sysfs is mounted (default /sys)
  --once                 print one sample as JSON and exit (needs no collector)
  --version              print the version and exit
  --help                 print this help and exit

Settings are read from the config file, then the environment, then the flags; each overrides
the one before. Flags also take the form --flag=value. server_id (env CORVID_SERVER_ID) is set
in the config file or the environment only.
)";
}

} // namespace corvid::agent
