#pragma once
// The embedded SQLite backend of the storage interface: one file, WAL mode, schema versioned with
// PRAGMA user_version and migrated forward on open. Schema and migrations: sqlite_schema.cpp;
// the files of the backend: README.md in this folder.
// Threading: each object owns one connection (opened SQLITE_OPEN_NOMUTEX) and must be used by one
// thread at a time; open several objects on the same file for concurrent readers (WAL lets
// readers proceed while one writer commits). Every call blocks: never on the io thread.
#include <boost/system/result.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "collector/storage/storage.hpp"

namespace corvid::collector {

struct sqlite_options {
    std::string path;                              // created if missing; its directory must exist
    bool full_sync = false;                        // synchronous=FULL (survives power loss) vs NORMAL
    bool migrate = true;                           // false: refuse a file whose schema is older than ours
    std::chrono::milliseconds busy_timeout{5000};  // how long to wait for another connection's lock
    // How long one log query may run (query_logs): a search SQLite cannot narrow with its full-text
    // index (terms under 3 characters) scans every entry of the server and would hold a reader
    // thread for as long as that takes. Past it: storage_errc::timed_out.
    std::chrono::milliseconds log_query_deadline{2000};
};

// Opens (creating if needed) and migrates the database. Errors: io_error (cannot open or write),
// corrupt (not a database), schema_too_new (written by a newer Corvid), busy, internal (includes a
// schema older than ours when migrate is false).
boost::system::result<std::unique_ptr<storage>> open_sqlite_storage(const sqlite_options& options);

// The schema version this build writes (PRAGMA user_version after migration).
int sqlite_schema_version();

} // namespace corvid::collector
