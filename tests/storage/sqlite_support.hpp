#pragma once
// For the SQLite backend's own tests: opening it with default options, and direct SQL on a
// database file for what the storage interface does not offer (schema, pragmas, triggers,
// dbstat, fixtures of older versions). Single-threaded use.
#include <cstdint>
#include <doctest/doctest.h>
#include <memory>
#include <sqlite3.h>
#include <stdexcept>
#include <string>

#include "collector/storage/sqlite_storage.hpp"

namespace corvid::test {

inline std::unique_ptr<collector::storage> open_ok(const std::string& path)
{
    auto r = collector::open_sqlite_storage({.path = path});
    REQUIRE(r.has_value());
    return std::move(*r);
}

class raw_sqlite {
public:
    explicit raw_sqlite(const std::string& path)
    {
        if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK)
            throw std::runtime_error("open failed");
    }
    ~raw_sqlite() { sqlite3_close(db_); }
    raw_sqlite(const raw_sqlite&) = delete;
    raw_sqlite& operator=(const raw_sqlite&) = delete;

    // The first column of the first row, as text ("" for none or NULL).
    std::string text(const char* sql)
    {
        sqlite3_stmt* s = nullptr;
        REQUIRE_MESSAGE(sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) == SQLITE_OK, sqlite3_errmsg(db_));
        std::string out;
        if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
            out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
        sqlite3_finalize(s);
        return out;
    }
    std::int64_t integer(const char* sql) { return std::stoll(text(sql)); }
    // SQLite's result code.
    int exec(const char* sql) { return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr); }

private:
    sqlite3* db_ = nullptr;
};

} // namespace corvid::test
