#include "collector/http/router.hpp"

#include <charconv>
#include <vector>

#include "collector/names.hpp"
#include "common/random.hpp"

namespace corvid::collector {
namespace {
std::vector<std::string_view> split_path(std::string_view path)
{
    std::vector<std::string_view> parts;
    while (!path.empty()) {
        const auto slash = path.find('/');
        const auto part = path.substr(0, slash);
        if (!part.empty())
            parts.push_back(part);
        if (slash == std::string_view::npos)
            break;
        path.remove_prefix(slash + 1);
        if (parts.size() > 8)
            break; // deeper than any route: not_found either way
    }
    return parts;
}

int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

boost::system::result<std::string> percent_decode(std::string_view s)
{
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') {
            out.push_back(' ');
        } else if (s[i] == '%') {
            const int hi = i + 1 < s.size() ? hex_value(s[i + 1]) : -1;
            const int lo = i + 2 < s.size() ? hex_value(s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return boost::system::error_code(EINVAL, boost::system::generic_category());
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}
} // namespace

bool is_asset_name(std::string_view name)
{
    if (name.empty() || name.size() > 64 || name.front() == '.')
        return false;
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'
                        || c == '-' || c == '_';
        if (!ok)
            return false;
    }
    return name.find("..") == std::string_view::npos;
}

route_match match_route(std::string_view target)
{
    const auto path = target.substr(0, target.find('?'));
    if (path == "/")
        return {.id = route_id::web_index};
    const auto p = split_path(path);
    if (p.size() == 2 && p[0] == "assets")
        return is_asset_name(p[1]) ? route_match{.id = route_id::web_asset, .asset = std::string(p[1])} : route_match{};
    auto with_id = [](route_id id, std::string_view server_id) {
        return is_uuid(server_id) ? route_match{.id = id, .server_id = std::string(server_id)} : route_match{};
    };
    // Legacy short forms of the frontend sockets: /ws/metrics/{id}, /ws/logs/{id}.
    if (p.size() == 3 && p[0] == "ws") {
        if (p[1] == "metrics")
            return with_id(route_id::metrics_ws, p[2]);
        if (p[1] == "logs")
            return with_id(route_id::logs_ws, p[2]);
        return {};
    }
    if (p.size() < 3 || p[0] != "api" || p[1] != "v1")
        return {};
    const auto n = p.size();
    if (n == 3 && p[2] == "servers")
        return {.id = route_id::servers};
    if (n == 3 && p[2] == "health")
        return {.id = route_id::health};
    if (n == 4 && p[2] == "auth" && p[3] == "login")
        return {.id = route_id::login};
    if (n == 4 && p[2] == "auth" && p[3] == "logout")
        return {.id = route_id::logout};
    if (n == 3 && p[2] == "users")
        return {.id = route_id::users};
    // A name outside the rules cannot exist: not_found, and nothing odd reaches a handler.
    if (n == 4 && p[2] == "users")
        return check_user_name(p[3]) ? route_match{} : route_match{.id = route_id::user, .username = std::string(p[3])};
    if (n == 4 && p[2] == "agents" && p[3] == "ws")
        return {.id = route_id::agent_ws};
    if (n == 4 && p[2] == "servers")
        return with_id(route_id::server, p[3]);
    if (n == 5 && p[2] == "servers" && p[4] == "api-key")
        return with_id(route_id::server_api_key, p[3]);
    if (n == 5 && p[2] == "servers" && p[4] == "metrics")
        return with_id(route_id::server_metrics, p[3]);
    if (n == 5 && p[2] == "servers" && p[4] == "logs")
        return with_id(route_id::server_logs, p[3]);
    if (n == 5 && p[2] == "servers" && p[4] == "gaps")
        return with_id(route_id::server_gaps, p[3]);
    if (n == 5 && p[2] == "ws" && p[3] == "metrics")
        return with_id(route_id::metrics_ws, p[4]);
    if (n == 5 && p[2] == "ws" && p[3] == "logs")
        return with_id(route_id::logs_ws, p[4]);
    if (n == 3 && p[2] == "collector")
        return {.id = route_id::collector_info};
    if (n == 3 && p[2] == "audit")
        return {.id = route_id::audit};
    if (n == 5 && p[2] == "servers" && p[4] == "commands")
        return with_id(route_id::server_commands, p[3]);
    if (n == 5 && p[2] == "servers" && p[4] == "docker")
        return with_id(route_id::server_docker, p[3]);
    if (n == 5 && p[2] == "servers" && p[4] == "containers")
        return with_id(route_id::server_containers, p[3]);
    auto with_command = [](route_id id, std::string_view command_id) {
        return is_uuid(command_id) ? route_match{.id = id, .command_id = std::string(command_id)} : route_match{};
    };
    if (n == 4 && p[2] == "commands")
        return with_command(route_id::command, p[3]);
    if (n == 5 && p[2] == "ws" && p[3] == "commands")
        return with_command(route_id::command_ws, p[4]);
    return {};
}

std::string_view allowed_methods(route_id id)
{
    switch (id) {
    case route_id::login:
    case route_id::logout: return "POST";
    case route_id::users: return "GET, POST";
    case route_id::user: return "PATCH, DELETE";
    case route_id::servers: return "GET, POST";
    case route_id::server: return "GET, DELETE";
    case route_id::server_api_key:
    case route_id::server_docker: return "POST";
    case route_id::server_commands: return "GET, POST";
    case route_id::server_containers:
    case route_id::command:
    case route_id::command_ws:
    case route_id::collector_info:
    case route_id::audit:
    case route_id::server_metrics:
    case route_id::server_logs:
    case route_id::server_gaps:
    case route_id::health:
    case route_id::agent_ws:
    case route_id::metrics_ws:
    case route_id::logs_ws:
    case route_id::web_index:
    case route_id::web_asset: return "GET";
    case route_id::not_found: return "";
    }
    return "";
}

std::optional<std::int64_t> parse_int(std::string_view s)
{
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size())
        return std::nullopt;
    return v;
}

boost::system::result<std::optional<std::int64_t>>
query_int(const std::map<std::string, std::string>& query, const std::string& name, std::int64_t lo, std::int64_t hi)
{
    auto it = query.find(name);
    if (it == query.end())
        return std::optional<std::int64_t>();
    auto v = parse_int(it->second);
    if (!v || *v < lo || *v > hi)
        return boost::system::error_code(EINVAL, boost::system::generic_category());
    return v;
}

boost::system::result<std::map<std::string, std::string>> parse_query(std::string_view target)
{
    std::map<std::string, std::string> out;
    const auto q = target.find('?');
    if (q == std::string_view::npos)
        return out;
    auto rest = target.substr(q + 1);
    while (!rest.empty()) {
        const auto amp = rest.find('&');
        const auto pair = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
        if (pair.empty())
            continue;
        const auto eq = pair.find('=');
        auto name = percent_decode(pair.substr(0, eq));
        auto value = percent_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
        if (!name || !value || name->empty())
            return boost::system::error_code(EINVAL, boost::system::generic_category());
        if (out.size() >= 32 || out.count(*name))
            return boost::system::error_code(EINVAL, boost::system::generic_category());
        out.emplace(std::move(*name), std::move(*value));
    }
    return out;
}

} // namespace corvid::collector
