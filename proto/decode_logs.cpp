// Decoders of the log and gap messages. Shapes and limits: PROTOCOL.md section 11. A log entry's
// level is checked here (a stored level is one of six); a subscriber's level, search and history
// only for form, since the collector answers bad values with invalid_subscription.
#include "proto/decode_logs.hpp"

#include <algorithm>
#include <iterator>

namespace corvid::proto::detail {
namespace {

bool read_seq(json_reader& d, od::value v, const path& p, std::uint64_t& out)
{
    return d.read_uint(v, p, out) && (out >= 1 || d.fail(decode_errc::invalid_value, p, "must be at least 1"));
}

bool read_log_entry(json_reader& d, od::value v, const path& p, log_entry& e)
{
    static constexpr std::string_view names[] = {"timestamp", "level", "source", "message", "truncated"};
    return d.read_object(v, p, {names, 0b1111}, [&](std::size_t i, od::value fv, const path& fp) {
        switch (i) {
        case 0: return d.read_timestamp(fv, fp, e.timestamp_ms);
        case 1:
            return d.read_string(fv, fp, max_name_bytes, e.level)
                   && (log_level_from_name(e.level)
                       || d.fail(decode_errc::invalid_value, fp, "expected DEBUG, INFO, NOTICE, WARN, ERROR or CRIT"));
        case 2: return d.read_string(fv, fp, max_name_bytes, e.source);
        case 3: return d.read_string(fv, fp, max_log_message_bytes, e.message);
        default: return d.read_bool(fv, fp, e.truncated);
        }
    });
}

} // namespace

bool read_log_batch(json_reader& d, od::object root, log_batch& m)
{
    static constexpr std::string_view names[] = {"seq", "entries"};
    const path p{nullptr, "log"};
    return d.read_fields(root, p, {names, 0b11}, [&](std::size_t i, od::value v, const path& fp) {
        if (i == 0)
            return read_seq(d, v, fp, m.seq);
        const auto read_one = [&](od::value ev, const path& ep) {
            return read_log_entry(d, ev, ep, m.entries.emplace_back());
        };
        return d.read_array(v, fp, max_log_entries, read_one)
               && (!m.entries.empty() || d.fail(decode_errc::invalid_value, fp, "must not be empty"));
    });
}

bool read_gap(json_reader& d, od::object root, gap& m)
{
    static constexpr std::string_view names[] = {"stream", "first_seq", "last_seq", "count", "from", "to", "reason"};
    const path p{nullptr, "gap"};
    const bool ok = d.read_fields(root, p, {names, 0b1001111}, [&](std::size_t i, od::value v, const path& fp) {
        switch (i) {
        case 0:
            return d.read_string(v, fp, max_name_bytes, m.stream)
                   && (m.stream == "metrics" || m.stream == "logs"
                       || d.fail(decode_errc::invalid_value, fp, "expected \"metrics\" or \"logs\""));
        case 1: return read_seq(d, v, fp, m.first_seq);
        case 2: return read_seq(d, v, fp, m.last_seq);
        case 3: return read_seq(d, v, fp, m.count);
        case 4: return d.read_timestamp(v, fp, m.from_ms.emplace());
        case 5: return d.read_timestamp(v, fp, m.to_ms.emplace());
        default: return d.read_string(v, fp, max_name_bytes, m.reason);
        }
    });
    if (!ok)
        return false;
    // Checks across fields, once all are read (their order on the wire is free).
    if (m.last_seq < m.first_seq)
        return d.fail(decode_errc::invalid_value, p.field("last_seq"), "less than first_seq");
    if (m.count - 1 > m.last_seq - m.first_seq) // count >= 1 here, so no wrap-around
        return d.fail(decode_errc::invalid_value, p.field("count"), "more than the seqs from first_seq to last_seq");
    return true;
}

bool read_log_subscribe(json_reader& d, od::object root, log_subscribe& m)
{
    static constexpr std::string_view names[] = {"level", "search", "source", "history"};
    return d.read_fields(root, {nullptr, "subscribe"}, {names, 0}, [&](std::size_t i, od::value v, const path& p) {
        switch (i) {
        case 0: return d.read_string(v, p, max_name_bytes, m.level.emplace());
        case 1: return d.read_string(v, p, max_name_bytes, m.search.emplace());
        case 2: return d.read_string(v, p, max_name_bytes, m.source.emplace());
        default: return d.read_int(v, p, m.history.emplace());
        }
    });
}

} // namespace corvid::proto::detail

namespace corvid::proto {

std::optional<log_level> log_level_from_name(std::string_view name)
{
    const auto it = std::find(std::begin(log_level_names), std::end(log_level_names), name);
    if (it == std::end(log_level_names))
        return std::nullopt;
    return static_cast<log_level>(it - std::begin(log_level_names));
}

std::string_view log_level_name(log_level level)
{
    const auto i = static_cast<std::size_t>(level);
    return i < std::size(log_level_names) ? log_level_names[i] : "INFO";
}

} // namespace corvid::proto
