// Log entries in SQLite (the log_entries table, its trigram full-text index log_fts and the
// log_usage byte count, all kept in step by triggers: sqlite_schema.cpp v3).
#include "collector/storage/sqlite_storage_impl.hpp"

#include <algorithm>
#include <chrono>
#include <fmt/format.h>
#include <variant>

#include "collector/storage/log_search.hpp"
#include "common/log.hpp"

namespace corvid::collector::sqlite {
namespace {

log_record read_log(sqlite3_stmt* s)
{
    log_record r;
    r.id = sqlite3_column_int64(s, 0);
    r.timestamp_ms = sqlite3_column_int64(s, 1);
    r.level = static_cast<int>(sqlite3_column_int64(s, 2));
    r.source = column_text(s, 3);
    r.message = column_text(s, 4);
    r.truncated = sqlite3_column_int64(s, 5) != 0;
    return r;
}

// What one log row costs on disk, estimated: the row itself (message, source, the server id and
// the numbers), its entries in the three indexes (server id, source, timestamp each again) and its
// postings in the trigram index (about 1.2 bytes per message byte with detail=none). Calibrated
// with SQLite's dbstat on syslog-like lines; tests/storage/sqlite_logs_test.cpp checks that the
// sum stays within a factor 1.5 of what dbstat measures.
std::int64_t estimated_log_row_bytes(std::string_view server_id, const log_record& r)
{
    return static_cast<std::int64_t>(r.message.size() * 9 / 4 + r.source.size() * 2 + server_id.size() * 4 + 64);
}

// While it lives, statements on `db` are interrupted (SQLITE_INTERRUPT) once `limit` has passed:
// SQLite calls the progress handler every 1000 virtual machine steps, a few microseconds apart.
class query_deadline {
public:
    query_deadline(sqlite3* db, std::chrono::milliseconds limit)
        : db_(db), until_(std::chrono::steady_clock::now() + limit)
    {
        sqlite3_progress_handler(db_, 1000, &query_deadline::passed, this);
    }
    ~query_deadline() { sqlite3_progress_handler(db_, 0, nullptr, nullptr); }
    query_deadline(const query_deadline&) = delete;
    query_deadline& operator=(const query_deadline&) = delete;

private:
    static int passed(void* self)
    {
        return std::chrono::steady_clock::now() >= static_cast<query_deadline*>(self)->until_ ? 1 : 0;
    }
    sqlite3* db_;
    std::chrono::steady_clock::time_point until_;
};

} // namespace

storage_result<log_insert> sqlite_storage::insert_log_batch(std::string_view server_id, std::uint64_t seq,
                                                            std::span<const log_record> entries)
{
    static constexpr sql_statement batch_known{
        "look up log batch", "SELECT 1 FROM log_entries WHERE server_id = ?1 AND batch_seq = ?2 LIMIT 1"};
    static constexpr sql_statement insert_entry{
        "insert log entry",
        "INSERT INTO log_entries (server_id, batch_seq, idx, timestamp_ms, level, source, message, truncated,"
        " size_estimate) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"};
    const auto stored_seq = static_cast<std::int64_t>(seq); // bit for bit, see read_gap
    return db_.in_transaction([&]() -> storage_result<log_insert> {
        auto known = db_.query_one(batch_known, &read_first_integer, server_id, stored_seq);
        if (!known)
            return known.error();
        log_insert result;
        if (*known)
            return result; // sent again after a lost ack: stored once, acknowledged again
        result.fresh = true;
        result.ids.reserve(entries.size());
        for (std::size_t i = 0; i < entries.size(); ++i) {
            const auto& e = entries[i];
            auto r = db_.run(insert_entry, server_id, stored_seq, static_cast<std::int64_t>(i), e.timestamp_ms, e.level,
                             e.source, e.message, e.truncated, estimated_log_row_bytes(server_id, e));
            if (!r)
                return r.error();
            result.ids.push_back(sqlite3_last_insert_rowid(db_.handle()));
        }
        return result;
    });
}

storage_result<log_page> sqlite_storage::query_logs(std::string_view server_id, const log_filter& filter,
                                                    const std::optional<log_cursor>& after, std::size_t limit)
{
    bool index_failed = false;
    auto page = run_log_query(server_id, filter, after, limit, true, index_failed);
    if (!page && index_failed) {
        // The prefilter is an optimisation whose SQL log_search builds; should SQLite ever refuse
        // it, the exact condition alone still answers (by scanning), rather than an error.
        log::warn("storage: the full-text prefilter for search '{}' failed; scanning instead",
                  filter.search ? *filter.search : "");
        page = run_log_query(server_id, filter, after, limit, false, index_failed);
    }
    return page;
}

storage_result<log_page> sqlite_storage::run_log_query(std::string_view server_id, const log_filter& filter,
                                                       const std::optional<log_cursor>& after, std::size_t limit,
                                                       bool use_index, bool& index_failed)
{
    if (limit == 0)
        return log_page{};
    using param = std::variant<std::int64_t, std::string>;
    std::vector<param> params;
    const auto next = [&](auto p) { // an std::int64_t or an std::string
        params.emplace_back(std::move(p));
        return fmt::format("?{}", params.size());
    };
    std::string sql = "SELECT l.id, l.timestamp_ms, l.level, l.source, l.message, l.truncated FROM log_entries AS l"
                      " WHERE l.server_id = " + next(std::string(server_id));
    if (filter.from_ms)
        sql += " AND l.timestamp_ms >= " + next(*filter.from_ms);
    if (filter.to_ms)
        sql += " AND l.timestamp_ms <= " + next(*filter.to_ms);
    if (filter.min_level > 0)
        sql += " AND l.level >= " + next(std::int64_t{filter.min_level});
    if (filter.source)
        sql += " AND l.source = " + next(*filter.source);
    if (filter.max_id)
        sql += " AND l.id <= " + next(*filter.max_id);
    if (after) {
        // Row values: SQLite turns this into a range on the (…, timestamp_ms, id) index.
        const auto ts = next(after->timestamp_ms);
        sql += " AND (l.timestamp_ms, l.id) < (" + ts + ", " + next(after->id) + ")";
    }
    bool prefiltered = false;
    if (filter.search) {
        const auto search = log_search::parse(*filter.search);
        if (use_index)
            if (auto fts = search.fts_prefilter()) {
                sql += " AND l.id IN (SELECT rowid FROM log_fts WHERE log_fts MATCH " + next(*fts) + ")";
                prefiltered = true;
            }
        std::vector<std::string> terms;
        const auto condition = search.sql_condition("lower(l.message)", static_cast<int>(params.size()) + 1, terms);
        for (auto& t : terms)
            params.emplace_back(std::move(t));
        sql += " AND " + condition;
    }
    // One more than asked: whether there is a next page.
    sql += " ORDER BY l.timestamp_ms DESC, l.id DESC LIMIT " + next(clamp_to_int64(limit + 1));

    one_off_statement s;
    if (const int rc = s.prepare(db_.handle(), sql.c_str()); rc != SQLITE_OK) {
        index_failed = prefiltered;
        return db_.fail(rc, "prepare log query");
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
        const int at = static_cast<int>(i) + 1;
        const int rc = std::holds_alternative<std::int64_t>(params[i])
                           ? sqlite3_bind_int64(s.get(), at, std::get<std::int64_t>(params[i]))
                           : sqlite3_bind_text64(s.get(), at, std::get<std::string>(params[i]).data(),
                                                 std::get<std::string>(params[i]).size(), SQLITE_STATIC, SQLITE_UTF8);
        if (rc != SQLITE_OK)
            return db_.fail(rc, "bind log query");
    }
    log_page page;
    page.entries.reserve(limit < 256 ? limit + 1 : 256);
    const query_deadline deadline(db_.handle(), log_query_deadline_);
    for (;;) {
        const int rc = sqlite3_step(s.get());
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW) {
            // A query cut off by its deadline would be no faster without the index.
            index_failed = prefiltered && (rc & 0xff) != SQLITE_INTERRUPT;
            return db_.fail(rc, "query logs");
        }
        page.entries.push_back(read_log(s.get()));
    }
    if (page.entries.size() > limit) {
        page.entries.pop_back();
        page.next = log_cursor{page.entries.back().timestamp_ms, page.entries.back().id};
    }
    return page;
}

storage_result<std::size_t> sqlite_storage::delete_logs_before(std::int64_t cutoff_ms, std::size_t max_rows)
{
    // Oldest first through log_entries_by_ts; each row's delete trigger keeps log_fts and log_usage in step.
    static constexpr sql_statement sql{"delete old log entries",
                                       "DELETE FROM log_entries WHERE id IN (SELECT id FROM log_entries"
                                       " WHERE timestamp_ms < ?1 ORDER BY timestamp_ms LIMIT ?2)"};
    return delete_oldest(db_, sql, cutoff_ms, max_rows);
}

storage_result<std::uint64_t> sqlite_storage::log_bytes()
{
    static constexpr sql_statement sql{"read log usage", "SELECT bytes FROM log_usage WHERE id = 1"};
    auto r = db_.query_one(sql, &read_first_integer);
    if (!r)
        return r.error();
    return static_cast<std::uint64_t>(std::max<std::int64_t>(0, r->value_or(0)));
}

storage_result<std::size_t> sqlite_storage::trim_logs_to(std::uint64_t max_bytes, std::size_t max_rows)
{
    // The shortest run of oldest entries (at most ?2) whose estimates add up to the excess ?1.
    static constexpr sql_statement sql{
        "trim log entries",
        "WITH oldest AS (SELECT id, timestamp_ms, size_estimate FROM log_entries ORDER BY timestamp_ms, id LIMIT ?2),"
        " running AS (SELECT id, sum(size_estimate) OVER (ORDER BY timestamp_ms, id ROWS UNBOUNDED PRECEDING)"
        " - size_estimate AS before FROM oldest)"
        " DELETE FROM log_entries WHERE id IN (SELECT id FROM running WHERE before < ?1)"};
    if (max_rows == 0)
        return std::size_t{0};
    return db_.in_transaction([&]() -> storage_result<std::size_t> {
        auto used = log_bytes();
        if (!used)
            return used.error();
        if (*used <= max_bytes)
            return std::size_t{0};
        return changed_count(
            db_.run(sql, clamp_to_int64(static_cast<std::size_t>(*used - max_bytes)), clamp_to_int64(max_rows)));
    });
}

} // namespace corvid::collector::sqlite
