// Commands and the audit log in SQLite (the commands and audit_log tables; triggers make
// audit_log append-only, see sqlite_schema.cpp v2).
#include "collector/storage/sqlite_storage_impl.hpp"

#include <limits>

namespace corvid::collector::sqlite {
namespace {

// In the order read_command reads them, output last.
#define CORVID_COMMAND_COLUMNS                                                                                     \
    "id, server_id, kind, command, timeout_s, issued_by, client_address, status, exit_code, duration_ms, truncated, " \
    "error, output_sha256, created_at, finished_at"
// In the order read_audit reads them, after the id.
#define CORVID_AUDIT_COLUMNS                                                                                       \
    "at, actor, address, action, server_id, command_id, detail, status, exit_code, duration_ms, output_sha256"
#define CORVID_UNFINISHED "status IN ('pending', 'running')"

// CORVID_COMMAND_COLUMNS, then output.
command_record read_command(sqlite3_stmt* s)
{
    command_record c;
    c.id = column_text(s, 0);
    c.server_id = column_text(s, 1);
    c.kind = column_text(s, 2);
    c.command = column_text(s, 3);
    c.timeout_s = static_cast<std::uint32_t>(sqlite3_column_int64(s, 4));
    c.issued_by = column_text(s, 5);
    c.client_address = column_text(s, 6);
    c.status = column_text(s, 7);
    c.exit_code = column_optional_integer(s, 8);
    c.duration_ms = column_optional_integer(s, 9);
    c.truncated = sqlite3_column_int64(s, 10) != 0;
    c.error = column_optional_text(s, 11);
    c.output_sha256 = column_text(s, 12);
    c.created_at_ms = sqlite3_column_int64(s, 13);
    c.finished_at_ms = column_optional_integer(s, 14);
    c.output = column_text(s, 15);
    return c;
}

// id, then CORVID_AUDIT_COLUMNS.
audit_record read_audit(sqlite3_stmt* s)
{
    audit_record a;
    a.id = sqlite3_column_int64(s, 0);
    a.at_ms = sqlite3_column_int64(s, 1);
    a.actor = column_text(s, 2);
    a.address = column_text(s, 3);
    a.action = column_text(s, 4);
    a.server_id = column_text(s, 5);
    a.command_id = column_text(s, 6);
    a.detail = column_text(s, 7);
    a.status = column_optional_text(s, 8);
    a.exit_code = column_optional_integer(s, 9);
    a.duration_ms = column_optional_integer(s, 10);
    a.output_sha256 = column_optional_text(s, 11);
    return a;
}

} // namespace

storage_result<int> sqlite_storage::insert_audit(const audit_record& a)
{
    static constexpr sql_statement sql{"append audit", "INSERT INTO audit_log (" CORVID_AUDIT_COLUMNS ")"
                                                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"};
    return db_.run(sql, a.at_ms, a.actor, a.address, a.action, a.server_id, a.command_id, a.detail, a.status,
                   a.exit_code, a.duration_ms, a.output_sha256);
}

storage_result<void> sqlite_storage::add_command(const command_record& c, const audit_record& a)
{
    static constexpr sql_statement sql{
        "add command", "INSERT INTO commands (" CORVID_COMMAND_COLUMNS ", output)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"};
    return without_count(db_.in_transaction([&]() -> storage_result<int> {
        auto added = db_.run(sql, c.id, c.server_id, c.kind, c.command, c.timeout_s, c.issued_by, c.client_address,
                             c.status, c.exit_code, c.duration_ms, c.truncated, c.error, c.output_sha256,
                             c.created_at_ms, c.finished_at_ms, c.output);
        if (!added)
            return added;
        return insert_audit(a);
    }));
}

storage_result<bool> sqlite_storage::set_command_status(std::string_view id, std::string_view status)
{
    static constexpr sql_statement sql{"set command status",
                                       "UPDATE commands SET status = ?2 WHERE id = ?1 AND " CORVID_UNFINISHED};
    return changed_any(db_.run(sql, id, status));
}

storage_result<bool> sqlite_storage::finish_command(const command_record& c, const audit_record& a)
{
    static constexpr sql_statement sql{
        "finish command",
        "UPDATE commands SET status = ?2, exit_code = ?3, duration_ms = ?4, output = ?5, truncated = ?6, error = ?7,"
        " output_sha256 = ?8, finished_at = ?9 WHERE id = ?1 AND status IN ('pending', 'running', 'lost')"};
    return db_.in_transaction([&]() -> storage_result<bool> {
        auto updated = db_.run(sql, c.id, c.status, c.exit_code, c.duration_ms, c.output, c.truncated, c.error,
                               c.output_sha256, c.finished_at_ms);
        if (!updated)
            return bool_error(updated.error());
        if (*updated == 0)
            return false; // nothing to audit: the command is unknown or already final
        if (auto r = insert_audit(a); !r)
            return bool_error(r.error());
        return true;
    });
}

storage_result<std::optional<command_record>> sqlite_storage::find_command(std::string_view id)
{
    static constexpr sql_statement sql{"find command",
                                       "SELECT " CORVID_COMMAND_COLUMNS ", output FROM commands WHERE id = ?1"};
    return db_.query_one(sql, &read_command, id);
}

storage_result<std::vector<command_record>> sqlite_storage::list_commands(std::string_view server_id,
                                                                          std::size_t limit)
{
    static constexpr sql_statement sql{"list commands", "SELECT " CORVID_COMMAND_COLUMNS ", '' FROM commands"
                                                        " WHERE server_id = ?1 ORDER BY created_at DESC, id LIMIT ?2"};
    return db_.query_rows(sql, &read_command, server_id, clamp_to_int64(limit));
}

storage_result<std::size_t> sqlite_storage::mark_unfinished_commands_lost(std::int64_t now_ms)
{
    static constexpr sql_statement audit_lost{
        "audit lost commands", "INSERT INTO audit_log (" CORVID_AUDIT_COLUMNS ")"
                               " SELECT ?1, 'collector', '', 'command.lost', server_id, id,"
                               " 'the collector restarted while the command was in flight', 'lost', NULL, NULL, NULL"
                               " FROM commands WHERE " CORVID_UNFINISHED " ORDER BY created_at"};
    static constexpr sql_statement mark_lost{
        "mark commands lost", "UPDATE commands SET status = 'lost', finished_at = ?1 WHERE " CORVID_UNFINISHED};
    return db_.in_transaction([&]() -> storage_result<std::size_t> {
        if (auto audited = db_.run(audit_lost, now_ms); !audited)
            return audited.error();
        return changed_count(db_.run(mark_lost, now_ms));
    });
}

storage_result<std::size_t> sqlite_storage::delete_commands_before(std::int64_t cutoff_ms, std::size_t max_rows)
{
    static constexpr sql_statement sql{"delete old commands",
                                       "DELETE FROM commands WHERE id IN (SELECT id FROM commands WHERE created_at < ?1"
                                       " AND NOT " CORVID_UNFINISHED " ORDER BY created_at LIMIT ?2)"};
    return delete_oldest(db_, sql, cutoff_ms, max_rows);
}

storage_result<void> sqlite_storage::append_audit(const audit_record& a) { return without_count(insert_audit(a)); }

storage_result<std::vector<audit_record>> sqlite_storage::list_audit(std::optional<std::int64_t> before_id,
                                                                     std::size_t limit)
{
    static constexpr sql_statement sql{
        "list audit", "SELECT id, " CORVID_AUDIT_COLUMNS " FROM audit_log WHERE id < ?1 ORDER BY id DESC LIMIT ?2"};
    return db_.query_rows(sql, &read_audit, before_id.value_or(std::numeric_limits<std::int64_t>::max()),
                          clamp_to_int64(limit));
}

} // namespace corvid::collector::sqlite
