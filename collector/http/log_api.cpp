#include "collector/http/log_api.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "common/json_text.hpp"
#include "common/time_format.hpp"
#include "proto/codec.hpp"

namespace corvid::collector {
namespace http = boost::beast::http;
using status = http::status;

namespace {
constexpr std::size_t default_page = 100, max_page = 1000;
constexpr std::size_t max_filter_bytes = 1024; // search and source, as on a logs socket
constexpr std::int64_t max_unix_s = 253402300799; // 9999-12-31T23:59:59Z
// A page's body stops growing past this (a whole page of 64 KiB entries would be 64 MB); the rest
// is on the next page.
constexpr std::size_t max_body_bytes = 4 * 1024 * 1024;
constexpr std::string_view search_timed_out =
    "the search took too long: narrow the time range, add a level or source, or search for words of 3 or "
    "more characters (shorter ones cannot use the index)";

bool is_valid_utf8(std::string_view s)
{
    for (std::size_t i = 0; i < s.size();) {
        const auto n = utf8_sequence_length(s, i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

// A time parameter: Unix seconds (as /metrics takes them) or an ISO 8601 UTC time. `end` makes
// whole seconds cover their last millisecond.
std::optional<std::int64_t> parse_time_param(std::string_view v, bool end)
{
    if (auto s = parse_int(v)) {
        if (*s < 0 || *s > max_unix_s)
            return std::nullopt;
        return *s * 1000 + (end ? 999 : 0);
    }
    return parse_iso8601_ms(v);
}

void put_optional_time(std::string& out, const std::optional<std::int64_t>& ms)
{
    if (ms)
        append_json_string(out, format_iso8601_ms(*ms));
    else
        out += "null";
}

std::string gap_json(const gap_record& g)
{
    std::string out = R"({"stream":)";
    append_json_string(out, g.stream);
    fmt::format_to(std::back_inserter(out), R"(,"first_seq":{},"last_seq":{},"count":{},"from":)", g.first_seq,
                   g.last_seq, g.count);
    put_optional_time(out, g.from_ms);
    out += R"(,"to":)";
    put_optional_time(out, g.to_ms);
    out += R"(,"reason":)";
    append_json_string(out, g.reason);
    out += R"(,"reported_at":)";
    append_json_string(out, format_iso8601_ms(g.reported_at_ms));
    out += '}';
    return out;
}

class log_request {
public:
    explicit log_request(rest_call& c) : a_(c.a), req_(c.req), route_(c.path) {}

    net::awaitable<http_response> logs();
    net::awaitable<http_response> gaps();

private:
    http_response json(status s, std::string body) const { return json_response(req_, s, std::move(body)); }
    http_response error(status s, std::string_view m) const { return error_response(req_, s, m); }

    // Fills filter_, cursor_ and limit_ from the query string; the 400 message on failure.
    std::optional<std::string> read_log_params(const std::map<std::string, std::string>& q);

    app& a_;
    const http_request& req_;
    const path_params& route_;
    log_filter filter_;
    std::optional<log_cursor> cursor_;
    std::size_t limit_ = default_page;
};

std::optional<std::string> log_request::read_log_params(const std::map<std::string, std::string>& q)
{
    const auto get = [&](const char* name) -> const std::string* {
        auto it = q.find(name);
        return it == q.end() ? nullptr : &it->second;
    };
    if (const auto* v = get("from")) {
        filter_.from_ms = parse_time_param(*v, false);
        if (!filter_.from_ms)
            return "'from' must be a Unix time in seconds or an ISO 8601 UTC time like 2026-01-01T00:00:05.000Z";
    }
    if (const auto* v = get("to")) {
        filter_.to_ms = parse_time_param(*v, true);
        if (!filter_.to_ms)
            return "'to' must be a Unix time in seconds or an ISO 8601 UTC time like 2026-01-01T00:00:05.000Z";
    }
    if (filter_.from_ms && filter_.to_ms && *filter_.from_ms > *filter_.to_ms)
        return "'from' is after 'to'";
    if (const auto* v = get("level")) {
        std::string upper = *v;
        std::transform(upper.begin(), upper.end(), upper.begin(),
                       [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; });
        const auto level = proto::log_level_from_name(upper);
        if (!level)
            return "'level' must be one of DEBUG, INFO, NOTICE, WARN, ERROR, CRIT";
        filter_.min_level = static_cast<int>(*level);
    }
    for (const char* name : {"search", "source"}) {
        const auto* v = get(name);
        if (!v || v->empty()) // empty: no restriction
            continue;
        if (v->size() > max_filter_bytes)
            return fmt::format("'{}' is longer than {} bytes", name, max_filter_bytes);
        if (!is_valid_utf8(*v))
            return fmt::format("'{}' is not valid UTF-8", name);
        (std::string_view(name) == "search" ? filter_.search : filter_.source) = *v;
    }
    const auto limit = query_int(q, "limit", 1, static_cast<std::int64_t>(max_page));
    if (!limit)
        return fmt::format("'limit' must be 1 to {}", max_page);
    limit_ = static_cast<std::size_t>(limit->value_or(default_page));
    if (const auto* v = get("cursor")) {
        cursor_ = parse_log_cursor(*v);
        if (!cursor_)
            return "'cursor' must be the 'next' value of an earlier page";
    }
    return std::nullopt;
}

net::awaitable<http_response> log_request::logs()
{
    const std::string server = route_.server_id;
    auto missing = co_await server_missing(a_, req_, server);
    if (missing)
        co_return std::move(*missing);
    auto query = parse_query(req_.target());
    if (!query)
        co_return error(status::bad_request, "malformed query string");
    if (auto problem = read_log_params(*query))
        co_return error(status::bad_request, *problem);
    const std::string id = route_.server_id;
    // Up to 1000 entries of up to 64 KiB: the body is assembled on the reader thread.
    auto body = co_await a_.store.read([&](storage& s) -> storage_result<std::string> {
        auto page = s.query_logs(id, filter_, cursor_, limit_);
        if (!page)
            return page.error();
        std::string out = R"({"entries":[)";
        for (std::size_t i = 0; i < page->entries.size(); ++i) {
            auto& r = page->entries[i];
            if (i)
                out += ',';
            const auto level = static_cast<proto::log_level>(std::clamp(r.level, 0, 5));
            proto::append_log_entry(out, proto::log_entry{r.timestamp_ms, std::string(proto::log_level_name(level)),
                                                          std::move(r.source), std::move(r.message), r.truncated});
            // A page of 1000 entries of 64 KiB would be 64 MB: past the byte budget the page ends
            // here, and `next` continues after this entry (issue 12.8).
            if (out.size() >= max_body_bytes && i + 1 < page->entries.size()) {
                page->next = log_cursor{r.timestamp_ms, r.id};
                break;
            }
        }
        out += R"(],"next":)";
        if (page->next)
            append_json_string(out, format_log_cursor(*page->next));
        else
            out += "null";
        out += '}';
        return out;
    });
    if (!body && body.error() == storage_errc::timed_out)
        co_return error(status::service_unavailable, search_timed_out);
    if (!body)
        co_return storage_failure(req_, body.error());
    co_return json(status::ok, std::move(*body));
}

net::awaitable<http_response> log_request::gaps()
{
    const std::string server = route_.server_id;
    auto missing = co_await server_missing(a_, req_, server);
    if (missing)
        co_return std::move(*missing);
    auto query = parse_query(req_.target());
    if (!query)
        co_return error(status::bad_request, "malformed query string");
    const auto limit_param = query_int(*query, "limit", 1, static_cast<std::int64_t>(max_page));
    if (!limit_param)
        co_return error(status::bad_request, fmt::format("'limit' must be 1 to {}", max_page));
    const auto limit = static_cast<std::size_t>(limit_param->value_or(default_page));
    const std::string id = route_.server_id;
    auto rows = co_await a_.store.read([&](storage& s) { return s.list_gaps(id, limit); });
    if (!rows)
        co_return storage_failure(req_, rows.error());
    std::string body = R"({"gaps":[)";
    for (std::size_t i = 0; i < rows->size(); ++i) {
        if (i)
            body += ',';
        body += gap_json((*rows)[i]);
    }
    body += "]}";
    co_return json(status::ok, std::move(body));
}
} // namespace

std::string format_log_cursor(const log_cursor& c) { return fmt::format("{}:{}", c.timestamp_ms, c.id); }

std::optional<log_cursor> parse_log_cursor(std::string_view text)
{
    const auto colon = text.find(':');
    if (colon == std::string_view::npos)
        return std::nullopt;
    const auto ts = parse_int(text.substr(0, colon));
    const auto id = parse_int(text.substr(colon + 1));
    if (!ts || !id || *id < 1)
        return std::nullopt;
    return log_cursor{*ts, *id};
}

net::awaitable<http_response> get_logs(rest_call& c)
{
    return handle_with<log_request, &log_request::logs>(c);
}

net::awaitable<http_response> get_gaps(rest_call& c)
{
    return handle_with<log_request, &log_request::gaps>(c);
}

} // namespace corvid::collector
