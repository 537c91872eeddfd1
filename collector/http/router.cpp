#include "collector/http/router.hpp"

#include <charconv>

#include "collector/names.hpp"
#include "common/random.hpp"

namespace corvid::collector {
namespace {
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

path_segments split_path(std::string_view path)
{
    path_segments out;
    out.root = path == "/";
    while (!path.empty()) {
        const auto slash = path.find('/');
        const auto part = path.substr(0, slash);
        if (!part.empty()) {
            if (out.size == path_segments::max) {
                out.too_deep = true; // deeper than any route: not found either way
                break;
            }
            out.part[out.size++] = part;
        }
        if (slash == std::string_view::npos)
            break;
        path.remove_prefix(slash + 1);
    }
    return out;
}

bool match_pattern(std::string_view pattern, const path_segments& path, path_params& out)
{
    if (pattern == "/")
        return path.root;
    if (path.too_deep)
        return false;
    std::size_t i = 0;
    while (!pattern.empty()) {
        const auto slash = pattern.find('/');
        const auto want = pattern.substr(0, slash);
        pattern.remove_prefix(slash == std::string_view::npos ? pattern.size() : slash + 1);
        if (want.empty())
            continue;
        if (i == path.size)
            return false;
        const auto got = path.part[i++];
        if (!want.starts_with('{')) {
            if (want != got)
                return false;
        } else if (want == "{id}" && is_uuid(got)) {
            out.server_id = got;
        } else if (want == "{command_id}" && is_uuid(got)) {
            out.command_id = got;
        } else if (want == "{username}" && !check_user_name(got)) {
            out.username = got;
        } else if (want == "{name}" && is_asset_name(got)) {
            out.asset = got;
        } else {
            return false; // a value its rule refuses, or a parameter this matcher does not know
        }
    }
    return i == path.size;
}

std::string_view method_name(http_method m)
{
    switch (m) {
    case http_method::get: return "GET";
    case http_method::post: return "POST";
    case http_method::patch: return "PATCH";
    case http_method::delete_: return "DELETE";
    }
    return "";
}

std::optional<http_method> method_from_name(std::string_view name)
{
    for (const auto m : {http_method::get, http_method::post, http_method::patch, http_method::delete_})
        if (method_name(m) == name)
            return m;
    return std::nullopt;
}

std::string allow_header(method_set methods)
{
    std::string out;
    for (const auto m : {http_method::get, http_method::post, http_method::patch, http_method::delete_}) {
        if (!(methods & bit(m)))
            continue;
        if (!out.empty())
            out += ", ";
        out += method_name(m);
    }
    return out;
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
