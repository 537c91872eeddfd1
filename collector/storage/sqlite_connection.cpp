#include "collector/storage/sqlite_connection.hpp"

#include <climits>

#include "common/log.hpp"

namespace corvid::collector::sqlite {
namespace {

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

} // namespace

connection::~connection()
{
    for (auto& [text, s] : statements_)
        sqlite3_finalize(s);
    if (db_ && optimize_on_close_) {
        // Cheap upkeep SQLite recommends at close: refreshes planner statistics where stale.
        sqlite3_exec(db_, "PRAGMA optimize", nullptr, nullptr, nullptr);
    }
    sqlite3_close(db_); // nothing is left unfinalized, so this cannot return SQLITE_BUSY
}

boost::system::error_code connection::open(const sqlite_options& o)
{
    // sqlite3_open_v2 hands back a handle even on failure (for its message); the destructor closes it.
    const int rc =
        sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        const auto code = make_error_code(errc_for(rc));
        log::error("storage: cannot open {}: {} (code {})", path_, db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc), rc);
        return code;
    }
    sqlite3_extended_result_codes(db_, 1);
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
        one_off_statement s;
        int step = s.prepare(db_, "PRAGMA journal_mode = WAL");
        if (step == SQLITE_OK)
            step = sqlite3_step(s.get());
        if (step != SQLITE_ROW)
            return fail(step, "set journal mode");
        if (const auto mode = column_text(s.get(), 0); mode != "wal")
            log::warn("storage: {} is in journal mode '{}', not WAL; readers will wait for writers", path_, mode);
    }
    if (auto ec = exec("PRAGMA foreign_keys = ON", "configure"))
        return ec;
    // NORMAL in WAL mode is crash-safe (the database stays consistent) but a power loss may undo
    // the last transactions; FULL syncs the WAL on every commit.
    return exec(o.full_sync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL", "configure");
}

boost::system::error_code connection::fail(int rc, std::string_view what)
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

boost::system::error_code connection::exec(const char* sql, std::string_view what)
{
    const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK)
        return fail(rc, what);
    return {};
}

storage_result<sqlite3_stmt*> connection::prepared(const sql_statement& sql)
{
    if (const auto found = statements_.find(sql.text); found != statements_.end())
        return found->second;
    sqlite3_stmt* s = nullptr;
    if (const int rc = sqlite3_prepare_v3(db_, sql.text, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr); rc != SQLITE_OK) {
        sqlite3_finalize(s);
        return fail(rc, "prepare");
    }
    statements_.emplace(sql.text, s);
    return s;
}

// Take the write lock up front: a deferred transaction could fail half-way with BUSY.
constexpr sql_statement begin_sql{"begin transaction", "BEGIN IMMEDIATE"};
constexpr sql_statement commit_sql{"commit", "COMMIT"};
constexpr sql_statement rollback_sql{"rollback", "ROLLBACK"};

storage_result<void> connection::begin() { return without_count(run(begin_sql)); }

storage_result<void> connection::commit()
{
    auto r = run(commit_sql);
    if (!r) {
        rollback_if_open(); // a failed COMMIT can leave the transaction open
        return r.error();
    }
    return {};
}

void connection::rollback_if_open()
{
    if (sqlite3_get_autocommit(db_))
        return; // SQLite already rolled back (some errors do that by themselves)
    (void)run(rollback_sql); // a failure is logged by run; there is nothing more to do about it
}

std::string column_text(sqlite3_stmt* s, int i)
{
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
    const int n = sqlite3_column_bytes(s, i); // after column_text, so it counts the UTF-8 form
    return p ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}

std::optional<std::int64_t> column_optional_integer(sqlite3_stmt* s, int i)
{
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return std::nullopt;
    return sqlite3_column_int64(s, i);
}

std::optional<double> column_optional_real(sqlite3_stmt* s, int i)
{
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return std::nullopt;
    return sqlite3_column_double(s, i);
}

std::optional<std::string> column_optional_text(sqlite3_stmt* s, int i)
{
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return std::nullopt;
    return column_text(s, i);
}

std::int64_t read_first_integer(sqlite3_stmt* s) { return sqlite3_column_int64(s, 0); }

} // namespace corvid::collector::sqlite
