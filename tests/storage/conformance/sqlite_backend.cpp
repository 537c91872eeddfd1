// The conformance suite over the embedded SQLite backend: one database file per scratch directory.
#include "tests/storage/conformance/backend.hpp"

#include <doctest/doctest.h>

#include "collector/storage/sqlite_storage.hpp"

namespace corvid::test {

std::unique_ptr<collector::storage> open_storage_under_test(const std::string& scratch_dir)
{
    auto r = collector::open_sqlite_storage({.path = scratch_dir + "/corvid.db"});
    REQUIRE(r.has_value());
    return std::move(*r);
}

} // namespace corvid::test
