// The SQLite schema: every migration step ever released, and the loop that applies them.
#include "collector/storage/sqlite_schema.hpp"

#include <array>
#include <fmt/format.h>

#include "collector/storage/sqlite_connection.hpp"
#include "collector/storage/sqlite_storage.hpp"
#include "common/log.hpp"

namespace corvid::collector {
namespace sqlite {
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
//   (estimated_log_row_bytes, sqlite_logs.cpp). Retention by size compares it with log_max_mb, in O(1).
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

storage_result<int> user_version(connection& db)
{
    one_off_statement s;
    int rc = s.prepare(db.handle(), "PRAGMA user_version");
    if (rc == SQLITE_OK)
        rc = sqlite3_step(s.get());
    if (rc != SQLITE_ROW)
        return db.fail(rc, "read schema version");
    return sqlite3_column_int(s.get(), 0);
}

} // namespace

boost::system::error_code migrate(connection& db, bool allowed)
{
    auto version = user_version(db);
    if (!version)
        return version.error();
    if (*version < 0) {
        log::error("storage: {} has schema version {}; it is not a Corvid database", db.path(), *version);
        return make_error_code(storage_errc::corrupt);
    }
    if (*version > schema_version) {
        log::error("storage: {} has schema version {} but this build knows only up to {}; refusing to open it",
                   db.path(), *version, schema_version);
        return make_error_code(storage_errc::schema_too_new);
    }
    if (*version < schema_version && !allowed) {
        log::error("storage: {} has schema version {}, this build needs {} and migration is disabled", db.path(),
                   *version, schema_version);
        return make_error_code(storage_errc::internal);
    }
    while (*version < schema_version) {
        bool stepped = false;
        // The version after this transaction.
        auto after = db.in_transaction([&]() -> storage_result<int> {
            // Another process may have migrated between our read and our write lock: read again.
            auto now = user_version(db);
            if (!now || *now == schema_version)
                return now;
            if (*now > schema_version)
                return make_error_code(storage_errc::schema_too_new);
            if (auto ec = db.exec(migrations[static_cast<std::size_t>(*now)], "migrate"))
                return ec;
            // PRAGMA takes no bound parameters; the version is our own constant, not outside input.
            if (auto ec = db.exec(fmt::format("PRAGMA user_version = {}", *now + 1).c_str(), "migrate"))
                return ec;
            stepped = true;
            return *now + 1;
        });
        if (!after)
            return after.error();
        if (stepped)
            log::info("storage: {} migrated to schema version {}", db.path(), *after);
        version = after;
    }
    return {};
}

} // namespace sqlite

int sqlite_schema_version() { return sqlite::schema_version; }

} // namespace corvid::collector
