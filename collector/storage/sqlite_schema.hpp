#pragma once
// The SQLite schema: its migrations and how a connection brings a file up to date
// (sqlite_schema.cpp). Internal to collector/storage. Threading: that of the connection.
#include <boost/system/error_code.hpp>

namespace corvid::collector::sqlite {

class connection;

// Moves the file's schema (PRAGMA user_version) up to sqlite_schema_version(), one transaction
// per step. Errors: corrupt (a negative version: not ours), schema_too_new, internal (older than
// ours while `allowed` is false), and whatever the connection reports.
boost::system::error_code migrate(connection& db, bool allowed);

} // namespace corvid::collector::sqlite
