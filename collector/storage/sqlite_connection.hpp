#pragma once
// One SQLite connection as the SQLite backend uses it: opening and configuring the file, SQLite's
// result codes mapped to storage_errc (and logged), prepared statements cached per connection,
// the one transaction helper, parameter binding and the column readers. Internal to
// collector/storage (README.md, "The SQLite backend").
// Threading: one thread at a time, like the storage object that owns the connection.
#include <boost/system/error_code.hpp>
#include <cstdint>
#include <limits>
#include <optional>
#include <sqlite3.h>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "collector/storage/sqlite_storage.hpp"
#include "collector/storage/storage_error.hpp"

namespace corvid::collector::sqlite {

// An SQL statement a connection prepares on first use and keeps until it closes. The cache keys
// on the text's address, so declare each one `static constexpr` next to the code that runs it;
// the consteval constructor takes constant text only, which lives as long as the program.
struct sql_statement {
    consteval sql_statement(const char* what_, const char* text_) : what(what_), text(text_) {}
    const char* what; // what failed, for the log: "find server"
    const char* text;
};

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

    // Each argument to the next parameter, by its type: a string (anything that converts to
    // std::string_view) as text, bool as 0 or 1, a signed or 32-bit integer as an integer, and an
    // std::optional of std::int64_t, double or std::string as its value or NULL.
    template <class... Args> void bind(const Args&... args) { (bind_one(args), ...); }

    // SQLITE_ROW, SQLITE_DONE or an error code (the first bind error, if any).
    int step() { return bind_rc_ != SQLITE_OK ? bind_rc_ : sqlite3_step(s_); }

private:
    template <class T> void bind_one(const T& v)
    {
        if constexpr (std::is_same_v<T, bool>) {
            note(sqlite3_bind_int64(s_, next_++, v ? 1 : 0));
        } else if constexpr (std::is_integral_v<T>) {
            static_assert(std::is_signed_v<T> || sizeof(T) < sizeof(std::int64_t),
                          "a 64-bit unsigned value may not fit: clamp_to_int64 it, or cast it where bits are meant");
            note(sqlite3_bind_int64(s_, next_++, static_cast<std::int64_t>(v)));
        } else if constexpr (std::is_same_v<T, std::optional<std::int64_t>>) {
            note(v ? sqlite3_bind_int64(s_, next_++, *v) : sqlite3_bind_null(s_, next_++));
        } else if constexpr (std::is_same_v<T, std::optional<double>>) {
            note(v ? sqlite3_bind_double(s_, next_++, *v) : sqlite3_bind_null(s_, next_++));
        } else if constexpr (std::is_same_v<T, std::optional<std::string>>) {
            if (v)
                bind_one(*v);
            else
                note(sqlite3_bind_null(s_, next_++));
        } else {
            static_assert(std::is_convertible_v<const T&, std::string_view>, "no SQLite binding for this type");
            const std::string_view text = v;
            // A null pointer would bind SQL NULL; an empty view (string_view{}) still means "".
            note(sqlite3_bind_text64(s_, next_++, text.data() ? text.data() : "", text.size(), SQLITE_STATIC,
                                     SQLITE_UTF8));
        }
    }
    void note(int rc)
    {
        if (bind_rc_ == SQLITE_OK)
            bind_rc_ = rc;
    }

    sqlite3_stmt* s_;
    int next_ = 1;
    int bind_rc_ = SQLITE_OK;
};

// A statement prepared for a single use (the log query's SQL depends on its filter; pragmas read
// once at open), finalized on scope exit.
class one_off_statement {
public:
    one_off_statement() = default;
    one_off_statement(const one_off_statement&) = delete;
    one_off_statement& operator=(const one_off_statement&) = delete;
    ~one_off_statement() { sqlite3_finalize(s_); }
    int prepare(sqlite3* db, const char* sql) { return sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
    sqlite3_stmt* get() const { return s_; }

private:
    sqlite3_stmt* s_ = nullptr;
};

// A row reader is a function of the statement at its current row: T read(sqlite3_stmt*), or
// storage_result<T> read(sqlite3_stmt*) when a row can be refused (see sqlite_users.cpp).
template <class R> struct row_reader_result {
    using type = R;
};
template <class T> struct row_reader_result<storage_result<T>> {
    using type = T;
};
template <class Read> using row_type = typename row_reader_result<std::invoke_result_t<Read&, sqlite3_stmt*>>::type;

class connection {
public:
    explicit connection(std::string path) : path_(std::move(path)) {}
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;
    ~connection();

    // Opens (creating if needed) and configures the file: page size, WAL, foreign keys,
    // synchronous, busy timeout. Errors: io_error, corrupt (not a database), busy, internal.
    boost::system::error_code open(const sqlite_options& o);
    // Once the schema is known to be ours: run SQLite's cheap upkeep (PRAGMA optimize) at close.
    void optimize_on_close() { optimize_on_close_ = true; }

    sqlite3* handle() const { return db_; }
    const std::string& path() const { return path_; }

    // Maps an SQLite result code to storage_errc and logs SQLite's message. The message names
    // tables, columns and constraints, never bound values, so no hash or key reaches the log.
    boost::system::error_code fail(int rc, std::string_view what);
    // Runs SQL text without parameters or a cache (pragmas, migrations).
    boost::system::error_code exec(const char* sql, std::string_view what);

    // Runs a statement that returns no rows; on success returns sqlite3_changes().
    template <class... Args> storage_result<int> run(const sql_statement& sql, const Args&... args);
    // Calls on_row(sqlite3_stmt*) for each row while it returns true.
    template <class OnRow, class... Args>
    storage_result<void> each_row(const sql_statement& sql, OnRow&& on_row, const Args&... args);
    // Every row of a query, each made by read.
    template <class Read, class... Args>
    storage_result<std::vector<row_type<Read>>> query_rows(const sql_statement& sql, Read&& read, const Args&... args);
    // The first row of a query, or nothing.
    template <class Read, class... Args>
    storage_result<std::optional<row_type<Read>>> query_one(const sql_statement& sql, Read&& read,
                                                            const Args&... args);

    // Runs `body` between BEGIN IMMEDIATE and COMMIT; an error from body or COMMIT rolls back.
    // Every write of more than one statement goes through here.
    template <class Body> auto in_transaction(Body&& body) -> decltype(body());

private:
    storage_result<sqlite3_stmt*> prepared(const sql_statement& sql);
    storage_result<void> begin();
    storage_result<void> commit();
    void rollback_if_open();

    std::string path_;
    sqlite3* db_ = nullptr;
    std::unordered_map<const char*, sqlite3_stmt*> statements_; // by sql_statement::text
    bool optimize_on_close_ = false;
};

// ---- column readers and result shapes ----

std::string column_text(sqlite3_stmt* s, int i);
std::optional<std::int64_t> column_optional_integer(sqlite3_stmt* s, int i);
std::optional<double> column_optional_real(sqlite3_stmt* s, int i);
std::optional<std::string> column_optional_text(sqlite3_stmt* s, int i);
// The first column as an integer: a count, a sum, a "there is one" flag.
std::int64_t read_first_integer(sqlite3_stmt* s);

inline std::int64_t clamp_to_int64(std::size_t n)
{
    constexpr auto max = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
    return static_cast<std::int64_t>(n > max ? max : n);
}

// result<bool> will not take an error_code implicitly (error_code itself converts to bool).
inline storage_result<bool> bool_error(boost::system::error_code ec)
{
    return storage_result<bool>(boost::system::in_place_error, ec);
}

// run()'s change count in the shapes the interface returns.
inline storage_result<void> without_count(const storage_result<int>& changes)
{
    if (!changes)
        return changes.error();
    return {};
}
inline storage_result<bool> changed_any(const storage_result<int>& changes)
{
    if (!changes)
        return bool_error(changes.error());
    return *changes > 0;
}
inline storage_result<std::size_t> changed_count(const storage_result<int>& changes)
{
    if (!changes)
        return changes.error();
    return static_cast<std::size_t>(*changes);
}

// Retention: runs `sql` (parameters: cutoff, row limit) unless max_rows is 0; how many it deleted.
inline storage_result<std::size_t> delete_oldest(connection& db, const sql_statement& sql, std::int64_t cutoff_ms,
                                                 std::size_t max_rows)
{
    if (max_rows == 0)
        return std::size_t{0};
    return changed_count(db.run(sql, cutoff_ms, clamp_to_int64(max_rows)));
}

// ---- templates ----

template <class... Args> storage_result<int> connection::run(const sql_statement& sql, const Args&... args)
{
    auto s = prepared(sql);
    if (!s)
        return s.error();
    statement_use use(*s);
    use.bind(args...);
    const int rc = use.step();
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return fail(rc, sql.what);
    return sqlite3_changes(db_);
}

template <class OnRow, class... Args>
storage_result<void> connection::each_row(const sql_statement& sql, OnRow&& on_row, const Args&... args)
{
    auto s = prepared(sql);
    if (!s)
        return s.error();
    statement_use use(*s);
    use.bind(args...);
    for (;;) {
        const int rc = use.step();
        if (rc == SQLITE_DONE)
            return {};
        if (rc != SQLITE_ROW)
            return fail(rc, sql.what);
        if (!on_row(*s))
            return {};
    }
}

template <class Read, class... Args>
storage_result<std::vector<row_type<Read>>> connection::query_rows(const sql_statement& sql, Read&& read,
                                                                   const Args&... args)
{
    std::vector<row_type<Read>> rows;
    boost::system::error_code refused;
    auto r = each_row(
        sql,
        [&](sqlite3_stmt* s) {
            storage_result<row_type<Read>> row = read(s); // either kind of reader
            if (!row) {
                refused = row.error();
                return false;
            }
            rows.push_back(std::move(*row));
            return true;
        },
        args...);
    if (!r)
        return r.error();
    if (refused)
        return refused;
    return rows;
}

template <class Read, class... Args>
storage_result<std::optional<row_type<Read>>> connection::query_one(const sql_statement& sql, Read&& read,
                                                                    const Args&... args)
{
    std::optional<storage_result<row_type<Read>>> first;
    auto r = each_row(
        sql,
        [&](sqlite3_stmt* s) {
            first.emplace(read(s));
            return false;
        },
        args...);
    if (!r)
        return r.error();
    if (!first)
        return std::optional<row_type<Read>>();
    if (!*first)
        return first->error();
    return std::optional<row_type<Read>>(std::move(**first));
}

template <class Body> auto connection::in_transaction(Body&& body) -> decltype(body())
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

} // namespace corvid::collector::sqlite
