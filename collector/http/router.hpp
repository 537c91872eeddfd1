#pragma once
// Matches request paths against the route table's patterns (collector/http/routes.hpp holds the
// table), and parses query strings. Pure functions over untrusted text: nothing here allocates
// without bound or trusts a length. No Beast or Asio, so fuzz/http_fuzz.cpp compiles this file
// on its own.
#include <boost/system/result.hpp>
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace corvid::collector {

// The methods the collector answers. Bits, so the rows of one path add up to its Allow header.
enum class http_method : std::uint8_t { get = 1, post = 2, patch = 4, delete_ = 8 };
using method_set = std::uint8_t;

constexpr method_set bit(http_method m) { return static_cast<method_set>(m); }
std::string_view method_name(http_method m); // "GET", as on the wire
// "GET, POST": always in the order GET, POST, PATCH, DELETE, so a path's Allow never depends on
// the order of its rows.
std::string allow_header(method_set methods);
// "GET" → get; nullopt for any other method (HEAD, PUT, …): no row has it, so it is a 405.
std::optional<http_method> method_from_name(std::string_view name);

// What a pattern's parameters captured; each is checked when captured, so a value that breaks
// its rule makes the path not found and nothing odd reaches a handler:
//   {id}          server_id   a uuid (common/random.hpp, lower case)
//   {command_id}  command_id  a uuid
//   {username}    username    a user name (collector/names.hpp)
//   {name}        asset       a file name of the web UI (is_asset_name)
struct path_params {
    std::string server_id;
    std::string command_id;
    std::string username;
    std::string asset;
};

// A path cut at its slashes; empty segments are skipped ("/api//v1/" is api, v1). Paths deeper
// than any route are cut short and marked, never scanned further.
struct path_segments {
    static constexpr std::size_t max = 8;
    std::array<std::string_view, max> part{};
    std::size_t size = 0;
    bool too_deep = false;
    bool root = false; // exactly "/"
};
path_segments split_path(std::string_view path);

// Whether `path` fits `pattern` ("/api/v1/servers/{id}/logs"): literal segments equal, each
// {param} one segment that its rule accepts. The pattern "/" fits only the path "/". On a match
// `out` holds the captures; on none it may hold some. An unknown {param} fits nothing.
bool match_pattern(std::string_view pattern, const path_segments& path, path_params& out);

// A request looked up in a table of rows, each with a `pattern` and a `method`.
template <class Row> struct route_lookup {
    const Row* row = nullptr; // the row of this path and method; null: 404 (allowed empty) or 405
    method_set allowed = 0;   // the methods of every row whose pattern fits the path
    path_params params;
};

// `target` is the request target; its query string is ignored. The first row of the path and
// method wins (a test keeps the table free of duplicates). Unknown methods find no row.
template <class Row>
route_lookup<Row> find_route(std::span<const Row> rows, std::string_view target, std::optional<http_method> method)
{
    route_lookup<Row> out;
    const auto path = split_path(target.substr(0, target.find('?')));
    for (const Row& r : rows) {
        path_params captured;
        if (!match_pattern(r.pattern, path, captured))
            continue;
        if (out.allowed == 0)
            out.params = std::move(captured);
        out.allowed |= bit(r.method);
        if (!out.row && method && r.method == *method)
            out.row = &r;
    }
    return out;
}

// A name under /assets/: letters, digits, '.', '-' and '_', at most 64 bytes, not starting with
// '.', so it can never name a directory, a parent ("..") or a hidden file.
bool is_asset_name(std::string_view name);

// "a=1&b=x%20y" → {a: "1", b: "x y"}. Errors on bad percent-encoding, more than 32 parameters,
// or a repeated name.
boost::system::result<std::map<std::string, std::string>> parse_query(std::string_view target);

// A whole decimal integer ("-12"), or nothing (empty, trailing text, out of range).
std::optional<std::int64_t> parse_int(std::string_view s);

// Query parameter `name` (from parse_query) as an integer in [lo, hi]: nullopt when absent, an
// error when it is not a whole number in that range (the caller words the 400).
boost::system::result<std::optional<std::int64_t>>
query_int(const std::map<std::string, std::string>& query, const std::string& name, std::int64_t lo, std::int64_t hi);

} // namespace corvid::collector
