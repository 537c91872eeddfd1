// Servers and their API key hashes in SQLite (the servers table); delete_server also removes the
// server's rows from the samples, logs and gaps tables, which have no foreign key to it.
#include "collector/storage/sqlite_storage_impl.hpp"

namespace corvid::collector::sqlite {
namespace {

// In the order read_server reads them.
#define CORVID_SERVER_COLUMNS "id, name, enabled, created_at, last_seen, hostname, agent_version"

server_record read_server(sqlite3_stmt* s)
{
    server_record r;
    r.id = column_text(s, 0);
    r.name = column_text(s, 1);
    r.enabled = sqlite3_column_int64(s, 2) != 0;
    r.created_at_ms = sqlite3_column_int64(s, 3);
    r.last_seen_ms = column_optional_integer(s, 4);
    r.hostname = column_text(s, 5);
    r.agent_version = column_text(s, 6);
    return r;
}

} // namespace

storage_result<void> sqlite_storage::add_server(const server_record& server, std::string_view api_key_hash)
{
    static constexpr sql_statement sql{
        "add server",
        "INSERT INTO servers (id, name, api_key_hash, enabled, created_at, last_seen, hostname, agent_version)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"};
    return without_count(db_.run(sql, server.id, server.name, api_key_hash, server.enabled, server.created_at_ms,
                                 server.last_seen_ms, server.hostname, server.agent_version));
}

storage_result<std::vector<server_record>> sqlite_storage::list_servers()
{
    static constexpr sql_statement sql{"list servers",
                                       "SELECT " CORVID_SERVER_COLUMNS " FROM servers ORDER BY name, id"};
    return db_.query_rows(sql, &read_server);
}

storage_result<std::optional<server_record>> sqlite_storage::find_server(std::string_view id)
{
    static constexpr sql_statement sql{"find server", "SELECT " CORVID_SERVER_COLUMNS " FROM servers WHERE id = ?1"};
    return db_.query_one(sql, &read_server, id);
}

storage_result<std::optional<server_record>> sqlite_storage::find_server_by_key_hash(std::string_view api_key_hash)
{
    // The hash of a 256-bit random key is looked up through the UNIQUE index; the comparison is
    // not constant time, but timing can at most reveal bits of a SHA-256 output, which does not
    // help anyone find a key that hashes to it.
    static constexpr sql_statement sql{
        "find server by key", "SELECT " CORVID_SERVER_COLUMNS " FROM servers WHERE api_key_hash = ?1 AND enabled = 1"};
    return db_.query_one(sql, &read_server, api_key_hash);
}

storage_result<bool> sqlite_storage::replace_api_key_hash(std::string_view id, std::string_view api_key_hash)
{
    static constexpr sql_statement sql{"replace api key", "UPDATE servers SET api_key_hash = ?2 WHERE id = ?1"};
    return changed_any(db_.run(sql, id, api_key_hash));
}

storage_result<bool> sqlite_storage::delete_server(std::string_view id)
{
    static constexpr sql_statement delete_samples{"delete server samples", "DELETE FROM samples WHERE server_id = ?1"};
    static constexpr sql_statement delete_logs{"delete server logs", "DELETE FROM log_entries WHERE server_id = ?1"};
    static constexpr sql_statement delete_gaps{"delete server gaps", "DELETE FROM gaps WHERE server_id = ?1"};
    static constexpr sql_statement delete_row{"delete server", "DELETE FROM servers WHERE id = ?1"};
    return db_.in_transaction([&]() -> storage_result<bool> {
        for (const auto* sql : {&delete_samples, &delete_logs, &delete_gaps})
            if (auto r = db_.run(*sql, id); !r)
                return bool_error(r.error());
        return changed_any(db_.run(delete_row, id));
    });
}

storage_result<void> sqlite_storage::record_agent_seen(std::string_view id, std::int64_t last_seen_ms,
                                                       std::string_view hostname, std::string_view agent_version)
{
    static constexpr sql_statement sql{
        "record agent seen", "UPDATE servers SET last_seen = ?2, hostname = ?3, agent_version = ?4 WHERE id = ?1"};
    return without_count(db_.run(sql, id, last_seen_ms, hostname, agent_version));
}

} // namespace corvid::collector::sqlite
