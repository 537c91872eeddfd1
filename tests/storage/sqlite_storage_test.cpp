#include "collector/storage/sqlite_storage.hpp"

#include "tests/support/temp_dir.hpp"

#include <cstdlib>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <sqlite3.h>
#include <stdexcept>
#include <string>
#include <vector>

using namespace corvid::collector;
using corvid::test::temp_dir;

namespace {


std::unique_ptr<storage> open_ok(const std::string& path)
{
    auto r = open_sqlite_storage({.path = path});
    REQUIRE(r.has_value());
    return std::move(*r);
}

// Direct access for checks the storage interface does not offer (schema, pragmas).
class raw_db {
public:
    explicit raw_db(const std::string& path)
    {
        if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK)
            throw std::runtime_error("open failed");
    }
    ~raw_db() { sqlite3_close(db_); }
    std::string text(const char* sql)
    {
        sqlite3_stmt* s = nullptr;
        REQUIRE(sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) == SQLITE_OK);
        std::string out;
        if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
            out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
        sqlite3_finalize(s);
        return out;
    }
    void exec(const char* sql) { REQUIRE(sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) == SQLITE_OK); }

private:
    sqlite3* db_ = nullptr;
};

server_record make_server(std::string id, std::string name, bool enabled = true)
{
    server_record s;
    s.id = std::move(id);
    s.name = std::move(name);
    s.enabled = enabled;
    s.created_at_ms = 1700000000000;
    return s;
}

sample_row make_sample(std::string server, std::int64_t ts, std::string data = "{}")
{
    sample_row r;
    r.server_id = std::move(server);
    r.timestamp_ms = ts;
    r.cpu_percent = 12.5;
    r.memory_percent = 40.0;
    r.data_json = std::move(data);
    return r;
}

} // namespace

TEST_SUITE("storage.sqlite")
{
    TEST_CASE("sqlite_storage: a new file gets the schema, WAL mode and the current user_version")
    {
        temp_dir dir;
        const auto path = dir.file("corvid.db");
        {
            auto db = open_ok(path);
            CHECK(db->count_users().value() == 0);
        }
        raw_db raw(path);
        CHECK(raw.text("PRAGMA user_version") == std::to_string(sqlite_schema_version()));
        CHECK(sqlite_schema_version() >= 1);
        CHECK(raw.text("PRAGMA journal_mode") == "wal");
        CHECK(raw.text("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('users', 'servers', 'samples')")
              == "3");
    }

    TEST_CASE("sqlite_storage: reopening keeps the data and does not migrate again")
    {
        temp_dir dir;
        const auto path = dir.file("corvid.db");
        {
            auto db = open_ok(path);
            REQUIRE(db->add_user({"alice", "$argon2id$hash", role::admin, 42}).has_value());
            REQUIRE(db->add_server(make_server("s1", "web"), "hash-1").has_value());
            REQUIRE(db->insert_samples(std::vector{make_sample("s1", 1000)}).has_value());
        }
        auto db = open_ok(path);
        auto u = db->find_user("alice").value();
        REQUIRE(u.has_value());
        CHECK(u->password_hash == "$argon2id$hash");
        CHECK(u->role == role::admin);
        CHECK(u->created_at_ms == 42);
        CHECK(db->list_servers().value().size() == 1);
        CHECK(db->latest_sample("s1").value().has_value());
    }

    TEST_CASE("sqlite_storage: a user_version newer than this build is schema_too_new")
    {
        temp_dir dir;
        const auto path = dir.file("corvid.db");
        {
            raw_db raw(path);
            raw.exec("PRAGMA user_version = 999");
        }
        auto r = open_sqlite_storage({.path = path});
        REQUIRE(r.has_error());
        CHECK(r.error() == make_error_code(storage_errc::schema_too_new));
    }

    TEST_CASE("sqlite_storage: with migrate off, an old schema is refused and left alone")
    {
        temp_dir dir;
        const auto path = dir.file("corvid.db");
        auto r = open_sqlite_storage({.path = path, .migrate = false});
        REQUIRE(r.has_error());
        raw_db raw(path);
        CHECK(raw.text("PRAGMA user_version") == "0");
    }

    TEST_CASE("sqlite_storage: a file that is not a database is corrupt")
    {
        temp_dir dir;
        const auto path = dir.file("corvid.db");
        {
            std::ofstream f(path, std::ios::binary);
            for (int i = 0; i < 200; ++i)
                f << "this is certainly not an SQLite database, just some text\n";
        }
        auto r = open_sqlite_storage({.path = path});
        REQUIRE(r.has_error());
        CHECK(r.error() == make_error_code(storage_errc::corrupt));
    }

    TEST_CASE("sqlite_storage: a path in a missing directory is io_error")
    {
        temp_dir dir;
        auto r = open_sqlite_storage({.path = dir.file("no/such/dir/corvid.db")});
        REQUIRE(r.has_error());
        CHECK(r.error() == make_error_code(storage_errc::io_error));
    }

    TEST_CASE("sqlite_storage: options full_sync and busy_timeout are accepted")
    {
        temp_dir dir;
        auto r = open_sqlite_storage(
            {.path = dir.file("corvid.db"), .full_sync = true, .busy_timeout = std::chrono::milliseconds(100)});
        REQUIRE(r.has_value());
        CHECK((*r)->count_users().value() == 0);
    }

    TEST_CASE("sqlite_storage: users add, find, count, duplicate is already_exists")
    {
        temp_dir dir;
        auto db = open_ok(dir.file("corvid.db"));
        CHECK_FALSE(db->find_user("bob").value().has_value());
        REQUIRE(db->add_user({"bob", "h1", role::viewer, 1}).has_value());
        REQUIRE(db->add_user({"carol", "h2", role::operator_, 2}).has_value());
        CHECK(db->count_users().value() == 2);

        auto dup = db->add_user({"bob", "other", role::admin, 3});
        REQUIRE(dup.has_error());
        CHECK(dup.error() == make_error_code(storage_errc::already_exists));

        auto bob = db->find_user("bob").value();
        REQUIRE(bob.has_value());
        CHECK(bob->password_hash == "h1"); // the first one stays
        CHECK(bob->role == role::viewer);
        CHECK(db->find_user("carol").value()->role == role::operator_);
        CHECK_FALSE(db->find_user("BOB").value().has_value()); // names are exact
    }

    // Issue 12.5: no revocation. Users carry disabled and a token generation (schema v4);
    // change_user moves the generation on, audits each change and keeps the last enabled admin.
    TEST_CASE("sqlite_storage: issue12_5 change_user revokes tokens, audits every change, keeps the last admin")
    {
        temp_dir dir;
        auto db = open_ok(dir.file("corvid.db"));
        audit_record by;
        by.at_ms = 5;
        by.actor = "root";
        by.address = "10.0.0.1";
        REQUIRE(db->create_user({"root", "h0", role::admin, 1}, by).has_value());
        REQUIRE(db->add_user({"alice", "h1", role::operator_, 2}).has_value());
        auto alice = db->find_user("alice").value().value();
        CHECK_FALSE(alice.disabled);
        CHECK(alice.token_generation == 0);

        const auto change = [&](std::string_view name, user_change c) { return db->change_user(name, c, by).value(); };
        // A password change moves the generation on and keeps the rest.
        auto r = change("alice", {.password_hash = std::string("h2")});
        REQUIRE(r.status == user_change_status::done);
        CHECK(r.user->token_generation == 1);
        CHECK(db->find_user("alice").value()->password_hash == "h2");
        // Disable moves it on; enable does not (tokens from before the disable stay dead).
        CHECK(change("alice", {.disabled = true}).user->token_generation == 2);
        CHECK(db->find_user("alice").value()->disabled);
        CHECK(change("alice", {.disabled = true}).user->token_generation == 2); // no change, nothing written
        CHECK(change("alice", {.disabled = false}).user->token_generation == 2);
        // A role change (either way) and a logout move it on.
        CHECK(change("alice", {.role = role::viewer}).user->token_generation == 3);
        CHECK(change("alice", {.revoke_tokens = true}).user->token_generation == 4);
        CHECK(db->find_user("alice").value()->role == role::viewer);

        // The last enabled admin can be neither deleted, disabled nor demoted.
        CHECK(change("root", {.remove = true}).status == user_change_status::last_admin);
        CHECK(change("root", {.disabled = true}).status == user_change_status::last_admin);
        CHECK(change("root", {.role = role::operator_}).status == user_change_status::last_admin);
        CHECK(db->find_user("root").value()->role == role::admin);
        CHECK(change("alice", {.role = role::admin}).status == user_change_status::done);
        CHECK(change("root", {.disabled = true}).status == user_change_status::done);
        CHECK(change("alice", {.remove = true}).status == user_change_status::last_admin); // root is disabled
        CHECK(change("nobody", {.remove = true}).status == user_change_status::not_found);
        CHECK(change("root", {.remove = true}).status == user_change_status::done);
        CHECK_FALSE(db->find_user("root").value().has_value());

        const auto users = db->list_users().value();
        REQUIRE(users.size() == 1);
        CHECK(users[0].username == "alice");

        std::vector<std::string> actions;
        for (const auto& a : db->list_audit(std::nullopt, 100).value()) {
            CHECK(a.actor == "root");
            CHECK(a.address == "10.0.0.1");
            actions.push_back(a.action + " " + a.detail);
        }
        const std::vector<std::string> expected{
            "user.deleted root",
            "user.disabled root",
            "user.role_changed alice: viewer -> admin",
            "user.logout alice",
            "user.role_changed alice: operator -> viewer",
            "user.enabled alice",
            "user.disabled alice",
            "user.password_changed alice",
            "user.created root (admin)",
        };
        CHECK(actions == expected);
    }

    TEST_CASE("sqlite_storage: migrating to v4 keeps users, enabled, at token generation 0")
    {
        temp_dir dir;
        const auto path = dir.file("corvid.db");
        {
            auto db = open_ok(path);
            REQUIRE(db->add_user({"bob", "h1", role::admin, 1}).has_value());
        }
        {
            raw_db raw(path);
            raw.exec("CREATE TABLE users_v3 AS SELECT username, password_hash, role, created_at FROM users;"
                     "DROP TABLE users; ALTER TABLE users_v3 RENAME TO users; PRAGMA user_version = 3;");
        }
        auto db = open_ok(path);
        auto bob = db->find_user("bob").value();
        REQUIRE(bob.has_value());
        CHECK_FALSE(bob->disabled);
        CHECK(bob->token_generation == 0);
        CHECK(raw_db(path).text("PRAGMA user_version") == std::to_string(sqlite_schema_version()));
    }

    TEST_CASE("sqlite_storage: servers add, list, find, duplicates")
    {
        temp_dir dir;
        auto db = open_ok(dir.file("corvid.db"));
        auto a = make_server("id-a", "zeta");
        a.last_seen_ms = 55;
        a.hostname = "zeta.example";
        a.agent_version = "0.1.0";
        REQUIRE(db->add_server(a, "hash-a").has_value());
        REQUIRE(db->add_server(make_server("id-b", "alpha", false), "hash-b").has_value());

        auto list = db->list_servers().value();
        REQUIRE(list.size() == 2);
        CHECK(list[0].name == "alpha"); // ordered by name
        CHECK_FALSE(list[0].enabled);
        CHECK_FALSE(list[0].last_seen_ms.has_value());
        CHECK(list[1].id == "id-a");
        CHECK(list[1].last_seen_ms == 55);
        CHECK(list[1].hostname == "zeta.example");
        CHECK(list[1].agent_version == "0.1.0");
        CHECK(list[1].created_at_ms == 1700000000000);

        CHECK(db->find_server("id-a").value()->name == "zeta");
        CHECK_FALSE(db->find_server("nope").value().has_value());

        auto same_id = db->add_server(make_server("id-a", "other"), "hash-c");
        REQUIRE(same_id.has_error());
        CHECK(same_id.error() == make_error_code(storage_errc::already_exists));
        auto same_key = db->add_server(make_server("id-c", "other"), "hash-a");
        REQUIRE(same_key.has_error());
        CHECK(same_key.error() == make_error_code(storage_errc::already_exists));
        CHECK(db->list_servers().value().size() == 2);
    }

    TEST_CASE("sqlite_storage: find by key hash finds enabled servers only")
    {
        temp_dir dir;
        auto db = open_ok(dir.file("corvid.db"));
        REQUIRE(db->add_server(make_server("on", "on"), "hash-on").has_value());
        REQUIRE(db->add_server(make_server("off", "off", false), "hash-off").has_value());
        auto found = db->find_server_by_key_hash("hash-on").value();
        REQUIRE(found.has_value());
        CHECK(found->id == "on");
        CHECK_FALSE(db->find_server_by_key_hash("hash-off").value().has_value());
        CHECK_FALSE(db->find_server_by_key_hash("hash-none").value().has_value());
        CHECK_FALSE(db->find_server_by_key_hash("").value().has_value());
    }

    TEST_CASE("sqlite_storage: replace_api_key_hash swaps the key")
    {
        temp_dir dir;
        auto db = open_ok(dir.file("corvid.db"));
        REQUIRE(db->add_server(make_server("s", "s"), "old").has_value());
        REQUIRE(db->add_server(make_server("t", "t"), "taken").has_value());
        CHECK(db->replace_api_key_hash("s", "new").value());
        CHECK_FALSE(db->find_server_by_key_hash("old").value().has_value());
        CHECK(db->find_server_by_key_hash("new").value()->id == "s");
        CHECK_FALSE(db->replace_api_key_hash("missing", "x").value());
        auto clash = db->replace_api_key_hash("s", "taken");
        REQUIRE(clash.has_error());
        CHECK(clash.error() == make_error_code(storage_errc::already_exists));
    }

    TEST_CASE("sqlite_storage: record_agent_seen updates last seen, hostname and version")
    {
        temp_dir dir;
        auto db = open_ok(dir.file("corvid.db"));
        REQUIRE(db->add_server(make_server("s", "s"), "h").has_value());
        REQUIRE(db->record_agent_seen("s", 12345, "host-1", "1.2.3").has_value());
        auto s = db->find_server("s").value();
        REQUIRE(s.has_value());
        CHECK(s->last_seen_ms == 12345);
        CHECK(s->hostname == "host-1");
        CHECK(s->agent_version == "1.2.3");
        CHECK(db->record_agent_seen("missing", 1, "x", "y").has_value()); // nothing to update is not an error
        // An empty view with a null data pointer is "", not NULL (which NOT NULL would refuse).
        REQUIRE(db->record_agent_seen("s", 2, std::string_view{}, std::string_view{}).has_value());
        CHECK(db->find_server("s").value()->hostname.empty());
    }

    TEST_CASE("sqlite_storage: delete_server removes the server and its samples only")
    {
        temp_dir dir;
        auto db = open_ok(dir.file("corvid.db"));
        REQUIRE(db->add_server(make_server("a", "a"), "ha").has_value());
        REQUIRE(db->add_server(make_server("b", "b"), "hb").has_value());
        REQUIRE(db->insert_samples(std::vector{make_sample("a", 1), make_sample("a", 2), make_sample("b", 1)})
                    .has_value());
        CHECK(db->delete_server("a").value());
        CHECK_FALSE(db->find_server("a").value().has_value());
        CHECK(db->samples_between("a", 0, 100, 100).value().empty());
        CHECK_FALSE(db->latest_sample("a").value().has_value());
        CHECK(db->samples_between("b", 0, 100, 100).value().size() == 1);
        CHECK_FALSE(db->delete_server("a").value());
        // The key hash is free again.
        CHECK(db->add_server(make_server("c", "c"), "ha").has_value());
    }

    TEST_CASE("sqlite_storage: insert_samples reports duplicates and keeps the first")
    {
        temp_dir dir;
        auto db = open_ok(dir.file("corvid.db"));
        auto first = make_sample("s", 100, R"({"v":1})");
        first.load1 = 0.5;
        REQUIRE(db->insert_samples(std::vector{first}).value() == std::vector<bool>{true});

        auto again = make_sample("s", 100, R"({"v":2})");
        auto result = db->insert_samples(std::vector{make_sample("s", 99), again, make_sample("t", 100),
                                                     make_sample("s", 101), make_sample("s", 101)})
                          .value();
        CHECK(result == std::vector<bool>{true, false, true, true, false});

        auto rows = db->samples_between("s", 100, 100, 10).value();
        REQUIRE(rows.size() == 1);
        CHECK(rows[0].data_json == R"({"v":1})");
        CHECK(rows[0].cpu_percent == 12.5);
        CHECK(rows[0].memory_percent == 40.0);
        CHECK(rows[0].load1 == 0.5);
        CHECK(db->insert_samples({}).value().empty());
    }

    TEST_CASE("sqlite_storage: insert_samples keeps optional columns NULL")
    {
        temp_dir dir;
        auto db = open_ok(dir.file("corvid.db"));
        sample_row r;
        r.server_id = "s";
        r.timestamp_ms = 5;
        r.data_json = "{}";
        REQUIRE(db->insert_samples(std::span(&r, 1)).has_value());
        auto got = db->latest_sample("s").value();
        REQUIRE(got.has_value());
        CHECK_FALSE(got->cpu_percent.has_value());
        CHECK_FALSE(got->memory_percent.has_value());
        CHECK_FALSE(got->load1.has_value());
        CHECK(got->timestamp_ms == 5);
        CHECK(got->server_id == "s");
    }

    TEST_CASE("sqlite_storage: samples_between orders oldest first, includes both bounds, honours the limit")
    {
        temp_dir dir;
        auto db = open_ok(dir.file("corvid.db"));
        std::vector<sample_row> rows;
        for (std::int64_t ts : {50, 10, 40, 20, 30})
            rows.push_back(make_sample("s", ts, "{\"ts\":" + std::to_string(ts) + "}"));
        rows.push_back(make_sample("other", 25));
        REQUIRE(db->insert_samples(rows).has_value());

        auto all = db->samples_between("s", 10, 50, 100).value();
        REQUIRE(all.size() == 5);
        for (std::size_t i = 0; i < all.size(); ++i) {
            CHECK(all[i].timestamp_ms == static_cast<std::int64_t>(10 * (i + 1)));
            CHECK(all[i].server_id == "s");
        }
        CHECK(all[2].data_json == R"({"ts":30})");

        auto inner = db->samples_between("s", 11, 40, 100).value();
        REQUIRE(inner.size() == 3);
        CHECK(inner.front().timestamp_ms == 20);
        CHECK(inner.back().timestamp_ms == 40);

        auto limited = db->samples_between("s", 0, 1000, 2).value();
        REQUIRE(limited.size() == 2);
        CHECK(limited[0].timestamp_ms == 10);
        CHECK(limited[1].timestamp_ms == 20);

        CHECK(db->samples_between("s", 0, 1000, 0).value().empty());
        CHECK(db->samples_between("s", 40, 20, 10).value().empty());
        CHECK(db->samples_between("nobody", 0, 1000, 10).value().empty());
        CHECK(db->samples_between("s", 0, 1000, std::numeric_limits<std::size_t>::max()).value().size() == 5);
    }

    TEST_CASE("sqlite_storage: latest_sample is the newest of that server")
    {
        temp_dir dir;
        auto db = open_ok(dir.file("corvid.db"));
        CHECK_FALSE(db->latest_sample("s").value().has_value());
        REQUIRE(db->insert_samples(std::vector{make_sample("s", 30), make_sample("s", 70), make_sample("s", 50),
                                               make_sample("t", 99)})
                    .has_value());
        CHECK(db->latest_sample("s").value()->timestamp_ms == 70);
        CHECK(db->latest_sample("t").value()->timestamp_ms == 99);
    }

    TEST_CASE("sqlite_storage: delete_samples_before deletes the oldest first, at most max_rows")
    {
        temp_dir dir;
        auto db = open_ok(dir.file("corvid.db"));
        std::vector<sample_row> rows;
        for (std::int64_t ts = 1; ts <= 10; ++ts) {
            rows.push_back(make_sample("a", ts * 10));
            rows.push_back(make_sample("b", ts * 10 + 5));
        }
        REQUIRE(db->insert_samples(rows).has_value());

        // Older than 60: a 10..50 and b 15..55, ten rows. The three oldest go first.
        CHECK(db->delete_samples_before(60, 3).value() == 3);
        CHECK(db->samples_between("a", 0, 1000, 100).value().front().timestamp_ms == 30);
        CHECK(db->samples_between("b", 0, 1000, 100).value().front().timestamp_ms == 25);

        CHECK(db->delete_samples_before(60, 0).value() == 0);
        CHECK(db->delete_samples_before(60, 1000).value() == 7);
        CHECK(db->delete_samples_before(60, 1000).value() == 0);
        CHECK(db->samples_between("a", 0, 1000, 100).value().front().timestamp_ms == 60); // the cutoff stays
        CHECK(db->samples_between("b", 0, 1000, 100).value().front().timestamp_ms == 65);
        CHECK(db->samples_between("a", 0, 1000, 100).value().size() == 5);
    }

    TEST_CASE("sqlite_storage: a second connection sees what the first committed")
    {
        temp_dir dir;
        const auto path = dir.file("corvid.db");
        auto writer = open_ok(path);
        auto reader = open_ok(path);
        CHECK_FALSE(reader->latest_sample("s").value().has_value()); // the reader has looked before the write
        REQUIRE(writer->add_server(make_server("s", "s"), "h").has_value());
        REQUIRE(writer->insert_samples(std::vector{make_sample("s", 1), make_sample("s", 2)}).has_value());
        CHECK(reader->latest_sample("s").value()->timestamp_ms == 2);
        CHECK(reader->find_server_by_key_hash("h").value().has_value());
        REQUIRE(writer->delete_server("s").has_value());
        CHECK_FALSE(reader->latest_sample("s").value().has_value());
    }

    TEST_CASE("sqlite_storage: a write while another connection holds the write lock is busy")
    {
        temp_dir dir;
        const auto path = dir.file("corvid.db");
        auto db = open_sqlite_storage({.path = path, .busy_timeout = std::chrono::milliseconds(0)});
        REQUIRE(db.has_value());
        raw_db other(path);
        other.exec("BEGIN IMMEDIATE");
        auto r = (*db)->insert_samples(std::vector{make_sample("s", 1)});
        REQUIRE(r.has_error());
        CHECK(r.error() == make_error_code(storage_errc::busy));
        CHECK((*db)->latest_sample("s").has_value()); // reads still work under WAL
        other.exec("ROLLBACK");
        CHECK((*db)->insert_samples(std::vector{make_sample("s", 1)}).value() == std::vector<bool>{true});
    }

    TEST_CASE("storage: role names round trip")
    {
        for (auto r : {role::viewer, role::operator_, role::admin})
            CHECK(role_from_name(role_name(r)) == r);
        CHECK(role_name(role::operator_) == "operator");
        CHECK_FALSE(role_from_name("root").has_value());
        CHECK_FALSE(role_from_name("Admin").has_value());
        CHECK(role::admin > role::operator_);
        CHECK(make_error_code(storage_errc::busy).category().name() == std::string("corvid.storage"));
    }
}
