#pragma once
// The SQLite backend's storage object: one connection, and the storage interface implemented
// over it. Each domain's members are defined in that domain's file (named below); their SQL
// stands next to the code that runs it. Internal to collector/storage: callers use
// open_sqlite_storage (sqlite_storage.hpp). Threading: one thread at a time (storage.hpp).
#include <chrono>
#include <optional>
#include <span>
#include <string_view>

#include "collector/storage/sqlite_connection.hpp"
#include "collector/storage/sqlite_storage.hpp"
#include "collector/storage/storage.hpp"

namespace corvid::collector::sqlite {

class sqlite_storage final : public storage {
public:
    explicit sqlite_storage(const sqlite_options& o) : db_(o.path), log_query_deadline_(o.log_query_deadline) {}

    // Opens and configures the file and brings its schema up to date (sqlite_storage.cpp).
    boost::system::error_code open(const sqlite_options& o);

    // ---- users: sqlite_users.cpp ----
    storage_result<void> add_user(const user_record& user) override;
    storage_result<std::optional<user_record>> find_user(std::string_view username) override;
    storage_result<std::size_t> count_users() override;
    storage_result<std::vector<user_record>> list_users() override;
    storage_result<void> create_user(const user_record& user, const audit_record& audit) override;
    storage_result<user_change_result> change_user(std::string_view username, const user_change& change,
                                                   const audit_record& audit) override;

    // ---- servers and their API keys: sqlite_servers.cpp ----
    storage_result<void> add_server(const server_record& server, std::string_view api_key_hash) override;
    storage_result<std::vector<server_record>> list_servers() override;
    storage_result<std::optional<server_record>> find_server(std::string_view id) override;
    storage_result<std::optional<server_record>> find_server_by_key_hash(std::string_view api_key_hash) override;
    storage_result<bool> replace_api_key_hash(std::string_view id, std::string_view api_key_hash) override;
    storage_result<bool> delete_server(std::string_view id) override;
    storage_result<void> record_agent_seen(std::string_view id, std::int64_t last_seen_ms, std::string_view hostname,
                                           std::string_view agent_version) override;

    // ---- samples: sqlite_samples.cpp ----
    storage_result<std::vector<bool>> insert_samples(std::span<const sample_row> rows) override;
    storage_result<std::vector<sample_row>> samples_between(std::string_view server_id, std::int64_t from_ms,
                                                            std::int64_t to_ms, std::size_t limit,
                                                            std::size_t max_bytes) override;
    storage_result<std::optional<sample_row>> latest_sample(std::string_view server_id) override;
    storage_result<std::size_t> delete_samples_before(std::int64_t cutoff_ms, std::size_t max_rows) override;

    // ---- commands and the audit log: sqlite_commands.cpp ----
    storage_result<void> add_command(const command_record& c, const audit_record& a) override;
    storage_result<bool> set_command_status(std::string_view id, std::string_view status) override;
    storage_result<bool> finish_command(const command_record& outcome, const audit_record& a) override;
    storage_result<std::optional<command_record>> find_command(std::string_view id) override;
    storage_result<std::vector<command_record>> list_commands(std::string_view server_id, std::size_t limit) override;
    storage_result<std::size_t> mark_unfinished_commands_lost(std::int64_t now_ms) override;
    storage_result<std::size_t> delete_commands_before(std::int64_t cutoff_ms, std::size_t max_rows) override;
    storage_result<void> append_audit(const audit_record& a) override;
    storage_result<std::vector<audit_record>> list_audit(std::optional<std::int64_t> before_id,
                                                         std::size_t limit) override;

    // ---- logs: sqlite_logs.cpp ----
    storage_result<log_insert> insert_log_batch(std::string_view server_id, std::uint64_t seq,
                                                std::span<const log_record> entries) override;
    storage_result<log_page> query_logs(std::string_view server_id, const log_filter& filter,
                                        const std::optional<log_cursor>& after, std::size_t limit) override;
    storage_result<std::size_t> delete_logs_before(std::int64_t cutoff_ms, std::size_t max_rows) override;
    storage_result<std::size_t> trim_logs_to(std::uint64_t max_bytes, std::size_t max_rows) override;
    storage_result<std::uint64_t> log_bytes() override;

    // ---- gaps: sqlite_gaps.cpp ----
    storage_result<void> insert_gap(const gap_record& g) override;
    storage_result<std::vector<gap_record>> list_gaps(std::string_view server_id, std::size_t limit) override;
    storage_result<std::size_t> delete_gaps_before(std::int64_t cutoff_ms, std::size_t max_rows) override;

private:
    // sqlite_users.cpp
    // The user at the current row of a statement selecting the user columns; corrupt for a role
    // the schema does not allow.
    storage_result<user_record> read_user(sqlite3_stmt* s);
    storage_result<user_change_result> apply_user_change(std::string_view username, const user_change& change,
                                                         const audit_record& audit); // inside a transaction
    // sqlite_commands.cpp: one audit line, also for user changes.
    storage_result<int> insert_audit(const audit_record& a);
    // sqlite_logs.cpp: query_logs with or without the full-text prefilter (see there).
    storage_result<log_page> run_log_query(std::string_view server_id, const log_filter& filter,
                                           const std::optional<log_cursor>& after, std::size_t limit,
                                           bool use_index, bool& index_failed);

    connection db_;
    std::chrono::milliseconds log_query_deadline_;
};

} // namespace corvid::collector::sqlite
