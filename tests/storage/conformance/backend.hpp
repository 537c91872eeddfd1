#pragma once
// The one function a storage backend provides to the conformance suite (README.md in
// collector/storage, "Adding a backend"): each backend defines it in its own source file
// (sqlite_backend.cpp) and links it with the suite's sources into its own test executable.
// Tests call it through fresh_store. Single-threaded use, like the storage objects it returns.
#include <memory>
#include <string>

#include "collector/storage/storage.hpp"
#include "tests/support/temp_dir.hpp"

namespace corvid::test {

// A connection to the store that belongs to `scratch_dir`, an empty directory the test owns and
// removes when it ends. The first call for a directory gives an empty store with the current
// schema; every further call for the same directory opens another connection to that same store
// (it sees what the other connections committed, also after they closed). Fails the test
// (REQUIRE) when the store cannot be opened.
std::unique_ptr<collector::storage> open_storage_under_test(const std::string& scratch_dir);

// A fresh store for one test and a first connection to it (closed before the directory goes).
struct fresh_store {
    temp_dir dir;
    std::unique_ptr<collector::storage> db = open_storage_under_test(dir.path());

    std::unique_ptr<collector::storage> another_connection() const { return open_storage_under_test(dir.path()); }
};

} // namespace corvid::test
