// Commands and the audit log in the SQLite store, on real files.
#include "collector/storage/sqlite_storage.hpp"

#include "tests/support/temp_dir.hpp"

#include <doctest/doctest.h>
#include <sqlite3.h>
#include <string>

using namespace corvid::collector;
using corvid::test::temp_dir;

namespace {
std::unique_ptr<storage> open_ok(const std::string& path)
{
    auto r = open_sqlite_storage({.path = path});
    REQUIRE(r.has_value());
    return std::move(*r);
}

command_record make_command(std::string id, std::string server, std::int64_t created)
{
    command_record c;
    c.id = std::move(id);
    c.server_id = std::move(server);
    c.kind = "shell";
    c.command = "uptime";
    c.timeout_s = 30;
    c.issued_by = "alice";
    c.client_address = "127.0.0.1";
    c.status = "pending";
    c.created_at_ms = created;
    return c;
}

audit_record audit_for(const command_record& c, std::string action, std::int64_t at)
{
    audit_record a;
    a.at_ms = at;
    a.actor = c.issued_by;
    a.address = c.client_address;
    a.action = std::move(action);
    a.server_id = c.server_id;
    a.command_id = c.id;
    a.detail = c.command;
    return a;
}

int exec_rc(const std::string& path, const char* sql)
{
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
    sqlite3_close(db);
    return rc;
}
} // namespace

TEST_SUITE("storage.commands")
{
    TEST_CASE("commands: add, run, finish with output and audit; listing leaves output out")
    {
        temp_dir dir;
        auto db = open_ok(dir.file("c.db"));
        auto c = make_command("c1", "s1", 1000);
        REQUIRE(db->add_command(c, audit_for(c, "command.dispatched", 1000)).has_value());
        CHECK(*db->set_command_status("c1", "running"));
        CHECK_FALSE(*db->set_command_status("nope", "running"));

        auto done = c;
        done.status = "completed";
        done.exit_code = 0;
        done.duration_ms = 42;
        done.output = std::string("up 3 days\n\xff", 11); // bytes as the agent sent them
        done.output_sha256 = "ab";
        done.finished_at_ms = 2000;
        auto fin = audit_for(c, "command.finished", 2000);
        fin.status = "completed";
        fin.exit_code = 0;
        CHECK(*db->finish_command(done, fin));
        CHECK_FALSE(*db->finish_command(done, fin)); // already final: no second outcome, no audit line

        auto found = db->find_command("c1");
        REQUIRE(found.has_value());
        REQUIRE(found->has_value());
        CHECK((*found)->status == "completed");
        CHECK((*found)->output == done.output);
        CHECK((*found)->exit_code == std::optional<std::int64_t>(0));
        CHECK((*found)->finished_at_ms == std::optional<std::int64_t>(2000));

        auto second = make_command("c2", "s1", 1500);
        REQUIRE(db->add_command(second, audit_for(second, "command.dispatched", 1500)).has_value());
        auto other = make_command("c3", "s2", 1600);
        REQUIRE(db->add_command(other, audit_for(other, "command.dispatched", 1600)).has_value());
        auto listed = db->list_commands("s1", 10);
        REQUIRE(listed.has_value());
        REQUIRE(listed->size() == 2);
        CHECK((*listed)[0].id == "c2"); // newest first
        CHECK((*listed)[1].output.empty());

        auto audit = db->list_audit(std::nullopt, 10);
        REQUIRE(audit.has_value());
        REQUIRE(audit->size() == 4);
        CHECK((*audit)[0].command_id == "c3");
        CHECK((*audit)[2].action == "command.finished");
        CHECK((*audit)[2].status == std::optional<std::string>("completed"));
        CHECK((*audit)[3].detail == "uptime");
        auto older = db->list_audit((*audit)[1].id, 10);
        REQUIRE(older.has_value());
        CHECK(older->size() == 2);
    }

    TEST_CASE("commands: a restart marks unfinished commands lost, and a late result still lands")
    {
        temp_dir dir;
        auto db = open_ok(dir.file("c.db"));
        auto a = make_command("a", "s1", 1000), b = make_command("b", "s1", 1100);
        REQUIRE(db->add_command(a, audit_for(a, "command.dispatched", 1000)).has_value());
        REQUIRE(db->add_command(b, audit_for(b, "command.dispatched", 1100)).has_value());
        auto done = b;
        done.status = "failed";
        done.exit_code = 1;
        done.finished_at_ms = 1200;
        REQUIRE(*db->finish_command(done, audit_for(b, "command.finished", 1200)));

        auto lost = db->mark_unfinished_commands_lost(5000);
        REQUIRE(lost.has_value());
        CHECK(*lost == 1);
        CHECK((*db->find_command("a"))->status == "lost");
        CHECK((*db->find_command("b"))->status == "failed");
        auto audit = db->list_audit(std::nullopt, 1);
        REQUIRE(audit->size() == 1);
        CHECK((*audit)[0].action == "command.lost");
        CHECK((*audit)[0].actor == "collector");

        auto late = a;
        late.status = "completed";
        late.exit_code = 0;
        late.finished_at_ms = 6000;
        CHECK(*db->finish_command(late, audit_for(a, "command.finished", 6000)));
        CHECK((*db->find_command("a"))->status == "completed");
    }

    TEST_CASE("audit_log: the database refuses UPDATE and DELETE")
    {
        temp_dir dir;
        const auto path = dir.file("c.db");
        {
            auto db = open_ok(path);
            auto c = make_command("c1", "s1", 1000);
            REQUIRE(db->add_command(c, audit_for(c, "command.dispatched", 1000)).has_value());
        }
        CHECK(exec_rc(path, "UPDATE audit_log SET actor = 'mallory'") == SQLITE_CONSTRAINT);
        CHECK(exec_rc(path, "DELETE FROM audit_log") == SQLITE_CONSTRAINT);
        auto db = open_ok(path);
        CHECK((*db->list_audit(std::nullopt, 10))[0].actor == "alice");
    }

    TEST_CASE("commands: retention deletes old finished commands only; the audit log keeps them")
    {
        temp_dir dir;
        auto db = open_ok(dir.file("c.db"));
        auto old_done = make_command("old-done", "s1", 1000), old_running = make_command("old-running", "s1", 1100),
             fresh = make_command("fresh", "s1", 9000);
        for (const auto* c : {&old_done, &old_running, &fresh})
            REQUIRE(db->add_command(*c, audit_for(*c, "command.dispatched", c->created_at_ms)).has_value());
        auto done = old_done;
        done.status = "completed";
        done.finished_at_ms = 1200;
        REQUIRE(*db->finish_command(done, audit_for(old_done, "command.finished", 1200)));
        auto deleted = db->delete_commands_before(5000, 10);
        REQUIRE(deleted.has_value());
        CHECK(*deleted == 1);
        CHECK_FALSE(*db->find_command("old-done"));
        CHECK(*db->find_command("old-running")); // in flight: its result may still come
        CHECK(*db->find_command("fresh"));
        CHECK(db->list_audit(std::nullopt, 10)->size() == 4);
    }

    TEST_CASE("commands: status and kind are constrained by the schema")
    {
        temp_dir dir;
        auto db = open_ok(dir.file("c.db"));
        auto c = make_command("c1", "s1", 1000);
        c.status = "exploded";
        CHECK_FALSE(db->add_command(c, audit_for(c, "command.dispatched", 1000)).has_value());
        // The failed transaction left no audit line behind.
        CHECK(db->list_audit(std::nullopt, 10)->empty());
    }
}
