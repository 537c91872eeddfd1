// log_reader on real journal files, written by systemd-journal-remote from journal export format
// (https://systemd.io/JOURNAL_EXPORT_FORMATS/) and read through [logs.journal] directory.
// journal-remote appends to an existing output file, and the reader sees entries appended to an
// open file at its next read; a new file in the directory is seen through inotify
// (sd_journal_process). Entries interleave by timestamp across files, so each batch here is later
// (realtime and monotonic) than the one before.
#include "agent/logs/log_reader.hpp"

#include <doctest/doctest.h>
#include <map>
#include <spawn.h>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/logs/positions.hpp"
#include "log_files.hpp"
#include "tests/support/temp_dir.hpp"

extern char** environ;

using corvid::agent::logs::log_reader;
using corvid::test::messages;
using corvid::test::temp_dir;
using strings = std::vector<std::string>;

namespace {

constexpr const char* journal_remote = "/lib/systemd/systemd-journal-remote";
constexpr std::int64_t base_us = 1767225600000000; // 2026-01-01T00:00:00Z

struct entry {
    std::int64_t seconds = 0; // after base_us; also the monotonic clock
    std::string message;
    int priority = -1;        // -1: no PRIORITY field
    std::string unit;         // _SYSTEMD_UNIT, if not empty
    std::string identifier;   // SYSLOG_IDENTIFIER, if not empty
};

void put_field(std::string& out, std::string_view key, std::string_view value)
{
    if (value.find('\n') == std::string_view::npos) {
        out.append(key).append("=").append(value).append("\n");
        return;
    }
    // The binary form: name, newline, little-endian 64-bit length, data, newline.
    out.append(key).append("\n");
    std::uint64_t n = value.size();
    for (int i = 0; i < 8; ++i, n >>= 8)
        out.push_back(static_cast<char>(n & 0xFF));
    out.append(value).append("\n");
}

std::string export_text(const std::vector<entry>& entries)
{
    std::string out;
    for (const auto& e : entries) {
        put_field(out, "__REALTIME_TIMESTAMP", std::to_string(base_us + e.seconds * 1000000));
        put_field(out, "__MONOTONIC_TIMESTAMP", std::to_string(1000000 + e.seconds * 1000000));
        put_field(out, "_BOOT_ID", "0123456789abcdef0123456789abcdef");
        put_field(out, "MESSAGE", e.message);
        if (e.priority >= 0)
            put_field(out, "PRIORITY", std::to_string(e.priority));
        if (!e.unit.empty())
            put_field(out, "_SYSTEMD_UNIT", e.unit);
        if (!e.identifier.empty())
            put_field(out, "SYSLOG_IDENTIFIER", e.identifier);
        out.append("\n");
    }
    return out;
}

// Runs systemd-journal-remote to append `entries` to the journal file `journal` (created if needed).
void write_journal(const temp_dir& work, const std::string& journal, const std::vector<entry>& entries)
{
    REQUIRE_MESSAGE(::access(journal_remote, X_OK) == 0,
                    journal_remote << " is missing: the journal tests need it to write journal files "
                                      "(apt-get install systemd-journal-remote; scripts/test installs it)");
    static int n = 0;
    const auto input = work.write("batch" + std::to_string(n++) + ".export", export_text(entries));
    const std::string out_arg = "--output=" + journal;
    const char* argv[] = {journal_remote, out_arg.c_str(), input.c_str(), nullptr};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0); // "Finishing after …"
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, journal_remote, &actions, nullptr, const_cast<char* const*>(argv), environ);
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE(rc == 0);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE_MESSAGE((WIFEXITED(status) && WEXITSTATUS(status) == 0), journal_remote << " failed for " << input);
}

struct journal_dir {
    temp_dir work;
    std::string dir = work.file("journal");
    std::string file = dir + "/remote.journal";
    journal_dir() { REQUIRE(::mkdir(dir.c_str(), 0700) == 0); }

    corvid::agent::logs_config config(std::vector<std::string> units = {}, int min_priority = 7) const
    {
        corvid::agent::logs_config cfg;
        cfg.rate_limit_per_s = corvid::agent::max_log_rate_per_s;
        cfg.journal.enabled = true;
        cfg.journal.directory = dir;
        cfg.journal.units = std::move(units);
        cfg.journal.min_priority = min_priority;
        return cfg;
    }
};

std::optional<std::string> saved_cursor(const std::string& snapshot)
{
    auto p = corvid::agent::logs::decode_positions(snapshot);
    REQUIRE(p.has_value());
    return p->journal_cursor;
}

} // namespace

TEST_SUITE("logs.journal")
{
    TEST_CASE("logs journal: levels from PRIORITY, sources from the unit or identifier, realtime timestamps")
    {
        journal_dir j;
        log_reader r(j.config());
        r.start_at_end(); // an empty directory: everything that comes is new
        std::vector<entry> batch;
        for (int p = 0; p < 8; ++p)
            batch.push_back({p + 1, "priority " + std::to_string(p), p, "app.service", ""});
        batch.push_back({10, "from cron", 6, "", "CRON"});
        batch.push_back({11, "nameless, no priority", -1, "", ""});
        batch.push_back({12, "binary \xFF\nsecond line", 3, "app.service", ""});
        write_journal(j.work, j.file, batch);

        const auto e = r.read(1, 100);
        REQUIRE(e.size() == 11);
        const char* levels[] = {"CRIT", "CRIT", "CRIT", "ERROR", "WARN", "NOTICE", "INFO", "DEBUG"};
        for (int p = 0; p < 8; ++p) {
            CAPTURE(p);
            CHECK(e[p].message == "priority " + std::to_string(p));
            CHECK(e[p].level == levels[p]);
            CHECK(e[p].source == "journal:app.service");
            CHECK(e[p].timestamp_ms == (base_us + (p + 1) * 1000000) / 1000);
        }
        CHECK(e[8].source == "journal:CRON");
        CHECK(e[9].source == "journal");
        CHECK(e[9].level == "INFO");
        CHECK(e[10].message == "binary \xEF\xBF\xBD\nsecond line"); // sanitized, newline kept
        CHECK(e[10].level == "ERROR");
    }

    TEST_CASE("logs journal: the unit filter and min_priority")
    {
        journal_dir j;
        log_reader r(j.config({"nginx.service", "ssh.service"}, 4)); // warning and more severe
        r.start_at_end();
        write_journal(j.work, j.file,
                      {{1, "nginx error", 3, "nginx.service", ""},
                       {2, "nginx info", 6, "nginx.service", ""},
                       {3, "ssh warning", 4, "ssh.service", ""},
                       {4, "cron error", 3, "cron.service", ""},
                       {5, "ssh notice", 5, "ssh.service", ""},
                       {6, "ssh crit", 2, "ssh.service", ""},
                       {7, "syslog error", 3, "", "nginx.service"}});
        const auto e = r.read(1, 100);
        CHECK(messages(e) == strings{"nginx error", "ssh warning", "ssh crit"});
    }

    TEST_CASE("logs journal: first start at the end, later entries in the same file and in a new file are delivered")
    {
        journal_dir j;
        write_journal(j.work, j.file, {{1, "before start", 6, "a.service", ""}});
        log_reader r(j.config());
        r.start_at_end();
        CHECK(r.read(1, 100).empty());
        write_journal(j.work, j.file, {{2, "appended to the open file", 6, "a.service", ""}});
        CHECK(messages(r.read(2, 100)) == strings{"appended to the open file"});
        write_journal(j.work, j.dir + "/second.journal", {{3, "in a new file", 6, "a.service", ""}});
        CHECK(messages(r.read(3, 100)) == strings{"in a new file"});
        CHECK(r.read(4, 100).empty());
    }

    TEST_CASE("logs journal: restore from the cursor continues after the last entry returned")
    {
        journal_dir j;
        std::vector<entry> batch;
        for (int i = 1; i <= 5; ++i)
            batch.push_back({i, "entry " + std::to_string(i), 6, "a.service", ""});
        std::string snapshot;
        {
            log_reader r(j.config());
            r.start_at_end();
            CHECK_FALSE(saved_cursor(r.positions_snapshot())); // nothing seen yet
            write_journal(j.work, j.file, batch);
            CHECK(messages(r.read(1, 3)) == strings{"entry 1", "entry 2", "entry 3"});
            snapshot = r.positions_snapshot();
            CHECK(saved_cursor(snapshot));
        }
        write_journal(j.work, j.file, {{6, "entry 6", 6, "a.service", ""}});
        {
            log_reader r(j.config());
            r.restore(snapshot);
            CHECK(messages(r.read(2, 100)) == strings{"entry 4", "entry 5", "entry 6"});
            snapshot = r.positions_snapshot();
        }
        // Restored and read to the end: a third reader has nothing to repeat.
        log_reader r(j.config());
        r.restore(snapshot);
        CHECK(r.read(3, 100).empty());
        write_journal(j.work, j.file, {{7, "entry 7", 6, "a.service", ""}});
        CHECK(messages(r.read(4, 100)) == strings{"entry 7"});
    }

    TEST_CASE("logs journal: the rate limit covers the journal as one source")
    {
        journal_dir j;
        auto cfg = j.config();
        cfg.rate_limit_per_s = 2;
        log_reader r(cfg);
        r.start_at_end();
        std::vector<entry> batch;
        for (int i = 1; i <= 10; ++i)
            batch.push_back({i, "flood " + std::to_string(i), 6, i % 2 ? "a.service" : "b.service", ""});
        write_journal(j.work, j.file, batch);
        CHECK(messages(r.read(1000, 100)) == strings{"flood 1", "flood 2", "flood 3", "flood 4"});
        const auto e = r.read(2000, 100);
        REQUIRE(e.size() == 1);
        CHECK(e[0].source == "journal");
        CHECK(e[0].message == "6 lines dropped from journal (rate limit 2/s)");
    }
}
