// Gaps in SQLite (the gaps table, one row per server, stream and first seq).
#include "collector/storage/sqlite_storage_impl.hpp"

namespace corvid::collector::sqlite {
namespace {

gap_record read_gap(sqlite3_stmt* s)
{
    gap_record g;
    g.server_id = column_text(s, 0);
    g.stream = column_text(s, 1);
    // Seqs are unsigned on the wire and stored bit for bit in SQLite's signed integers.
    g.first_seq = static_cast<std::uint64_t>(sqlite3_column_int64(s, 2));
    g.last_seq = static_cast<std::uint64_t>(sqlite3_column_int64(s, 3));
    g.count = static_cast<std::uint64_t>(sqlite3_column_int64(s, 4));
    g.from_ms = column_optional_integer(s, 5);
    g.to_ms = column_optional_integer(s, 6);
    g.reason = column_text(s, 7);
    g.reported_at_ms = sqlite3_column_int64(s, 8);
    return g;
}

} // namespace

storage_result<void> sqlite_storage::insert_gap(const gap_record& g)
{
    static constexpr sql_statement sql{
        "store gap",
        "INSERT INTO gaps (server_id, stream, first_seq, last_seq, count, from_ms, to_ms, reason, reported_at_ms)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        " ON CONFLICT (server_id, stream, first_seq) DO UPDATE SET"
        " last_seq = max(last_seq, excluded.last_seq), count = max(count, excluded.count),"
        " from_ms = coalesce(min(from_ms, excluded.from_ms), from_ms, excluded.from_ms),"
        " to_ms = coalesce(max(to_ms, excluded.to_ms), to_ms, excluded.to_ms), reason = excluded.reason"};
    return without_count(db_.run(sql, g.server_id, g.stream, static_cast<std::int64_t>(g.first_seq),
                                 static_cast<std::int64_t>(g.last_seq), static_cast<std::int64_t>(g.count), g.from_ms,
                                 g.to_ms, g.reason, g.reported_at_ms));
}

storage_result<std::vector<gap_record>> sqlite_storage::list_gaps(std::string_view server_id, std::size_t limit)
{
    static constexpr sql_statement sql{
        "list gaps", "SELECT server_id, stream, first_seq, last_seq, count, from_ms, to_ms, reason, reported_at_ms"
                     " FROM gaps WHERE server_id = ?1 ORDER BY reported_at_ms DESC, rowid DESC LIMIT ?2"};
    return db_.query_rows(sql, &read_gap, server_id, clamp_to_int64(limit));
}

storage_result<std::size_t> sqlite_storage::delete_gaps_before(std::int64_t cutoff_ms, std::size_t max_rows)
{
    static constexpr sql_statement sql{
        "delete old gaps",
        "DELETE FROM gaps WHERE rowid IN (SELECT rowid FROM gaps WHERE reported_at_ms < ?1 ORDER BY reported_at_ms"
        " LIMIT ?2)"};
    return delete_oldest(db_, sql, cutoff_ms, max_rows);
}

} // namespace corvid::collector::sqlite
