#include "collector/storage/sqlite_storage.hpp"

#include <array>
#include <climits>
#include <cstddef>
#include <fmt/format.h>
#include <functional>
#include <limits>
#include <sqlite3.h>
#include <utility>
#include <variant>

#include "collector/storage/log_search.hpp"
#include "common/log.hpp"

namespace corvid::collector {
namespace {

// Schema migrations. Step i moves a database from user_version i to i + 1 and runs in its own
// transaction together with the user_version update, so a crash leaves either version, never a mix.
// A released step is never edited: change the schema by appending a step.
//
// v1 notes:
// - Timestamps are milliseconds since the Unix epoch (UTC).
// - TEXT PRIMARY KEY columns say NOT NULL because SQLite (for historical reasons) lets a rowid
//   table store NULL in a primary key otherwise.
// - samples is WITHOUT ROWID: rows are looked up and ordered by (server_id, ts) and the table is
//   the bulk of the file, so clustering it by its key saves a second b-tree.
// - samples_by_ts serves retention (delete_samples_before), which selects by age across all
//   servers; without it every retention pass would scan the whole table.
// - samples.server_id has no foreign key: a batch of samples for a server deleted while they were
//   queued must not fail the whole batch; delete_server removes a server's samples itself.
// v2 notes:
// - commands keeps each dispatched command and its outcome; audit_log is the append-only record
//   of who dispatched what and what came of it. Triggers make UPDATE and DELETE on audit_log fail,
//   so no code path (and no later bug) can rewrite history through this connection.
// - Neither table references servers: deleting a server keeps its command history and audit.
// v3 notes (logs and gaps, PROTOCOL.md section 11):
// - log_entries holds one row per log line. UNIQUE (server_id, batch_seq, idx) makes a batch the
//   agent sends again (after a lost ack) land once; insert_log_batch checks it first and writes
//   nothing for a known batch. id is AUTOINCREMENT so ids follow commit order and are never
//   reused: a logs socket's history and its live stream are told apart by id.
// - Indexes: (server_id, timestamp_ms) serves the newest-first pages of query_logs and the cursor;
//   (server_id, source, timestamp_ms) the same with a source filter; (timestamp_ms) retention,
//   which deletes the oldest entries of all servers.
// - log_fts is an FTS5 index of message with the trigram tokenizer, so any substring of three or
//   more characters can be looked up (log_search.hpp); detail=none keeps it at about 1.2x the
//   text instead of 3.5x, which costs phrase queries, so log_search asks it for trigrams only.
//   It is an external-content index kept in step by triggers; log_entries rows are never updated
//   (a trigger refuses it), only inserted and deleted.
// - log_usage keeps the estimated on-disk bytes of all log rows (the row, its index entries and
//   its share of log_fts), each row's estimate stored in size_estimate by the writer
//   (estimated_log_row_bytes below). Retention by size compares it with log_max_mb, in O(1).
// - gaps: one row per (server_id, stream, first_seq); a report of the same gap updates it.
// v4 notes (revocation, issue 12):
// - users.disabled: a disabled user cannot log in and its tokens stop working.
// - users.token_generation: every token carries the generation it was issued under ("gen") and is
//   valid only while it equals this column; moving it on revokes all of a user's tokens at once
//   (logout, password or role change, disable). Existing users start at 0, which is also what a
//   token without "gen" (issued before v4) counts as: sessions survive the upgrade.
constexpr std::array<const char*, 4> migrations = {
    R"sql(
CREATE TABLE users (
    username      TEXT PRIMARY KEY NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    created_at    INTEGER NOT NULL
);
CREATE TABLE servers (
    id            TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    api_key_hash  TEXT NOT NULL UNIQUE,
    enabled       INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL,
    last_seen     INTEGER,
    hostname      TEXT NOT NULL DEFAULT '',
    agent_version TEXT NOT NULL DEFAULT ''
);
CREATE TABLE samples (
    server_id      TEXT NOT NULL,
    ts             INTEGER NOT NULL,
    cpu_percent    REAL,
    memory_percent REAL,
    load1          REAL,
    data           TEXT NOT NULL,
    PRIMARY KEY (server_id, ts)
) WITHOUT ROWID;
CREATE INDEX samples_by_ts ON samples (ts);
)sql",
    R"sql(
CREATE TABLE commands (
    id             TEXT PRIMARY KEY NOT NULL,
    server_id      TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('shell', 'docker')),
    command        TEXT NOT NULL,
    timeout_s      INTEGER NOT NULL,
    issued_by      TEXT NOT NULL,
    client_address TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'timed_out',
                                                   'denied', 'lost')),
    exit_code      INTEGER,
    duration_ms    INTEGER,
    output         TEXT NOT NULL DEFAULT '',
    truncated      INTEGER NOT NULL DEFAULT 0,
    error          TEXT,
    output_sha256  TEXT NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    finished_at    INTEGER
);
CREATE INDEX commands_by_server ON commands (server_id, created_at);
CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            INTEGER NOT NULL,
    actor         TEXT NOT NULL,
    address       TEXT NOT NULL,
    action        TEXT NOT NULL,
    server_id     TEXT NOT NULL,
    command_id    TEXT NOT NULL,
    detail        TEXT NOT NULL,
    status        TEXT,
    exit_code     INTEGER,
    duration_ms   INTEGER,
    output_sha256 TEXT
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
)sql",
    R"sql(
CREATE TABLE log_entries (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id     TEXT NOT NULL,
    batch_seq     INTEGER NOT NULL,
    idx           INTEGER NOT NULL,
    timestamp_ms  INTEGER NOT NULL,
    level         INTEGER NOT NULL CHECK (level BETWEEN 0 AND 5),
    source        TEXT NOT NULL,
    message       TEXT NOT NULL,
    truncated     INTEGER NOT NULL DEFAULT 0,
    size_estimate INTEGER NOT NULL,
    UNIQUE (server_id, batch_seq, idx)
);
CREATE INDEX log_entries_by_server ON log_entries (server_id, timestamp_ms);
CREATE INDEX log_entries_by_source ON log_entries (server_id, source, timestamp_ms);
CREATE INDEX log_entries_by_ts ON log_entries (timestamp_ms);
CREATE VIRTUAL TABLE log_fts USING fts5 (
    message, content = 'log_entries', content_rowid = 'id', tokenize = 'trigram', detail = 'none'
);
CREATE TABLE log_usage (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    bytes INTEGER NOT NULL
);
INSERT INTO log_usage (id, bytes) VALUES (1, 0);
CREATE TRIGGER log_entries_insert AFTER INSERT ON log_entries BEGIN
    INSERT INTO log_fts (rowid, message) VALUES (new.id, new.message);
    UPDATE log_usage SET bytes = bytes + new.size_estimate WHERE id = 1;
END;
CREATE TRIGGER log_entries_delete AFTER DELETE ON log_entries BEGIN
    INSERT INTO log_fts (log_fts, rowid, message) VALUES ('delete', old.id, old.message);
    UPDATE log_usage SET bytes = bytes - old.size_estimate WHERE id = 1;
END;
CREATE TRIGGER log_entries_no_update BEFORE UPDATE ON log_entries
BEGIN SELECT RAISE(ABORT, 'log entries are never updated'); END;
CREATE TABLE gaps (
    server_id      TEXT NOT NULL,
    stream         TEXT NOT NULL CHECK (stream IN ('metrics', 'logs')),
    first_seq      INTEGER NOT NULL,
    last_seq       INTEGER NOT NULL,
    count          INTEGER NOT NULL,
    from_ms        INTEGER,
    to_ms          INTEGER,
    reason         TEXT NOT NULL,
    reported_at_ms INTEGER NOT NULL,
    UNIQUE (server_id, stream, first_seq)
);
CREATE INDEX gaps_by_server ON gaps (server_id, reported_at_ms);
)sql",
    R"sql(
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1));
ALTER TABLE users ADD COLUMN token_generation INTEGER NOT NULL DEFAULT 0;
)sql",
};

constexpr int schema_version = static_cast<int>(migrations.size());

// The statements a connection prepares (once, on first use) and keeps.
enum class stmt : std::size_t {
    begin,
    commit,
    rollback,
    add_user,
    find_user,
    count_users,
    list_users,
    update_user,
    delete_user,
    count_enabled_admins,
    add_server,
    list_servers,
    find_server,
    find_server_by_key,
    replace_key,
    delete_server_samples,
    delete_server,
    record_seen,
    insert_sample,
    samples_between,
    latest_sample,
    delete_samples_before,
    add_command,
    insert_audit,
    set_command_status,
    finish_command,
    find_command,
    list_commands,
    audit_lost,
    mark_lost,
    list_audit,
    delete_commands_before,
    log_batch_known,
    insert_log,
    delete_logs_before,
    trim_logs,
    log_bytes,
    delete_server_logs,
    upsert_gap,
    list_gaps,
    delete_gaps_before,
    delete_server_gaps,
    count_,
};

#define CORVID_USER_COLUMNS "username, password_hash, role, created_at, disabled, token_generation"
#define CORVID_SERVER_COLUMNS "id, name, enabled, created_at, last_seen, hostname, agent_version"
#define CORVID_SAMPLE_COLUMNS "server_id, ts, cpu_percent, memory_percent, load1, data"
#define CORVID_COMMAND_COLUMNS                                                                                     \
    "id, server_id, kind, command, timeout_s, issued_by, client_address, status, exit_code, duration_ms, truncated, " \
    "error, output_sha256, created_at, finished_at"
#define CORVID_AUDIT_COLUMNS                                                                                       \
    "at, actor, address, action, server_id, command_id, detail, status, exit_code, duration_ms, output_sha256"
#define CORVID_UNFINISHED "status IN ('pending', 'running')"

constexpr std::array<const char*, static_cast<std::size_t>(stmt::count_)> statement_sql = {
    "BEGIN IMMEDIATE", // take the write lock up front: a deferred transaction could fail half-way with BUSY
    "COMMIT",
    "ROLLBACK",
    "INSERT INTO users (username, password_hash, role, created_at, disabled, token_generation)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    "SELECT " CORVID_USER_COLUMNS " FROM users WHERE username = ?1",
    "SELECT count(*) FROM users",
    "SELECT " CORVID_USER_COLUMNS " FROM users ORDER BY username",
    "UPDATE users SET password_hash = ?2, role = ?3, disabled = ?4, token_generation = ?5 WHERE username = ?1",
    "DELETE FROM users WHERE username = ?1",
    "SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0",
    "INSERT INTO servers (id, name, api_key_hash, enabled, created_at, last_seen, hostname, agent_version)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    "SELECT " CORVID_SERVER_COLUMNS " FROM servers ORDER BY name, id",
    "SELECT " CORVID_SERVER_COLUMNS " FROM servers WHERE id = ?1",
    // The hash of a 256-bit random key is looked up through the UNIQUE index; the comparison is
    // not constant time, but timing can at most reveal bits of a SHA-256 output, which does not
    // help anyone find a key that hashes to it.
    "SELECT " CORVID_SERVER_COLUMNS " FROM servers WHERE api_key_hash = ?1 AND enabled = 1",
    "UPDATE servers SET api_key_hash = ?2 WHERE id = ?1",
    "DELETE FROM samples WHERE server_id = ?1",
    "DELETE FROM servers WHERE id = ?1",
    "UPDATE servers SET last_seen = ?2, hostname = ?3, agent_version = ?4 WHERE id = ?1",
    "INSERT OR IGNORE INTO samples (" CORVID_SAMPLE_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    "SELECT " CORVID_SAMPLE_COLUMNS " FROM samples WHERE server_id = ?1 AND ts BETWEEN ?2 AND ?3"
    " ORDER BY ts LIMIT ?4",
    "SELECT " CORVID_SAMPLE_COLUMNS " FROM samples WHERE server_id = ?1 ORDER BY ts DESC LIMIT 1",
    // Oldest first through samples_by_ts, then each chosen row by its primary key.
    "DELETE FROM samples WHERE (server_id, ts) IN"
    " (SELECT server_id, ts FROM samples WHERE ts < ?1 ORDER BY ts LIMIT ?2)",
    "INSERT INTO commands (" CORVID_COMMAND_COLUMNS ", output)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    "INSERT INTO audit_log (" CORVID_AUDIT_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    "UPDATE commands SET status = ?2 WHERE id = ?1 AND " CORVID_UNFINISHED,
    "UPDATE commands SET status = ?2, exit_code = ?3, duration_ms = ?4, output = ?5, truncated = ?6, error = ?7,"
    " output_sha256 = ?8, finished_at = ?9 WHERE id = ?1 AND status IN ('pending', 'running', 'lost')",
    "SELECT " CORVID_COMMAND_COLUMNS ", output FROM commands WHERE id = ?1",
    "SELECT " CORVID_COMMAND_COLUMNS ", '' FROM commands WHERE server_id = ?1 ORDER BY created_at DESC, id LIMIT ?2",
    "INSERT INTO audit_log (" CORVID_AUDIT_COLUMNS ")"
    " SELECT ?1, 'collector', '', 'command.lost', server_id, id,"
    " 'the collector restarted while the command was in flight', 'lost', NULL, NULL, NULL"
    " FROM commands WHERE " CORVID_UNFINISHED " ORDER BY created_at",
    "UPDATE commands SET status = 'lost', finished_at = ?1 WHERE " CORVID_UNFINISHED,
    "SELECT id, " CORVID_AUDIT_COLUMNS " FROM audit_log WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
    "DELETE FROM commands WHERE id IN (SELECT id FROM commands WHERE created_at < ?1 AND NOT " CORVID_UNFINISHED
    " ORDER BY created_at LIMIT ?2)",
    "SELECT 1 FROM log_entries WHERE server_id = ?1 AND batch_seq = ?2 LIMIT 1",
    "INSERT INTO log_entries (server_id, batch_seq, idx, timestamp_ms, level, source, message, truncated, size_estimate)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    // Oldest first through log_entries_by_ts; each row's delete trigger keeps log_fts and log_usage in step.
    "DELETE FROM log_entries WHERE id IN (SELECT id FROM log_entries WHERE timestamp_ms < ?1 ORDER BY timestamp_ms"
    " LIMIT ?2)",
    // The shortest run of oldest entries (at most ?2) whose estimates add up to the excess ?1.
    "WITH oldest AS (SELECT id, timestamp_ms, size_estimate FROM log_entries ORDER BY timestamp_ms, id LIMIT ?2),"
    " running AS (SELECT id, sum(size_estimate) OVER (ORDER BY timestamp_ms, id ROWS UNBOUNDED PRECEDING)"
    " - size_estimate AS before FROM oldest)"
    " DELETE FROM log_entries WHERE id IN (SELECT id FROM running WHERE before < ?1)",
    "SELECT bytes FROM log_usage WHERE id = 1",
    "DELETE FROM log_entries WHERE server_id = ?1",
    "INSERT INTO gaps (server_id, stream, first_seq, last_seq, count, from_ms, to_ms, reason, reported_at_ms)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    " ON CONFLICT (server_id, stream, first_seq) DO UPDATE SET"
    " last_seq = max(last_seq, excluded.last_seq), count = max(count, excluded.count),"
    " from_ms = coalesce(min(from_ms, excluded.from_ms), from_ms, excluded.from_ms),"
    " to_ms = coalesce(max(to_ms, excluded.to_ms), to_ms, excluded.to_ms), reason = excluded.reason",
    "SELECT server_id, stream, first_seq, last_seq, count, from_ms, to_ms, reason, reported_at_ms FROM gaps"
    " WHERE server_id = ?1 ORDER BY reported_at_ms DESC, rowid DESC LIMIT ?2",
    "DELETE FROM gaps WHERE rowid IN (SELECT rowid FROM gaps WHERE reported_at_ms < ?1 ORDER BY reported_at_ms"
    " LIMIT ?2)",
    "DELETE FROM gaps WHERE server_id = ?1",
};

#undef CORVID_USER_COLUMNS
#undef CORVID_SERVER_COLUMNS
#undef CORVID_SAMPLE_COLUMNS
#undef CORVID_COMMAND_COLUMNS
#undef CORVID_AUDIT_COLUMNS
#undef CORVID_UNFINISHED

storage_errc errc_for(int rc)
{
    // Extended codes first: only these two constraint kinds mean "that key is taken".
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return storage_errc::already_exists;
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return storage_errc::busy;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT: return storage_errc::corrupt;
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM: return storage_errc::io_error;
    case SQLITE_INTERRUPT: return storage_errc::timed_out; // only our deadlines interrupt
    default: return storage_errc::internal;
    }
}

std::int64_t clamp_to_int64(std::size_t n)
{
    constexpr auto max = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
    return static_cast<std::int64_t>(n > max ? max : n);
}

std::string column_text(sqlite3_stmt* s, int i)
{
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
    const int n = sqlite3_column_bytes(s, i); // after column_text, so it counts the UTF-8 form
    return p ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}

std::optional<double> column_optional_real(sqlite3_stmt* s, int i)
{
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return std::nullopt;
    return sqlite3_column_double(s, i);
}

// One use of a cached statement: binds parameters in order and, whatever happens, resets the
// statement and clears its bindings when it goes out of scope, so the next use starts clean and
// no bound text (SQLITE_STATIC) outlives the caller's buffers.
class statement_use {
public:
    explicit statement_use(sqlite3_stmt* s) : s_(s) {}
    statement_use(const statement_use&) = delete;
    statement_use& operator=(const statement_use&) = delete;
    ~statement_use()
    {
        sqlite3_reset(s_);
        sqlite3_clear_bindings(s_);
    }

    statement_use& text(std::string_view v)
    {
        // A null pointer would bind SQL NULL; an empty view (string_view{}) still means "".
        note(sqlite3_bind_text64(s_, next_++, v.data() ? v.data() : "", v.size(), SQLITE_STATIC, SQLITE_UTF8));
        return *this;
    }
    statement_use& integer(std::int64_t v)
    {
        note(sqlite3_bind_int64(s_, next_++, v));
        return *this;
    }
    statement_use& optional_integer(std::optional<std::int64_t> v)
    {
        note(v ? sqlite3_bind_int64(s_, next_++, *v) : sqlite3_bind_null(s_, next_++));
        return *this;
    }
    statement_use& optional_text(const std::optional<std::string>& v)
    {
        if (v)
            return text(*v);
        note(sqlite3_bind_null(s_, next_++));
        return *this;
    }
    statement_use& optional_real(std::optional<double> v)
    {
        note(v ? sqlite3_bind_double(s_, next_++, *v) : sqlite3_bind_null(s_, next_++));
        return *this;
    }

    // SQLITE_ROW, SQLITE_DONE or an error code (the first bind error, if any).
    int step() { return bind_rc_ != SQLITE_OK ? bind_rc_ : sqlite3_step(s_); }
    sqlite3_stmt* get() const { return s_; }

private:
    void note(int rc)
    {
        if (bind_rc_ == SQLITE_OK)
            bind_rc_ = rc;
    }

    sqlite3_stmt* s_;
    int next_ = 1;
    int bind_rc_ = SQLITE_OK;
};

// result<bool> will not take an error_code implicitly (error_code itself converts to bool).
storage_result<bool> bool_error(boost::system::error_code ec)
{
    return storage_result<bool>(boost::system::in_place_error, ec);
}

server_record read_server(sqlite3_stmt* s)
{
    server_record r;
    r.id = column_text(s, 0);
    r.name = column_text(s, 1);
    r.enabled = sqlite3_column_int64(s, 2) != 0;
    r.created_at_ms = sqlite3_column_int64(s, 3);
    if (sqlite3_column_type(s, 4) != SQLITE_NULL)
        r.last_seen_ms = sqlite3_column_int64(s, 4);
    r.hostname = column_text(s, 5);
    r.agent_version = column_text(s, 6);
    return r;
}

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

std::optional<std::int64_t> column_optional_integer(sqlite3_stmt* s, int i)
{
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return std::nullopt;
    return sqlite3_column_int64(s, i);
}

std::optional<std::string> column_optional_text(sqlite3_stmt* s, int i)
{
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return std::nullopt;
    return column_text(s, i);
}

// Columns in the order of CORVID_COMMAND_COLUMNS, then output.
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

// id, then the columns in the order of CORVID_AUDIT_COLUMNS.
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
// with SQLite's dbstat on syslog-like lines; tests/storage/log_storage_test.cpp checks that the
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

// One statement prepared for a single use (query_logs builds its SQL per filter), finalized on scope exit.
class one_off_statement {
public:
    one_off_statement() = default;
    one_off_statement(const one_off_statement&) = delete;
    one_off_statement& operator=(const one_off_statement&) = delete;
    ~one_off_statement() { sqlite3_finalize(s_); }
    sqlite3_stmt** out() { return &s_; }
    sqlite3_stmt* get() const { return s_; }

private:
    sqlite3_stmt* s_ = nullptr;
};

class sqlite_storage final : public storage {
public:
    sqlite_storage(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
    sqlite_storage(const sqlite_storage&) = delete;
    sqlite_storage& operator=(const sqlite_storage&) = delete;

    ~sqlite_storage() override
    {
        for (auto* s : statements_)
            sqlite3_finalize(s);
        if (db_ && opened_) {
            // Cheap upkeep SQLite recommends at close: refreshes planner statistics where stale.
            sqlite3_exec(db_, "PRAGMA optimize", nullptr, nullptr, nullptr);
        }
        sqlite3_close(db_); // nothing is left unfinalized, so this cannot return SQLITE_BUSY
    }

    boost::system::error_code open(const sqlite_options& o);

    storage_result<void> add_user(const user_record& user) override;
    storage_result<std::optional<user_record>> find_user(std::string_view username) override;
    storage_result<std::size_t> count_users() override;
    storage_result<std::vector<user_record>> list_users() override;
    storage_result<void> create_user(const user_record& user, const audit_record& audit) override;
    storage_result<user_change_result> change_user(std::string_view username, const user_change& change,
                                                   const audit_record& audit) override;

    storage_result<void> add_server(const server_record& server, std::string_view api_key_hash) override;
    storage_result<std::vector<server_record>> list_servers() override;
    storage_result<std::optional<server_record>> find_server(std::string_view id) override;
    storage_result<std::optional<server_record>> find_server_by_key_hash(std::string_view api_key_hash) override;
    storage_result<bool> replace_api_key_hash(std::string_view id, std::string_view api_key_hash) override;
    storage_result<bool> delete_server(std::string_view id) override;
    storage_result<void> record_agent_seen(std::string_view id, std::int64_t last_seen_ms, std::string_view hostname,
                                           std::string_view agent_version) override;

    storage_result<std::vector<bool>> insert_samples(std::span<const sample_row> rows) override;
    storage_result<std::vector<sample_row>> samples_between(std::string_view server_id, std::int64_t from_ms,
                                                            std::int64_t to_ms, std::size_t limit,
                                                            std::size_t max_bytes) override;
    storage_result<std::optional<sample_row>> latest_sample(std::string_view server_id) override;
    storage_result<std::size_t> delete_samples_before(std::int64_t cutoff_ms, std::size_t max_rows) override;

    storage_result<void> add_command(const command_record& c, const audit_record& a) override;
    storage_result<bool> set_command_status(std::string_view id, std::string_view status) override;
    storage_result<bool> finish_command(const command_record& outcome, const audit_record& a) override;
    storage_result<std::optional<command_record>> find_command(std::string_view id) override;
    storage_result<std::vector<command_record>> list_commands(std::string_view server_id, std::size_t limit) override;
    storage_result<std::size_t> mark_unfinished_commands_lost(std::int64_t now_ms) override;
    storage_result<void> append_audit(const audit_record& a) override;
    storage_result<std::vector<audit_record>> list_audit(std::optional<std::int64_t> before_id,
                                                         std::size_t limit) override;
    storage_result<std::size_t> delete_commands_before(std::int64_t cutoff_ms, std::size_t max_rows) override;

    storage_result<log_insert> insert_log_batch(std::string_view server_id, std::uint64_t seq,
                                                std::span<const log_record> entries) override;
    storage_result<log_page> query_logs(std::string_view server_id, const log_filter& filter,
                                        const std::optional<log_cursor>& after, std::size_t limit) override;
    storage_result<std::size_t> delete_logs_before(std::int64_t cutoff_ms, std::size_t max_rows) override;
    storage_result<std::size_t> trim_logs_to(std::uint64_t max_bytes, std::size_t max_rows) override;
    storage_result<std::uint64_t> log_bytes() override;
    storage_result<void> insert_gap(const gap_record& g) override;
    storage_result<std::vector<gap_record>> list_gaps(std::string_view server_id, std::size_t limit) override;
    storage_result<std::size_t> delete_gaps_before(std::int64_t cutoff_ms, std::size_t max_rows) override;

private:
    // query_logs with or without the full-text prefilter (see there).
    storage_result<log_page> run_log_query(std::string_view server_id, const log_filter& filter,
                                           const std::optional<log_cursor>& after, std::size_t limit,
                                           bool use_index, bool& index_failed);
    storage_result<int> insert_audit(const audit_record& a);
    // The user at the current row of a statement selecting CORVID_USER_COLUMNS.
    storage_result<user_record> read_user(sqlite3_stmt* s);
    storage_result<user_change_result> apply_user_change(std::string_view username, const user_change& change,
                                                         const audit_record& audit); // inside a transaction
    // Runs `body` between BEGIN and COMMIT; any error rolls back.
    template <class Body> auto in_transaction(Body&& body) -> decltype(body());
    // Maps an SQLite result code to storage_errc and logs SQLite's message. The message names
    // tables, columns and constraints, never bound values, so no hash or key reaches the log.
    boost::system::error_code fail(int rc, std::string_view what);

    storage_result<sqlite3_stmt*> prepared(stmt which);
    boost::system::error_code exec(const char* sql, std::string_view what);
    storage_result<int> user_version();
    boost::system::error_code migrate(bool allowed);

    storage_result<void> begin();
    storage_result<void> commit();
    void rollback_if_open();
    // Runs a statement that returns no rows; on success returns sqlite3_changes().
    template <class Bind> storage_result<int> run(stmt which, std::string_view what, Bind&& bind);
    // Every row of a query, each made by read(sqlite3_stmt*); `reserve` bounds the first allocation;
    // `enough(rows)`, when given, ends the query early once it returns true.
    template <class T, class Bind>
    storage_result<std::vector<T>> query_rows(stmt which, std::string_view what, Bind&& bind,
                                              T (*read)(sqlite3_stmt*), std::size_t reserve = 0,
                                              const std::function<bool(const std::vector<T>&)>& enough = {});
    // The first row of a query, or nothing.
    template <class T, class Bind>
    storage_result<std::optional<T>> query_one(stmt which, std::string_view what, Bind&& bind,
                                               T (*read)(sqlite3_stmt*));

    sqlite3* db_;
    std::string path_;
    std::chrono::milliseconds log_query_deadline_{2000};
    bool opened_ = false;
    std::array<sqlite3_stmt*, static_cast<std::size_t>(stmt::count_)> statements_{};
};

boost::system::error_code sqlite_storage::fail(int rc, std::string_view what)
{
    const auto e = errc_for(rc);
    const char* msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    switch (e) {
    case storage_errc::already_exists:
        // An expected outcome the caller reports (a name is taken); not worth more than debug.
        log::debug("storage: {}: {}", what, msg);
        break;
    case storage_errc::busy:
    case storage_errc::timed_out: log::warn("storage: {} on {}: {} (code {})", what, path_, msg, rc); break;
    default: log::error("storage: {} on {}: {} (code {})", what, path_, msg, rc); break;
    }
    return make_error_code(e);
}

storage_result<sqlite3_stmt*> sqlite_storage::prepared(stmt which)
{
    auto& slot = statements_[static_cast<std::size_t>(which)];
    if (!slot) {
        const int rc = sqlite3_prepare_v3(db_, statement_sql[static_cast<std::size_t>(which)], -1,
                                          SQLITE_PREPARE_PERSISTENT, &slot, nullptr);
        if (rc != SQLITE_OK) {
            sqlite3_finalize(slot);
            slot = nullptr;
            return fail(rc, "prepare");
        }
    }
    return slot;
}

boost::system::error_code sqlite_storage::exec(const char* sql, std::string_view what)
{
    const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK)
        return fail(rc, what);
    return {};
}

storage_result<int> sqlite_storage::user_version()
{
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v2(db_, "PRAGMA user_version", -1, &s, nullptr);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(s);
        return fail(rc, "read schema version");
    }
    rc = sqlite3_step(s);
    const int version = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW)
        return fail(rc, "read schema version");
    return version;
}

boost::system::error_code sqlite_storage::migrate(bool allowed)
{
    auto version = user_version();
    if (!version)
        return version.error();
    if (*version < 0) {
        log::error("storage: {} has schema version {}; it is not a Corvid database", path_, *version);
        return make_error_code(storage_errc::corrupt);
    }
    if (*version > schema_version) {
        log::error("storage: {} has schema version {} but this build knows only up to {}; refusing to open it",
                   path_, *version, schema_version);
        return make_error_code(storage_errc::schema_too_new);
    }
    if (*version < schema_version && !allowed) {
        log::error("storage: {} has schema version {}, this build needs {} and migration is disabled", path_,
                   *version, schema_version);
        return make_error_code(storage_errc::internal);
    }
    while (*version < schema_version) {
        if (auto r = begin(); !r)
            return r.error();
        // Another process may have migrated between our read and our write lock: read again.
        version = user_version();
        if (!version) {
            rollback_if_open();
            return version.error();
        }
        if (*version >= schema_version) {
            rollback_if_open();
            return *version > schema_version ? make_error_code(storage_errc::schema_too_new)
                                             : boost::system::error_code{};
        }
        const int next = *version + 1;
        if (auto ec = exec(migrations[static_cast<std::size_t>(*version)], "migrate")) {
            rollback_if_open();
            return ec;
        }
        // PRAGMA takes no bound parameters; `next` is our own constant, not outside input.
        if (auto ec = exec(fmt::format("PRAGMA user_version = {}", next).c_str(), "migrate")) {
            rollback_if_open();
            return ec;
        }
        if (auto r = commit(); !r)
            return r.error();
        log::info("storage: {} migrated to schema version {}", path_, next);
        *version = next;
    }
    return {};
}

boost::system::error_code sqlite_storage::open(const sqlite_options& o)
{
    sqlite3_extended_result_codes(db_, 1);
    log_query_deadline_ = o.log_query_deadline;
    const auto timeout = o.busy_timeout.count();
    sqlite3_busy_timeout(db_, static_cast<int>(timeout < 0 ? 0 : timeout > INT_MAX ? INT_MAX : timeout));

    // 16 KiB pages keep a whole sample row (1-4 KB of JSON) inside its b-tree leaf: with SQLite's
    // default 4 KiB pages a WITHOUT ROWID row over ~1 KB spills into an overflow page of its own,
    // which made every sample cost 4.7 KB on disk and cut insert speed (BENCHMARKS.md). The page
    // size only takes effect on a new, empty file, so this must precede the switch to WAL.
    if (auto ec = exec("PRAGMA page_size = 16384", "configure"))
        return ec;
    // journal_mode answers with the mode now in force: "wal", or e.g. "memory" for ":memory:".
    // It is also the first statement that reads the file, so a non-database fails here (NOTADB).
    {
        sqlite3_stmt* s = nullptr;
        int rc = sqlite3_prepare_v2(db_, "PRAGMA journal_mode = WAL", -1, &s, nullptr);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(s);
        std::string mode = rc == SQLITE_ROW ? column_text(s, 0) : std::string();
        sqlite3_finalize(s);
        if (rc != SQLITE_ROW)
            return fail(rc, "set journal mode");
        if (mode != "wal")
            log::warn("storage: {} is in journal mode '{}', not WAL; readers will wait for writers", path_, mode);
    }
    if (auto ec = exec("PRAGMA foreign_keys = ON", "configure"))
        return ec;
    // NORMAL in WAL mode is crash-safe (the database stays consistent) but a power loss may undo
    // the last transactions; FULL syncs the WAL on every commit.
    if (auto ec = exec(o.full_sync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL", "configure"))
        return ec;
    if (auto ec = migrate(o.migrate))
        return ec;
    opened_ = true;
    return {};
}

storage_result<void> sqlite_storage::begin()
{
    auto r = run(stmt::begin, "begin transaction", [](statement_use&) {});
    if (!r)
        return r.error();
    return {};
}

storage_result<void> sqlite_storage::commit()
{
    auto r = run(stmt::commit, "commit", [](statement_use&) {});
    if (!r) {
        rollback_if_open(); // a failed COMMIT can leave the transaction open
        return r.error();
    }
    return {};
}

void sqlite_storage::rollback_if_open()
{
    if (sqlite3_get_autocommit(db_))
        return; // SQLite already rolled back (some errors do that by themselves)
    auto s = prepared(stmt::rollback);
    if (!s)
        return;
    statement_use use(*s);
    if (const int rc = use.step(); rc != SQLITE_DONE)
        fail(rc, "rollback");
}

template <class Bind> storage_result<int> sqlite_storage::run(stmt which, std::string_view what, Bind&& bind)
{
    auto s = prepared(which);
    if (!s)
        return s.error();
    statement_use use(*s);
    bind(use);
    const int rc = use.step();
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return fail(rc, what);
    return sqlite3_changes(db_);
}

template <class T, class Bind>
storage_result<std::vector<T>> sqlite_storage::query_rows(stmt which, std::string_view what, Bind&& bind,
                                                          T (*read)(sqlite3_stmt*), std::size_t reserve,
                                                          const std::function<bool(const std::vector<T>&)>& enough)
{
    auto s = prepared(which);
    if (!s)
        return s.error();
    statement_use use(*s);
    bind(use);
    std::vector<T> out;
    out.reserve(reserve);
    for (;;) {
        const int rc = use.step();
        if (rc == SQLITE_DONE)
            return out;
        if (rc != SQLITE_ROW)
            return fail(rc, what);
        out.push_back(read(*s));
        if (enough && enough(out))
            return out;
    }
}

template <class T, class Bind>
storage_result<std::optional<T>> sqlite_storage::query_one(stmt which, std::string_view what, Bind&& bind,
                                                           T (*read)(sqlite3_stmt*))
{
    auto s = prepared(which);
    if (!s)
        return s.error();
    statement_use use(*s);
    bind(use);
    const int rc = use.step();
    if (rc == SQLITE_DONE)
        return std::optional<T>();
    if (rc != SQLITE_ROW)
        return fail(rc, what);
    return std::optional<T>(read(*s));
}

storage_result<void> sqlite_storage::add_user(const user_record& user)
{
    auto r = run(stmt::add_user, "add user", [&](statement_use& u) {
        u.text(user.username)
            .text(user.password_hash)
            .text(role_name(user.role))
            .integer(user.created_at_ms)
            .integer(user.disabled ? 1 : 0)
            .integer(user.token_generation);
    });
    if (!r)
        return r.error();
    return {};
}

storage_result<std::optional<user_record>> sqlite_storage::find_user(std::string_view username)
{
    auto s = prepared(stmt::find_user);
    if (!s)
        return s.error();
    statement_use use(*s);
    use.text(username);
    const int rc = use.step();
    if (rc == SQLITE_DONE)
        return std::optional<user_record>();
    if (rc != SQLITE_ROW)
        return fail(rc, "find user");
    auto u = read_user(*s);
    if (!u)
        return u.error();
    return std::optional<user_record>(std::move(*u));
}

storage_result<user_record> sqlite_storage::read_user(sqlite3_stmt* s)
{
    user_record u;
    u.username = column_text(s, 0);
    u.password_hash = column_text(s, 1);
    const auto r = role_from_name(column_text(s, 2));
    if (!r) {
        // The CHECK constraint keeps this out; only a hand-edited file gets here.
        log::error("storage: user row in {} has an unknown role", path_);
        return make_error_code(storage_errc::corrupt);
    }
    u.role = *r;
    u.created_at_ms = sqlite3_column_int64(s, 3);
    u.disabled = sqlite3_column_int64(s, 4) != 0;
    u.token_generation = sqlite3_column_int64(s, 5);
    return u;
}

storage_result<std::vector<user_record>> sqlite_storage::list_users()
{
    auto s = prepared(stmt::list_users);
    if (!s)
        return s.error();
    statement_use use(*s);
    std::vector<user_record> out;
    for (;;) {
        const int rc = use.step();
        if (rc == SQLITE_DONE)
            return out;
        if (rc != SQLITE_ROW)
            return fail(rc, "list users");
        auto u = read_user(*s);
        if (!u)
            return u.error();
        out.push_back(std::move(*u));
    }
}

storage_result<void> sqlite_storage::create_user(const user_record& user, const audit_record& audit)
{
    auto r = in_transaction([&]() -> storage_result<int> {
        if (auto added = add_user(user); !added)
            return added.error();
        audit_record line = audit;
        line.action = "user.created";
        line.detail = fmt::format("{} ({})", user.username, role_name(user.role));
        return insert_audit(line);
    });
    if (!r)
        return r.error();
    return {};
}

storage_result<user_change_result> sqlite_storage::change_user(std::string_view username, const user_change& change,
                                                               const audit_record& audit)
{
    return in_transaction([&] { return apply_user_change(username, change, audit); });
}

storage_result<user_change_result> sqlite_storage::apply_user_change(std::string_view username,
                                                                     const user_change& change,
                                                                     const audit_record& audit)
{
    auto found = find_user(username);
    if (!found)
        return found.error();
    if (!*found)
        return user_change_result{user_change_status::not_found, std::nullopt};
    const user_record before = std::move(**found);
    user_record after = before;
    if (!change.remove) {
        if (change.role)
            after.role = *change.role;
        if (change.disabled)
            after.disabled = *change.disabled;
        if (change.password_hash)
            after.password_hash = *change.password_hash;
    }

    // The last enabled admin stays: without one, no one could manage users over the API again.
    const bool was_admin = before.role == role::admin && !before.disabled;
    const bool stays_admin = !change.remove && after.role == role::admin && !after.disabled;
    if (was_admin && !stays_admin) {
        auto s = prepared(stmt::count_enabled_admins);
        if (!s)
            return s.error();
        statement_use use(*s);
        const int rc = use.step();
        if (rc != SQLITE_ROW)
            return fail(rc, "count admins");
        if (sqlite3_column_int64(*s, 0) <= 1)
            return user_change_result{user_change_status::last_admin, before};
    }

    std::vector<std::pair<std::string_view, std::string>> actions; // audit action, detail
    if (change.remove) {
        auto r = run(stmt::delete_user, "delete user", [&](statement_use& u) { u.text(username); });
        if (!r)
            return r.error();
        audit_record line = audit;
        line.action = "user.deleted";
        line.detail = before.username;
        if (auto a = insert_audit(line); !a)
            return a.error();
        return user_change_result{user_change_status::done, before};
    }
    const bool password_changed = change.password_hash.has_value();
    const bool role_changed = after.role != before.role;
    const bool disabled_now = after.disabled && !before.disabled;
    if (before.disabled != after.disabled)
        actions.emplace_back(after.disabled ? "user.disabled" : "user.enabled", before.username);
    if (role_changed)
        actions.emplace_back("user.role_changed",
                             fmt::format("{}: {} -> {}", before.username, role_name(before.role), role_name(after.role)));
    if (password_changed)
        actions.emplace_back("user.password_changed", before.username);
    if (change.revoke_tokens)
        actions.emplace_back("user.logout", before.username);
    if (actions.empty())
        return user_change_result{user_change_status::done, before};
    if (password_changed || role_changed || disabled_now || change.revoke_tokens)
        ++after.token_generation;
    auto r = run(stmt::update_user, "update user", [&](statement_use& u) {
        u.text(username)
            .text(after.password_hash)
            .text(role_name(after.role))
            .integer(after.disabled ? 1 : 0)
            .integer(after.token_generation);
    });
    if (!r)
        return r.error();
    for (auto& [action, detail] : actions) {
        audit_record line = audit;
        line.action = std::string(action);
        line.detail = std::move(detail);
        if (auto a = insert_audit(line); !a)
            return a.error();
    }
    return user_change_result{user_change_status::done, std::move(after)};
}

storage_result<std::size_t> sqlite_storage::count_users()
{
    auto s = prepared(stmt::count_users);
    if (!s)
        return s.error();
    statement_use use(*s);
    const int rc = use.step();
    if (rc != SQLITE_ROW)
        return fail(rc, "count users");
    return static_cast<std::size_t>(sqlite3_column_int64(*s, 0));
}

storage_result<void> sqlite_storage::add_server(const server_record& server, std::string_view api_key_hash)
{
    auto r = run(stmt::add_server, "add server", [&](statement_use& u) {
        u.text(server.id)
            .text(server.name)
            .text(api_key_hash)
            .integer(server.enabled ? 1 : 0)
            .integer(server.created_at_ms)
            .optional_integer(server.last_seen_ms)
            .text(server.hostname)
            .text(server.agent_version);
    });
    if (!r)
        return r.error();
    return {};
}

storage_result<std::vector<server_record>> sqlite_storage::list_servers()
{
    return query_rows(stmt::list_servers, "list servers", [](statement_use&) {}, &read_server);
}

storage_result<std::optional<server_record>> sqlite_storage::find_server(std::string_view id)
{
    return query_one(stmt::find_server, "find server", [&](statement_use& u) { u.text(id); }, &read_server);
}

storage_result<std::optional<server_record>> sqlite_storage::find_server_by_key_hash(std::string_view api_key_hash)
{
    return query_one(stmt::find_server_by_key, "find server by key", [&](statement_use& u) { u.text(api_key_hash); },
                     &read_server);
}

storage_result<bool> sqlite_storage::replace_api_key_hash(std::string_view id, std::string_view api_key_hash)
{
    auto r = run(stmt::replace_key, "replace api key", [&](statement_use& u) { u.text(id).text(api_key_hash); });
    if (!r)
        return bool_error(r.error());
    return *r > 0;
}

storage_result<bool> sqlite_storage::delete_server(std::string_view id)
{
    if (auto r = begin(); !r)
        return bool_error(r.error());
    for (const auto& [which, what] : {std::pair{stmt::delete_server_samples, "delete server samples"},
                                      std::pair{stmt::delete_server_logs, "delete server logs"},
                                      std::pair{stmt::delete_server_gaps, "delete server gaps"}}) {
        auto deleted = run(which, what, [&](statement_use& u) { u.text(id); });
        if (!deleted) {
            rollback_if_open();
            return bool_error(deleted.error());
        }
    }
    auto servers = run(stmt::delete_server, "delete server", [&](statement_use& u) { u.text(id); });
    if (!servers) {
        rollback_if_open();
        return bool_error(servers.error());
    }
    if (auto r = commit(); !r)
        return bool_error(r.error());
    return *servers > 0;
}

storage_result<void> sqlite_storage::record_agent_seen(std::string_view id, std::int64_t last_seen_ms,
                                                       std::string_view hostname, std::string_view agent_version)
{
    auto r = run(stmt::record_seen, "record agent seen", [&](statement_use& u) {
        u.text(id).integer(last_seen_ms).text(hostname).text(agent_version);
    });
    if (!r)
        return r.error();
    return {};
}

storage_result<std::vector<bool>> sqlite_storage::insert_samples(std::span<const sample_row> rows)
{
    std::vector<bool> fresh;
    if (rows.empty())
        return fresh;
    fresh.reserve(rows.size());
    if (auto r = begin(); !r)
        return r.error();
    for (const auto& row : rows) {
        auto r = run(stmt::insert_sample, "insert sample", [&](statement_use& u) {
            u.text(row.server_id)
                .integer(row.timestamp_ms)
                .optional_real(row.cpu_percent)
                .optional_real(row.memory_percent)
                .optional_real(row.load1)
                .text(row.data_json);
        });
        if (!r) {
            rollback_if_open();
            return r.error();
        }
        fresh.push_back(*r > 0); // OR IGNORE changes nothing when the key is already stored
    }
    if (auto r = commit(); !r)
        return r.error();
    return fresh;
}

storage_result<std::vector<sample_row>> sqlite_storage::samples_between(std::string_view server_id,
                                                                        std::int64_t from_ms, std::int64_t to_ms,
                                                                        std::size_t limit, std::size_t max_bytes)
{
    if (limit == 0 || to_ms < from_ms)
        return std::vector<sample_row>();
    // The limit may be generous: reserve for at most 1024 rows, grow as rows arrive. The byte
    // budget keeps a reader thread from holding gigabytes for one request (issue 12.8).
    std::size_t bytes = 0;
    return query_rows<sample_row>(
        stmt::samples_between, "read samples",
        [&](statement_use& u) {
            u.text(server_id).integer(from_ms).integer(to_ms).integer(clamp_to_int64(limit));
        },
        &read_sample, limit < 1024 ? limit : 1024,
        [&](const std::vector<sample_row>& rows) { return (bytes += rows.back().data_json.size()) >= max_bytes; });
}

storage_result<std::optional<sample_row>> sqlite_storage::latest_sample(std::string_view server_id)
{
    return query_one(stmt::latest_sample, "read latest sample", [&](statement_use& u) { u.text(server_id); },
                     &read_sample);
}

storage_result<std::size_t> sqlite_storage::delete_samples_before(std::int64_t cutoff_ms, std::size_t max_rows)
{
    if (max_rows == 0)
        return std::size_t{0};
    auto r = run(stmt::delete_samples_before, "delete old samples",
                 [&](statement_use& u) { u.integer(cutoff_ms).integer(clamp_to_int64(max_rows)); });
    if (!r)
        return r.error();
    return static_cast<std::size_t>(*r);
}

template <class Body> auto sqlite_storage::in_transaction(Body&& body) -> decltype(body())
{
    using R = decltype(body());
    if (auto r = begin(); !r)
        return R(boost::system::in_place_error, r.error());
    auto result = body();
    if (!result) {
        rollback_if_open();
        return result;
    }
    if (auto r = commit(); !r)
        return R(boost::system::in_place_error, r.error());
    return result;
}

storage_result<int> sqlite_storage::insert_audit(const audit_record& a)
{
    return run(stmt::insert_audit, "append audit", [&](statement_use& u) {
        u.integer(a.at_ms)
            .text(a.actor)
            .text(a.address)
            .text(a.action)
            .text(a.server_id)
            .text(a.command_id)
            .text(a.detail)
            .optional_text(a.status)
            .optional_integer(a.exit_code)
            .optional_integer(a.duration_ms)
            .optional_text(a.output_sha256);
    });
}

storage_result<void> sqlite_storage::add_command(const command_record& c, const audit_record& a)
{
    auto r = in_transaction([&]() -> storage_result<int> {
        auto added = run(stmt::add_command, "add command", [&](statement_use& u) {
            u.text(c.id)
                .text(c.server_id)
                .text(c.kind)
                .text(c.command)
                .integer(c.timeout_s)
                .text(c.issued_by)
                .text(c.client_address)
                .text(c.status)
                .optional_integer(c.exit_code)
                .optional_integer(c.duration_ms)
                .integer(c.truncated ? 1 : 0)
                .optional_text(c.error)
                .text(c.output_sha256)
                .integer(c.created_at_ms)
                .optional_integer(c.finished_at_ms)
                .text(c.output);
        });
        if (!added)
            return added;
        return insert_audit(a);
    });
    if (!r)
        return r.error();
    return {};
}

storage_result<bool> sqlite_storage::set_command_status(std::string_view id, std::string_view status)
{
    auto r = run(stmt::set_command_status, "set command status", [&](statement_use& u) { u.text(id).text(status); });
    if (!r)
        return bool_error(r.error());
    return *r > 0;
}

storage_result<bool> sqlite_storage::finish_command(const command_record& c, const audit_record& a)
{
    return in_transaction([&]() -> storage_result<bool> {
        auto updated = run(stmt::finish_command, "finish command", [&](statement_use& u) {
            u.text(c.id)
                .text(c.status)
                .optional_integer(c.exit_code)
                .optional_integer(c.duration_ms)
                .text(c.output)
                .integer(c.truncated ? 1 : 0)
                .optional_text(c.error)
                .text(c.output_sha256)
                .optional_integer(c.finished_at_ms);
        });
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
    return query_one(stmt::find_command, "find command", [&](statement_use& u) { u.text(id); }, &read_command);
}

storage_result<std::vector<command_record>> sqlite_storage::list_commands(std::string_view server_id,
                                                                          std::size_t limit)
{
    return query_rows(
        stmt::list_commands, "list commands",
        [&](statement_use& u) { u.text(server_id).integer(clamp_to_int64(limit)); }, &read_command);
}

storage_result<std::size_t> sqlite_storage::mark_unfinished_commands_lost(std::int64_t now_ms)
{
    return in_transaction([&]() -> storage_result<std::size_t> {
        auto audited = run(stmt::audit_lost, "audit lost commands", [&](statement_use& u) { u.integer(now_ms); });
        if (!audited)
            return audited.error();
        auto marked = run(stmt::mark_lost, "mark commands lost", [&](statement_use& u) { u.integer(now_ms); });
        if (!marked)
            return marked.error();
        return static_cast<std::size_t>(*marked);
    });
}

storage_result<void> sqlite_storage::append_audit(const audit_record& a)
{
    if (auto r = insert_audit(a); !r)
        return r.error();
    return {};
}

storage_result<std::vector<audit_record>> sqlite_storage::list_audit(std::optional<std::int64_t> before_id,
                                                                     std::size_t limit)
{
    return query_rows(
        stmt::list_audit, "list audit",
        [&](statement_use& u) {
            u.integer(before_id.value_or(std::numeric_limits<std::int64_t>::max())).integer(clamp_to_int64(limit));
        },
        &read_audit);
}

storage_result<std::size_t> sqlite_storage::delete_commands_before(std::int64_t cutoff_ms, std::size_t max_rows)
{
    if (max_rows == 0)
        return std::size_t{0};
    auto r = run(stmt::delete_commands_before, "delete old commands",
                 [&](statement_use& u) { u.integer(cutoff_ms).integer(clamp_to_int64(max_rows)); });
    if (!r)
        return r.error();
    return static_cast<std::size_t>(*r);
}

// ---- logs and gaps ---------------------------------------------------------------------------

storage_result<log_insert> sqlite_storage::insert_log_batch(std::string_view server_id, std::uint64_t seq,
                                                            std::span<const log_record> entries)
{
    const auto stored_seq = static_cast<std::int64_t>(seq); // bit for bit, see read_gap
    return in_transaction([&]() -> storage_result<log_insert> {
        auto known = query_one(
            stmt::log_batch_known, "look up log batch",
            [&](statement_use& u) { u.text(server_id).integer(stored_seq); },
            +[](sqlite3_stmt*) { return 1; }); // int, not bool: result<optional<bool>> is ambiguous
        if (!known)
            return known.error();
        log_insert result;
        if (*known)
            return result; // sent again after a lost ack: stored once, acknowledged again
        result.fresh = true;
        result.ids.reserve(entries.size());
        for (std::size_t i = 0; i < entries.size(); ++i) {
            const auto& e = entries[i];
            auto r = run(stmt::insert_log, "insert log entry", [&](statement_use& u) {
                u.text(server_id)
                    .integer(stored_seq)
                    .integer(static_cast<std::int64_t>(i))
                    .integer(e.timestamp_ms)
                    .integer(e.level)
                    .text(e.source)
                    .text(e.message)
                    .integer(e.truncated ? 1 : 0)
                    .integer(estimated_log_row_bytes(server_id, e));
            });
            if (!r)
                return r.error();
            result.ids.push_back(sqlite3_last_insert_rowid(db_));
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
    const auto next = [&](param p) {
        params.push_back(std::move(p));
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
    if (const int rc = sqlite3_prepare_v3(db_, sql.c_str(), -1, 0, s.out(), nullptr); rc != SQLITE_OK) {
        index_failed = prefiltered;
        return fail(rc, "prepare log query");
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
        const int at = static_cast<int>(i) + 1;
        const int rc = std::holds_alternative<std::int64_t>(params[i])
                           ? sqlite3_bind_int64(s.get(), at, std::get<std::int64_t>(params[i]))
                           : sqlite3_bind_text64(s.get(), at, std::get<std::string>(params[i]).data(),
                                                 std::get<std::string>(params[i]).size(), SQLITE_STATIC, SQLITE_UTF8);
        if (rc != SQLITE_OK)
            return fail(rc, "bind log query");
    }
    log_page page;
    page.entries.reserve(limit < 256 ? limit + 1 : 256);
    const query_deadline deadline(db_, log_query_deadline_);
    for (;;) {
        const int rc = sqlite3_step(s.get());
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW) {
            // A query cut off by its deadline would be no faster without the index.
            index_failed = prefiltered && (rc & 0xff) != SQLITE_INTERRUPT;
            return fail(rc, "query logs");
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
    if (max_rows == 0)
        return std::size_t{0};
    auto r = run(stmt::delete_logs_before, "delete old log entries",
                 [&](statement_use& u) { u.integer(cutoff_ms).integer(clamp_to_int64(max_rows)); });
    if (!r)
        return r.error();
    return static_cast<std::size_t>(*r);
}

storage_result<std::uint64_t> sqlite_storage::log_bytes()
{
    auto r = query_one(stmt::log_bytes, "read log usage", [](statement_use&) {},
                       +[](sqlite3_stmt* s) { return sqlite3_column_int64(s, 0); });
    if (!r)
        return r.error();
    return static_cast<std::uint64_t>(std::max<std::int64_t>(0, r->value_or(0)));
}

storage_result<std::size_t> sqlite_storage::trim_logs_to(std::uint64_t max_bytes, std::size_t max_rows)
{
    if (max_rows == 0)
        return std::size_t{0};
    return in_transaction([&]() -> storage_result<std::size_t> {
        auto used = log_bytes();
        if (!used)
            return used.error();
        if (*used <= max_bytes)
            return std::size_t{0};
        auto r = run(stmt::trim_logs, "trim log entries", [&](statement_use& u) {
            u.integer(clamp_to_int64(static_cast<std::size_t>(*used - max_bytes))).integer(clamp_to_int64(max_rows));
        });
        if (!r)
            return r.error();
        return static_cast<std::size_t>(*r);
    });
}

storage_result<void> sqlite_storage::insert_gap(const gap_record& g)
{
    auto r = run(stmt::upsert_gap, "store gap", [&](statement_use& u) {
        u.text(g.server_id)
            .text(g.stream)
            .integer(static_cast<std::int64_t>(g.first_seq))
            .integer(static_cast<std::int64_t>(g.last_seq))
            .integer(static_cast<std::int64_t>(g.count))
            .optional_integer(g.from_ms)
            .optional_integer(g.to_ms)
            .text(g.reason)
            .integer(g.reported_at_ms);
    });
    if (!r)
        return r.error();
    return {};
}

storage_result<std::vector<gap_record>> sqlite_storage::list_gaps(std::string_view server_id, std::size_t limit)
{
    return query_rows(
        stmt::list_gaps, "list gaps", [&](statement_use& u) { u.text(server_id).integer(clamp_to_int64(limit)); },
        &read_gap);
}

storage_result<std::size_t> sqlite_storage::delete_gaps_before(std::int64_t cutoff_ms, std::size_t max_rows)
{
    if (max_rows == 0)
        return std::size_t{0};
    auto r = run(stmt::delete_gaps_before, "delete old gaps",
                 [&](statement_use& u) { u.integer(cutoff_ms).integer(clamp_to_int64(max_rows)); });
    if (!r)
        return r.error();
    return static_cast<std::size_t>(*r);
}

} // namespace

int sqlite_schema_version() { return schema_version; }

boost::system::result<std::unique_ptr<storage>> open_sqlite_storage(const sqlite_options& options)
{
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(options.path.c_str(), &db,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    // sqlite3_open_v2 hands back a handle even on failure (for its message); the object owns it.
    auto self = std::make_unique<sqlite_storage>(db, options.path);
    if (rc != SQLITE_OK) {
        const auto code = make_error_code(errc_for(rc));
        log::error("storage: cannot open {}: {} (code {})", options.path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc),
                   rc);
        return code;
    }
    if (auto ec = self->open(options))
        return ec;
    return std::unique_ptr<storage>(std::move(self));
}

} // namespace corvid::collector
