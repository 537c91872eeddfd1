#pragma once
// How every storage backend reports failure: one errc and category for all of them, so callers
// never see a backend's own codes (SQLite's are mapped in sqlite_connection.cpp).
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace corvid::collector {

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

} // namespace corvid::collector

template <> struct boost::system::is_error_code_enum<corvid::collector::storage_errc> : std::true_type {};
