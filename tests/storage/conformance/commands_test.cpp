// Conformance: commands from dispatch to outcome, lost commands, retention, and the audit log
// that nothing in the interface rewrites, through the storage interface only.
#include "tests/storage/conformance/backend.hpp"

#include <doctest/doctest.h>
#include <string>
#include <vector>

#include "tests/storage/fixtures.hpp"

using namespace corvid::collector;
using namespace corvid::test;

TEST_SUITE("storage.conformance.commands")
{
    TEST_CASE("commands: add, run, finish with output and audit, listing leaves output out")
    {
        fresh_store store;
        auto& db = store.db;
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
        fresh_store store;
        auto& db = store.db;
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

    TEST_CASE("commands: retention deletes old finished commands only, the audit log keeps them")
    {
        fresh_store store;
        auto& db = store.db;
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

    TEST_CASE("commands: an unknown status is refused, and the failed transaction leaves no audit line")
    {
        fresh_store store;
        auto& db = store.db;
        auto c = make_command("c1", "s1", 1000);
        c.status = "exploded";
        CHECK_FALSE(db->add_command(c, audit_for(c, "command.dispatched", 1000)).has_value());
        // The failed transaction left no audit line behind.
        CHECK(db->list_audit(std::nullopt, 10)->empty());
    }

    TEST_CASE("audit_log: lines stay as written through every later write of the interface")
    {
        fresh_store store;
        auto& db = store.db;
        auto c = make_command("c1", "s1", 1000);
        auto dispatched = audit_for(c, "command.dispatched", 1000);
        dispatched.detail = "uptime --pretty";
        REQUIRE(db->add_command(c, dispatched).has_value());
        audit_record refused;
        refused.at_ms = 1100;
        refused.actor = "mallory";
        refused.address = "10.0.0.9";
        refused.action = "command.refused";
        refused.server_id = "s1";
        refused.detail = "rm -rf /";
        REQUIRE(db->append_audit(refused).has_value());
        const auto before = db->list_audit(std::nullopt, 10).value();
        REQUIRE(before.size() == 2);
        CHECK(before[0].id > before[1].id);

        // Finishing, losing, deleting the command and deleting its server add lines and remove none.
        REQUIRE(db->mark_unfinished_commands_lost(2000).value() == 1);
        auto late = c;
        late.status = "completed";
        late.finished_at_ms = 3000;
        REQUIRE(*db->finish_command(late, audit_for(c, "command.finished", 3000)));
        REQUIRE(db->delete_commands_before(10'000, 10).value() == 1);
        REQUIRE(db->add_server(make_server("s1", "web"), "h").has_value());
        REQUIRE(db->delete_server("s1").value());

        const auto after = db->list_audit(std::nullopt, 10).value();
        REQUIRE(after.size() == 4);
        for (std::size_t i = 0; i < before.size(); ++i) {
            const auto& was = before[i];
            const auto& is = after[after.size() - before.size() + i];
            CHECK(is.id == was.id);
            CHECK(is.at_ms == was.at_ms);
            CHECK(is.actor == was.actor);
            CHECK(is.address == was.address);
            CHECK(is.action == was.action);
            CHECK(is.server_id == was.server_id);
            CHECK(is.command_id == was.command_id);
            CHECK(is.detail == was.detail);
            CHECK(is.status == was.status);
        }
        CHECK(after[0].action == "command.finished");
        CHECK(after[1].action == "command.lost");
    }
}
