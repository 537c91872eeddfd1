#pragma once
// The collector's narrow storage interface. SQLite (sqlite_storage.hpp) is the embedded default;
// a later backend (PostgreSQL) implements the same interface so several collectors can share a store.
// Threading: one storage object is one database connection and is used by one thread at a time.
// Every call blocks: never call one on the io thread (see store.hpp for the async front).
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace corvid::collector {

enum class role { viewer = 1, operator_ = 2, admin = 3 }; // ordered: a higher role may do all a lower may
std::optional<role> role_from_name(std::string_view name);
std::string_view role_name(role r);

struct user_record {
    std::string username;
    std::string password_hash; // libsodium crypto_pwhash_str (argon2id) string
    collector::role role = role::viewer;
    std::int64_t created_at_ms = 0;
    bool disabled = false; // a disabled user cannot log in, and its tokens and sockets stop working
    // Tokens carry the generation they were issued under ("gen", jwt.hpp) and are valid only while
    // it equals this one: change_user moves it on to revoke every token the user holds.
    std::int64_t token_generation = 0;
};

// What change_user does to one user. Empty fields are kept as they are.
struct user_change {
    std::optional<collector::role> role;
    std::optional<bool> disabled;
    std::optional<std::string> password_hash; // a new hash_password() string
    bool revoke_tokens = false;               // logout: only the token generation moves on
    bool remove = false;                      // delete the user; the other fields are ignored
};

enum class user_change_status {
    done,
    not_found,
    last_admin, // refused: it would leave no enabled admin (delete, disable or demote the last one)
};

struct user_change_result {
    user_change_status status = user_change_status::not_found;
    std::optional<user_record> user; // after the change; as it was, for a delete
};

struct server_record {
    std::string id; // uuid v4
    std::string name;
    bool enabled = true;
    std::int64_t created_at_ms = 0;
    std::optional<std::int64_t> last_seen_ms;
    std::string hostname, agent_version; // as the agent last reported them
};

// One sample as stored: headline numbers as columns (for queries and rollups), the whole
// sample_data as its JSON encoding (proto::encode_sample_data) in `data_json`.
struct sample_row {
    std::string server_id;
    std::int64_t timestamp_ms = 0;
    std::optional<double> cpu_percent, memory_percent, load1;
    std::string data_json;
};

// One command or Docker action an operator dispatched, and what became of it (README, "Commands").
struct command_record {
    std::string id;        // uuid, also the wire's command_id
    std::string server_id;
    std::string kind;      // "shell" or "docker"
    std::string command;   // the exact command line, or "<action> <container>"
    std::uint32_t timeout_s = 0;
    std::string issued_by; // username
    std::string client_address;
    std::string status;    // pending, running, completed, failed, timed_out, denied, lost
    std::optional<std::int64_t> exit_code, duration_ms;
    std::string output;    // empty in listings (list_commands); whole in find_command
    bool truncated = false;
    std::optional<std::string> error;  // the agent's refusal code, or why it failed
    std::string output_sha256;         // hex SHA-256 of `output`, once finished
    std::int64_t created_at_ms = 0;
    std::optional<std::int64_t> finished_at_ms;
};

// One line of the append-only audit log. The database refuses UPDATE and DELETE on it.
struct audit_record {
    std::int64_t id = 0; // assigned on insert, increasing
    std::int64_t at_ms = 0;
    std::string actor;   // username, "collector" for what the collector decided itself, "cli:UNIXUSER"
    std::string address; // client address of the request ("" for the collector and the CLI)
    std::string action;  // command.dispatched, command.finished, docker.dispatched, docker.finished, command.lost,
                         // user.* (see change_user)
    std::string server_id, command_id;
    std::string detail;  // the exact command or action at dispatch; the agent's message later
    std::optional<std::string> status;
    std::optional<std::int64_t> exit_code, duration_ms;
    std::optional<std::string> output_sha256;
};

// One stored log line (PROTOCOL.md section 11). Levels are numbers in proto::log_level's order:
// 0 DEBUG, 1 INFO, 2 NOTICE, 3 WARN, 4 ERROR, 5 CRIT.
struct log_record {
    std::int64_t id = 0; // assigned on insert; increases in commit order and is never reused
    std::int64_t timestamp_ms = 0;
    int level = 1;
    std::string source;
    std::string message;
    bool truncated = false;
    bool operator==(const log_record&) const = default;
};

// Which entries query_logs returns. Absent fields do not restrict. `search` is a log_search
// text (log_search.hpp): a substring, or a query of terms with AND, OR, NOT and parentheses.
struct log_filter {
    std::optional<std::int64_t> from_ms, to_ms; // inclusive
    int min_level = 0;
    std::optional<std::string> search;
    std::optional<std::string> source; // exact
    std::optional<std::int64_t> max_id; // only entries with id <= max_id (a logs socket's history)
};

// Where the next page of query_logs starts: after (timestamp_ms, id) in newest-first order.
struct log_cursor {
    std::int64_t timestamp_ms = 0;
    std::int64_t id = 0;
    bool operator==(const log_cursor&) const = default;
};

struct log_page {
    std::vector<log_record> entries;  // newest first
    std::optional<log_cursor> next;   // set when there are more matching entries
};

// What insert_log_batch did: `fresh` false means the batch (server_id, seq) was stored before and
// nothing was written; otherwise `ids` are the new rows' ids, in entry order.
struct log_insert {
    bool fresh = false;
    std::vector<std::int64_t> ids;
};

// Records an agent's spool dropped before the collector had them (PROTOCOL.md section 11.2).
struct gap_record {
    std::string server_id;
    std::string stream; // "metrics" or "logs"
    std::uint64_t first_seq = 0, last_seq = 0, count = 0;
    std::optional<std::int64_t> from_ms, to_ms;
    std::string reason;
    std::int64_t reported_at_ms = 0; // when the collector first heard of it
    bool operator==(const gap_record&) const = default;
};

enum class storage_errc {
    io_error = 1,    // SQLite could not read or write (disk full, permissions, I/O error)
    corrupt,         // the file is not a database or is damaged
    busy,            // another connection held a lock past the busy timeout
    already_exists,  // a unique name or id is taken
    schema_too_new,  // the file was written by a newer Corvid
    timed_out,       // a query ran past its deadline (see sqlite_options); nothing was changed
    internal,        // anything else SQLite reports
};
const boost::system::error_category& storage_category();
boost::system::error_code make_error_code(storage_errc e);

template <class T> using storage_result = boost::system::result<T>;

class storage {
public:
    virtual ~storage() = default;

    virtual storage_result<void> add_user(const user_record& user) = 0;
    virtual storage_result<std::optional<user_record>> find_user(std::string_view username) = 0;
    virtual storage_result<std::size_t> count_users() = 0;
    // Every user, by name. The table is small (operators, not customers): one read serves the
    // periodic check of every open operator socket (identity_watch.hpp).
    virtual storage_result<std::vector<user_record>> list_users() = 0;
    // add_user and its audit line (action user.created), in one transaction.
    virtual storage_result<void> create_user(const user_record& user, const audit_record& audit) = 0;
    // Applies `change` to `username` and appends one audit line per effective change, in one
    // transaction (BEGIN IMMEDIATE, so the last-admin check holds against other processes too).
    // `audit` gives at_ms, actor and address; action and detail are filled in per change:
    //   user.deleted, user.disabled, user.enabled, user.password_changed, user.role_changed
    //   (detail "NAME: OLD -> NEW"), user.logout; detail is the user's name otherwise.
    // The token generation moves on (revoking every token of the user) on a password change, a
    // role change (up or down: the web UI learns a user's role at sign-in), a disable and a
    // logout. A change that changes nothing (e.g. disabling a disabled user) writes nothing.
    // Refused with last_admin when the user is the last enabled admin and would be deleted,
    // disabled or demoted.
    virtual storage_result<user_change_result> change_user(std::string_view username, const user_change& change,
                                                           const audit_record& audit) = 0;

    virtual storage_result<void> add_server(const server_record& server, std::string_view api_key_hash) = 0;
    virtual storage_result<std::vector<server_record>> list_servers() = 0;
    virtual storage_result<std::optional<server_record>> find_server(std::string_view id) = 0;
    // Only enabled servers are found by key.
    virtual storage_result<std::optional<server_record>> find_server_by_key_hash(std::string_view api_key_hash) = 0;
    // false: no such server.
    virtual storage_result<bool> replace_api_key_hash(std::string_view id, std::string_view api_key_hash) = 0;
    // Deletes the server, its samples, log entries and gaps. false: no such server.
    virtual storage_result<bool> delete_server(std::string_view id) = 0;
    virtual storage_result<void> record_agent_seen(std::string_view id, std::int64_t last_seen_ms,
                                                   std::string_view hostname, std::string_view agent_version) = 0;

    // All rows in one transaction. Element i of the result is true when row i was new and false
    // when a row with the same (server_id, timestamp_ms) was already stored (it is left as it was).
    virtual storage_result<std::vector<bool>> insert_samples(std::span<const sample_row> rows) = 0;
    // Oldest first, from_ms <= timestamp_ms <= to_ms, at most `limit` rows, and no more rows once
    // their data_json adds up to max_bytes or more (so a caller that gets `limit` rows, or
    // max_bytes or more, knows the answer may be cut short).
    virtual storage_result<std::vector<sample_row>> samples_between(std::string_view server_id, std::int64_t from_ms,
                                                                    std::int64_t to_ms, std::size_t limit,
                                                                    std::size_t max_bytes = SIZE_MAX) = 0;
    virtual storage_result<std::optional<sample_row>> latest_sample(std::string_view server_id) = 0;
    // Retention: deletes at most max_rows samples older than cutoff_ms; returns how many it deleted.
    virtual storage_result<std::size_t> delete_samples_before(std::int64_t cutoff_ms, std::size_t max_rows) = 0;

    // ---- commands and the audit log ----
    // The command (status pending) and its audit line, in one transaction.
    virtual storage_result<void> add_command(const command_record& c, const audit_record& a) = 0;
    virtual storage_result<bool> set_command_status(std::string_view id, std::string_view status) = 0;
    // Stores the outcome (status, exit code, output, …, finished_at) and appends `a`, in one
    // transaction. false: no such command, or it already has a final status other than lost (a
    // result that arrives after the command was declared lost still replaces "lost").
    virtual storage_result<bool> finish_command(const command_record& outcome, const audit_record& a) = 0;
    virtual storage_result<std::optional<command_record>> find_command(std::string_view id) = 0;
    // Newest first, without output.
    virtual storage_result<std::vector<command_record>> list_commands(std::string_view server_id,
                                                                      std::size_t limit) = 0;
    // Commands left pending or running by a previous run of the collector become lost, each with
    // an audit line. Returns how many.
    virtual storage_result<std::size_t> mark_unfinished_commands_lost(std::int64_t now_ms) = 0;
    // Retention: deletes at most max_rows finished commands (and their output) created before
    // cutoff_ms, oldest first; the audit log keeps their record. Returns how many it deleted.
    virtual storage_result<std::size_t> delete_commands_before(std::int64_t cutoff_ms, std::size_t max_rows) = 0;
    // Appends one audit line on its own (e.g. a refused attempt worth keeping).
    virtual storage_result<void> append_audit(const audit_record& a) = 0;
    // Newest first; only ids below before_id when given.
    virtual storage_result<std::vector<audit_record>> list_audit(std::optional<std::int64_t> before_id,
                                                                 std::size_t limit) = 0;

    // ---- logs and gaps ----
    // Stores one agent batch in one transaction, exactly once per (server_id, seq): a batch sent
    // again (after a lost ack) writes nothing and reports fresh = false.
    virtual storage_result<log_insert> insert_log_batch(std::string_view server_id, std::uint64_t seq,
                                                        std::span<const log_record> entries) = 0;
    // Newest first (timestamp, then id), at most `limit` entries, starting after `after` when given.
    // A search that SQLite's full-text index cannot serve is answered by scanning; never an error.
    virtual storage_result<log_page> query_logs(std::string_view server_id, const log_filter& filter,
                                                const std::optional<log_cursor>& after, std::size_t limit) = 0;
    // Retention by age: deletes at most max_rows entries older than cutoff_ms, oldest first.
    virtual storage_result<std::size_t> delete_logs_before(std::int64_t cutoff_ms, std::size_t max_rows) = 0;
    // Retention by size: while log_bytes() > max_bytes, deletes the oldest entries, at most
    // max_rows in this call. Returns how many it deleted (0: within the budget).
    virtual storage_result<std::size_t> trim_logs_to(std::uint64_t max_bytes, std::size_t max_rows) = 0;
    // The estimated on-disk size of all stored log entries, their indexes included (see schema v3).
    virtual storage_result<std::uint64_t> log_bytes() = 0;

    // Stores a gap once per (server_id, stream, first_seq); a gap reported again raises last_seq,
    // count and the times where the new report says more, and keeps reported_at.
    virtual storage_result<void> insert_gap(const gap_record& g) = 0;
    // Most recently reported first.
    virtual storage_result<std::vector<gap_record>> list_gaps(std::string_view server_id, std::size_t limit) = 0;
    // Retention: deletes at most max_rows gaps reported before cutoff_ms.
    virtual storage_result<std::size_t> delete_gaps_before(std::int64_t cutoff_ms, std::size_t max_rows) = 0;
};

} // namespace corvid::collector

template <> struct boost::system::is_error_code_enum<corvid::collector::storage_errc> : std::true_type {};
