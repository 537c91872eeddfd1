// Samples in SQLite (the samples table, WITHOUT ROWID, keyed by server and timestamp).
#include "collector/storage/sqlite_storage_impl.hpp"

namespace corvid::collector::sqlite {
namespace {

// In the order read_sample reads them.
#define CORVID_SAMPLE_COLUMNS "server_id, ts, cpu_percent, memory_percent, load1, data"

sample_row read_sample(sqlite3_stmt* s)
{
    sample_row r;
    r.server_id = column_text(s, 0);
    r.timestamp_ms = sqlite3_column_int64(s, 1);
    r.cpu_percent = column_optional_real(s, 2);
    r.memory_percent = column_optional_real(s, 3);
    r.load1 = column_optional_real(s, 4);
    r.data_json = column_text(s, 5);
    return r;
}

} // namespace

storage_result<std::vector<bool>> sqlite_storage::insert_samples(std::span<const sample_row> rows)
{
    static constexpr sql_statement sql{
        "insert sample", "INSERT OR IGNORE INTO samples (" CORVID_SAMPLE_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)"};
    if (rows.empty())
        return std::vector<bool>();
    return db_.in_transaction([&]() -> storage_result<std::vector<bool>> {
        std::vector<bool> fresh;
        fresh.reserve(rows.size());
        for (const auto& row : rows) {
            auto r = db_.run(sql, row.server_id, row.timestamp_ms, row.cpu_percent, row.memory_percent, row.load1,
                             row.data_json);
            if (!r)
                return r.error();
            fresh.push_back(*r > 0); // OR IGNORE changes nothing when the key is already stored
        }
        return fresh;
    });
}

storage_result<std::vector<sample_row>> sqlite_storage::samples_between(std::string_view server_id,
                                                                        std::int64_t from_ms, std::int64_t to_ms,
                                                                        std::size_t limit, std::size_t max_bytes)
{
    static constexpr sql_statement sql{"read samples", "SELECT " CORVID_SAMPLE_COLUMNS " FROM samples"
                                                       " WHERE server_id = ?1 AND ts BETWEEN ?2 AND ?3"
                                                       " ORDER BY ts LIMIT ?4"};
    std::vector<sample_row> rows;
    if (limit == 0 || to_ms < from_ms)
        return rows;
    // The limit may be generous: reserve for at most 1024 rows, grow as rows arrive. The byte
    // budget keeps a reader thread from holding gigabytes for one request (issue 12.8).
    rows.reserve(limit < 1024 ? limit : 1024);
    std::size_t bytes = 0;
    auto r = db_.each_row(
        sql,
        [&](sqlite3_stmt* s) {
            rows.push_back(read_sample(s));
            return (bytes += rows.back().data_json.size()) < max_bytes;
        },
        server_id, from_ms, to_ms, clamp_to_int64(limit));
    if (!r)
        return r.error();
    return rows;
}

storage_result<std::optional<sample_row>> sqlite_storage::latest_sample(std::string_view server_id)
{
    static constexpr sql_statement sql{"read latest sample", "SELECT " CORVID_SAMPLE_COLUMNS " FROM samples"
                                                             " WHERE server_id = ?1 ORDER BY ts DESC LIMIT 1"};
    return db_.query_one(sql, &read_sample, server_id);
}

storage_result<std::size_t> sqlite_storage::delete_samples_before(std::int64_t cutoff_ms, std::size_t max_rows)
{
    // Oldest first through samples_by_ts, then each chosen row by its primary key.
    static constexpr sql_statement sql{"delete old samples",
                                       "DELETE FROM samples WHERE (server_id, ts) IN"
                                       " (SELECT server_id, ts FROM samples WHERE ts < ?1 ORDER BY ts LIMIT ?2)"};
    return delete_oldest(db_, sql, cutoff_ms, max_rows);
}

} // namespace corvid::collector::sqlite
