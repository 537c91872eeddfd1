// The collector's configuration and command line (see config.hpp).
// Called once at start-up on the main thread; it reads the config file, so it blocks.
#include "collector/config.hpp"

#include <algorithm>
#include <charconv>
#include <iterator>
#include <utility>
#include <fmt/format.h>
#include <sys/stat.h>

#include "collector/names.hpp"
#include "common/command_line.hpp"
#include "common/file_util.hpp"
#include "common/toml_reader.hpp"

namespace corvid::collector {
namespace {

constexpr const char* default_config_path = "/etc/corvid/collector.toml";

// ---- value checks; each returns the problem ----

// host:port or [v6]:port. The host is handed to the resolver as is; port 0 lets the OS pick.
std::optional<std::string> check_listen(std::string_view v)
{
    std::string_view host, port;
    if (v.starts_with('[')) {
        const auto close = v.find(']');
        if (close == std::string_view::npos)
            return fmt::format("\"{}\" has an unterminated IPv6 address", v);
        host = v.substr(1, close - 1);
        if (v.substr(close + 1, 1) != ":")
            return fmt::format("\"{}\" must be [address]:port", v);
        port = v.substr(close + 2);
    } else {
        const auto colon = v.rfind(':');
        if (colon == std::string_view::npos)
            return fmt::format("\"{}\" must be host:port", v);
        host = v.substr(0, colon);
        port = v.substr(colon + 1);
        if (host.find(':') != std::string_view::npos)
            return fmt::format("\"{}\": write an IPv6 address in brackets, as [::1]:8080", v);
    }
    if (host.empty())
        return fmt::format("\"{}\" has no host (use 0.0.0.0 or [::] for all addresses)", v);
    for (const char c : host)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '/')
            return fmt::format("\"{}\" has an invalid host", v);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535)
        return fmt::format("\"{}\" has an invalid port (0-65535)", v);
    return std::nullopt;
}

std::optional<std::string> check_synchronous(std::string_view v)
{
    if (v != "normal" && v != "full")
        return fmt::format("must be \"normal\" or \"full\" (got \"{}\")", v);
    return std::nullopt;
}

std::optional<std::string> check_role(std::string_view v)
{
    if (v != "admin" && v != "operator" && v != "viewer")
        return fmt::format("must be admin, operator or viewer (got \"{}\")", v);
    return std::nullopt;
}

std::optional<toml_error> apply_login(const toml_reader& r, const toml::table& t, collector_config& cfg)
{
    for (auto&& [k, v] : t) {
        const std::string key = "login." + std::string(k.str());
        std::optional<toml_error> e;
        if (k == "max_failures")
            e = r.integer(v, key, cfg.login_max_failures, 1, 1000);
        else if (k == "max_failures_per_address")
            e = r.integer(v, key, cfg.login_max_failures_per_address, 1, 100000);
        else if (k == "window_s")
            e = r.integer(v, key, cfg.login_window_s, 1, 86400);
        else
            e = r.unknown(k, key, v.is_table());
        if (e)
            return e;
    }
    return std::nullopt;
}

// The TOML part works in toml_error; apply_collector_toml hands out the module's own error type.
config_error to_config_error(toml_error e) { return {std::move(e.key), std::move(e.message)}; }

// ---- the command line ----

enum class flag_id { config, listen, data_dir, log_level, role, version, help };

constexpr flag_spec<flag_id> flag_specs[] = {
    {"--config", flag_id::config, true},     {"--listen", flag_id::listen, true},
    {"--data-dir", flag_id::data_dir, true}, {"--log-level", flag_id::log_level, true},
    {"--role", flag_id::role, true},         {"--version", flag_id::version, false},
    {"--help", flag_id::help, false},
};

using parsed_flag = corvid::parsed_flag<flag_id>;

boost::system::result<parsed_command_line<flag_id>, config_error> parse_args(int argc, const char* const* argv)
{
    auto parsed = parse_command_line<flag_id>(argc, argv, flag_specs, true);
    if (!parsed) {
        auto e = parsed.error();
        return config_error{std::move(e.flag), std::move(e.message)};
    }
    return std::move(*parsed);
}

std::string_view command_name(command_kind c)
{
    switch (c) {
    case command_kind::user_add: return "user add";
    case command_kind::user_list: return "user list";
    case command_kind::user_delete: return "user delete";
    case command_kind::user_disable: return "user disable";
    case command_kind::user_enable: return "user enable";
    case command_kind::user_passwd: return "user passwd";
    case command_kind::user_role: return "user role";
    case command_kind::server_add: return "server add";
    default: return "serve";
    }
}

bool flag_allowed(command_kind c, flag_id f)
{
    switch (f) {
    case flag_id::config:
    case flag_id::data_dir:
    case flag_id::version:
    case flag_id::help: return true;
    case flag_id::listen:
    case flag_id::log_level: return c == command_kind::serve;
    case flag_id::role: return c == command_kind::user_add;
    }
    return false;
}

std::optional<config_error> checked(const std::string& key, std::string_view value,
                                    std::optional<std::string> (*check)(std::string_view), std::string& out)
{
    if (auto problem = check(value))
        return config_error{key, fmt::format("{}: {}", key, *problem)};
    out = value;
    return std::nullopt;
}

} // namespace

std::optional<config_error> apply_collector_toml(collector_config& cfg, std::string_view toml_text,
                                                 std::string_view source)
{
    const toml_reader r(source);
    auto parsed = r.parse(toml_text);
    if (!parsed)
        return to_config_error(std::move(parsed.error()));
    const toml::table& root = *parsed;
    // Work on a copy so a file with an error changes nothing.
    collector_config next = cfg;
    for (auto&& [k, v] : root) {
        const std::string key(k.str());
        std::optional<toml_error> e;
        if (key == "listen")
            e = r.string(v, key, next.listen, check_listen);
        else if (key == "data_dir")
            e = r.string(v, key, next.data_dir, check_not_empty);
        else if (key == "log_level")
            e = r.string(v, key, next.log_level, check_log_level);
        else if (key == "token_ttl_s")
            e = r.integer(v, key, next.token_ttl_s, 60, 604800);
        else if (key == "sqlite_synchronous")
            e = r.string(v, key, next.sqlite_synchronous, check_synchronous);
        else if (key == "retention_days")
            e = r.integer(v, key, next.retention_days, 1, 3650);
        else if (key == "log_retention_days")
            e = r.integer(v, key, next.log_retention_days, 1, 3650);
        else if (key == "log_max_mb")
            e = r.integer(v, key, next.log_max_mb, 1, 1048576);
        else if (key == "max_body_bytes")
            e = r.integer(v, key, next.max_body_bytes, 1024, 16777216);
        else if (key == "write_queue_samples")
            e = r.integer(v, key, next.write_queue_samples, 100, 1000000);
        else if (key == "write_queue_mb")
            e = r.integer(v, key, next.write_queue_mb, 1, 4096);
        else if (key == "max_connections_per_address")
            e = r.integer(v, key, next.max_connections_per_address, 1, 1000000);
        else if (key == "tls_cert")
            e = r.string(v, key, next.tls_cert, check_not_empty);
        else if (key == "tls_key")
            e = r.string(v, key, next.tls_key, check_not_empty);
        else if (key == "login") {
            if (const auto* t = v.as_table())
                e = apply_login(r, *t, next);
            else
                e = r.wrong_type(v, key, "a table");
        } else
            e = r.unknown(k, key, v.is_table());
        if (e)
            return to_config_error(std::move(*e));
    }
    // Half a TLS setup would silently serve plain text; refuse it.
    if (next.tls_cert.empty() != next.tls_key.empty()) {
        const bool has_cert = !next.tls_cert.empty();
        const std::string present = has_cert ? "tls_cert" : "tls_key";
        const std::string missing = has_cert ? "tls_key" : "tls_cert";
        const std::string problem =
            fmt::format("{} is set but {} is not: set both (PEM files) or neither", present, missing);
        if (const auto* node = root.get(present))
            return to_config_error(r.at(node->source(), missing, problem));
        return config_error{missing, fmt::format("{}: {}: {}", source, missing, problem)};
    }
    cfg = std::move(next);
    return std::nullopt;
}

boost::system::result<collector_invocation, config_error> load_collector_invocation(int argc,
                                                                                    const char* const* argv)
{
    auto args = parse_args(argc, argv);
    if (!args)
        return args.error();

    collector_invocation inv;
    for (const auto& f : args->flags) {
        // Help and version must work even when the installed config file is broken.
        if (f.id == flag_id::help) {
            inv.command = command_kind::help;
            return inv;
        }
        if (f.id == flag_id::version)
            inv.command = command_kind::version;
    }
    if (inv.command == command_kind::version)
        return inv;

    // The sub-command.
    const auto& words = args->words;
    std::size_t used = 0;
    if (words.empty() || words[0] == "serve") {
        inv.command = command_kind::serve;
        used = words.empty() ? 0 : 1;
    } else if (words[0] == "user" && words.size() >= 2 && words[1] != "add") {
        // user list | delete NAME | disable NAME | enable NAME | passwd NAME | role NAME ROLE
        static constexpr std::pair<std::string_view, command_kind> verbs[] = {
            {"list", command_kind::user_list},       {"delete", command_kind::user_delete},
            {"disable", command_kind::user_disable}, {"enable", command_kind::user_enable},
            {"passwd", command_kind::user_passwd},   {"role", command_kind::user_role},
        };
        const auto* verb = std::find_if(std::begin(verbs), std::end(verbs), [&](const auto& v) { return v.first == words[1]; });
        if (verb == std::end(verbs))
            return config_error{words[0], fmt::format("unknown command \"user {}\"; see --help", words[1])};
        inv.command = verb->second;
        used = 2;
        if (inv.command != command_kind::user_list) {
            if (words.size() < 3)
                return config_error{"NAME", fmt::format("missing NAME: expected `user {} NAME{}`", words[1],
                                                        inv.command == command_kind::user_role ? " ROLE" : "")};
            inv.name = words[2];
            if (auto problem = check_user_name(inv.name))
                return config_error{"NAME", *problem};
            used = 3;
        }
        if (inv.command == command_kind::user_role) {
            if (words.size() < 4)
                return config_error{"ROLE", "missing ROLE: expected `user role NAME admin|operator|viewer`"};
            if (auto problem = check_role(words[3]))
                return config_error{"ROLE", *problem};
            inv.role = words[3];
            used = 4;
        }
    } else if (words[0] == "user" || words[0] == "server") {
        const bool user = words[0] == "user";
        const std::string form = user ? "user add NAME --role admin|operator|viewer" : "server add NAME";
        if (words.size() < 2 || words[1] != "add")
            return config_error{words[0], fmt::format("expected `{}`", form)};
        if (words.size() < 3)
            return config_error{"NAME", fmt::format("missing NAME: expected `{}`", form)};
        inv.command = user ? command_kind::user_add : command_kind::server_add;
        inv.name = words[2];
        if (auto problem = user ? check_user_name(inv.name) : check_server_name(inv.name))
            return config_error{"NAME", *problem};
        used = 3;
    } else {
        return config_error{words[0], fmt::format("unknown command \"{}\"; see --help", words[0])};
    }
    if (used < words.size())
        return config_error{words[used], fmt::format("unexpected argument \"{}\"", words[used])};

    for (const auto& f : args->flags)
        if (!flag_allowed(inv.command, f.id))
            return config_error{f.name, fmt::format("{} does not apply to `{}`", f.name, command_name(inv.command))};

    // The file, then the flags.
    std::optional<std::string> explicit_config;
    for (const auto& f : args->flags)
        if (f.id == flag_id::config)
            explicit_config = f.value;
    auto file = read_config_file(explicit_config, default_config_path);
    if (!file)
        return to_config_error(file.error());
    if (*file) {
        if (auto e = apply_collector_toml(inv.config, (*file)->text, (*file)->path))
            return *e;
        inv.config_path = (*file)->path;
    }

    for (const auto& f : args->flags) {
        std::optional<config_error> e;
        switch (f.id) {
        case flag_id::listen: e = checked(f.name, f.value, check_listen, inv.config.listen); break;
        case flag_id::data_dir: e = checked(f.name, f.value, check_not_empty, inv.config.data_dir); break;
        case flag_id::log_level: e = checked(f.name, f.value, check_log_level, inv.config.log_level); break;
        case flag_id::role: e = checked(f.name, f.value, check_role, inv.role); break;
        default: break;
        }
        if (e)
            return *e;
    }
    if (inv.command == command_kind::user_add && inv.role.empty())
        return config_error{"--role", "user add needs --role admin, operator or viewer"};
    return inv;
}

std::string collector_usage()
{
    return R"(Usage:
  corvid-collector [serve] [--config FILE] [--listen HOST:PORT] [--data-dir DIR] [--log-level LEVEL]
  corvid-collector user add NAME --role admin|operator|viewer [--data-dir DIR] [--config FILE]
  corvid-collector user list | delete NAME | disable NAME | enable NAME | passwd NAME
  corvid-collector user role NAME admin|operator|viewer
  corvid-collector server add NAME [--data-dir DIR] [--config FILE]
  corvid-collector --version | --help

serve (the default) receives agents' samples, stores them and serves the dashboard and REST API.
user add and user passwd read the password from stdin. user list prints the users as one JSON
array. delete, disable, passwd and role end the user's sessions (tokens and open sockets, within
a few seconds even while the collector runs); the last enabled admin cannot be deleted, disabled or
demoted. server add registers a server and prints one JSON line describing it.

  --config FILE        TOML config file (default /etc/corvid/collector.toml, if it exists)
  --listen HOST:PORT   address to listen on (default 127.0.0.1:8080; IPv6 as [::1]:8080;
                       port 0 lets the OS pick)
  --data-dir DIR       database directory (default /var/lib/corvid)
  --log-level LEVEL    debug, info, notice, warn or error (default info)
  --role ROLE          for user add: admin, operator or viewer

NAME: a user name is 1-64 of A-Z a-z 0-9 . _ -; a server name is 1-128 printable characters.
Flags override the config file, and also take the form --flag=value.
)";
}

} // namespace corvid::collector
