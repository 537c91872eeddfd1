// The SQLite backend's audit log: its triggers refuse UPDATE and DELETE from any connection.
// Commands and the audit log through the interface: conformance/commands_test.cpp.
#include "collector/storage/sqlite_storage.hpp"

#include <doctest/doctest.h>

#include "tests/storage/fixtures.hpp"
#include "tests/storage/sqlite_support.hpp"
#include "tests/support/temp_dir.hpp"

using namespace corvid::collector;
using namespace corvid::test;

TEST_SUITE("storage.commands")
{
    TEST_CASE("audit_log: the database refuses UPDATE and DELETE")
    {
        temp_dir dir;
        const auto path = dir.file("c.db");
        {
            auto db = open_ok(path);
            auto c = make_command("c1", "s1", 1000);
            REQUIRE(db->add_command(c, audit_for(c, "command.dispatched", 1000)).has_value());
        }
        CHECK(raw_sqlite(path).exec("UPDATE audit_log SET actor = 'mallory'") == SQLITE_CONSTRAINT);
        CHECK(raw_sqlite(path).exec("DELETE FROM audit_log") == SQLITE_CONSTRAINT);
        auto db = open_ok(path);
        CHECK((*db->list_audit(std::nullopt, 10))[0].actor == "alice");
    }
}
