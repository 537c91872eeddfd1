// log_reader on real files: following, rotation, truncation, positions, limits.
// Time is the now_ms each read() is given, so waits (rescans every 2 s, a rotated file drained
// until idle for 5 s, a partial line shipped after 5 s) are driven by the test, not slept.
#include "agent/logs/log_reader.hpp"

#include <doctest/doctest.h>
#include <string>
#include <sys/stat.h>

#include "agent/logs/positions.hpp"
#include "log_files.hpp"
#include "tests/support/temp_dir.hpp"

using corvid::agent::logs::decode_positions;
using corvid::agent::logs::log_reader;
using corvid::test::append;
using corvid::test::files_config;
using corvid::test::messages;
using corvid::test::messages_of;
using corvid::test::rename_file;
using corvid::test::temp_dir;
using corvid::test::truncate_file;
using strings = std::vector<std::string>;

namespace {

std::uint64_t file_size(const std::string& path)
{
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return static_cast<std::uint64_t>(st.st_size);
}

// The saved offset of `path` in a snapshot.
std::uint64_t saved_offset(const std::string& snapshot, const std::string& path)
{
    auto p = decode_positions(snapshot);
    REQUIRE(p.has_value());
    for (const auto& f : p->files)
        if (f.path == path)
            return f.offset;
    FAIL("no position for " << path);
    return 0;
}

} // namespace

TEST_SUITE("logs.files")
{
    TEST_CASE("logs files: the first start begins at the end, appended lines follow, CRLF or not")
    {
        temp_dir d;
        const auto path = d.file("app.log");
        append(path, "old 1\nold 2\n");
        log_reader r(files_config({d.path() + "/*.log"}));
        r.start_at_end();
        append(path, "new 1\n2026-01-01 12:00:00 [error] new 2\r\n\nnew 3\r\n");
        const auto e = r.read(1000, 100);
        REQUIRE(e.size() == 3); // the blank line is skipped
        CHECK(e[0].message == "new 1");
        CHECK(e[0].source == path);
        CHECK(e[0].timestamp_ms == 1000);
        CHECK(e[0].level == "INFO");
        CHECK_FALSE(e[0].truncated);
        CHECK(e[1].message == "2026-01-01 12:00:00 [error] new 2");
        CHECK(e[1].level == "ERROR");
        CHECK(e[2].message == "new 3");
        CHECK(r.read(1100, 100).empty());
        append(path, "new 4\n");
        CHECK(messages(r.read(1200, 100)) == strings{"new 4"});
    }

    TEST_CASE("logs files: a partial line waits for its newline, or 5 s")
    {
        temp_dir d;
        const auto path = d.file("app.log");
        log_reader r(files_config({d.path() + "/*.log"}));
        r.start_at_end();
        append(path, "par");
        CHECK(r.read(1000, 100).empty());
        append(path, "tial\n");
        CHECK(messages(r.read(1100, 100)) == strings{"partial"});

        append(path, "prompt> ");
        CHECK(r.read(2000, 100).empty());
        CHECK(r.read(6999, 100).empty());
        CHECK(messages(r.read(7000, 100)) == strings{"prompt> "});
        append(path, "answer\n");
        CHECK(messages(r.read(7100, 100)) == strings{"answer"});
    }

    TEST_CASE("logs files: rename and create rotation reads the old file to its end once, then the new one")
    {
        temp_dir d;
        const auto path = d.file("app.log");
        const auto rotated = d.file("app.log.1"); // not matched by *.log
        append(path, "before start\n");
        log_reader r(files_config({d.path() + "/*.log"}));
        r.start_at_end();
        append(path, "l1\n");
        CHECK(messages(r.read(1000, 100)) == strings{"l1"});

        append(path, "l2\n");
        rename_file(path, rotated);
        append(rotated, "l3\n"); // the program has not reopened its log yet
        append(path, "n1\n");    // the new file
        // The next pattern scan is 2 s after the last: until then the old inode is all there is.
        auto e = r.read(1500, 100);
        CHECK(messages(e) == strings{"l2", "l3"});
        for (const auto& x : e)
            CHECK(x.source == path); // named by the path it was followed at

        // The scan sees the new file; it waits while the old one may still grow.
        append(rotated, "l4\n");
        CHECK(messages(r.read(3000, 100)) == strings{"l4"});
        CHECK(r.read(7999, 100).empty());
        CHECK(r.read(8000, 100).empty()); // 5 s without growth: the old file is closed
        e = r.read(8100, 100);
        CHECK(messages(e) == strings{"n1"});
        REQUIRE(e.size() == 1);
        CHECK(e[0].source == path);
        append(path, "n2\n");
        append(rotated, "written after it was closed\n");
        CHECK(messages(r.read(8200, 100)) == strings{"n2"});
    }

    TEST_CASE("logs files: copytruncate, and a file rewritten longer than before, restart at 0")
    {
        temp_dir d;
        const auto path = d.file("app.log");
        append(path, "");
        log_reader r(files_config({d.path() + "/*.log"}));
        r.start_at_end();
        append(path, "a\nb\n");
        CHECK(messages(r.read(1000, 100)) == strings{"a", "b"});
        truncate_file(path); // logrotate's copytruncate: the copy is elsewhere
        append(path, "c\n");
        CHECK(messages(r.read(1100, 100)) == strings{"c"});

        // Shorter is easy; longer than our offset is caught by the file's first bytes changing.
        truncate_file(path);
        append(path, "a longer first line than before\nd\n");
        CHECK(messages(r.read(1200, 100)) == strings{"a longer first line than before", "d"});
    }

    TEST_CASE("logs files: a file matching the pattern later is read from its start, others are ignored")
    {
        temp_dir d;
        append(d.file("a.log"), "a old\n");
        log_reader r(files_config({d.path() + "/*.log"}));
        r.start_at_end();
        append(d.file("b.log"), "b1\nb2\n");
        append(d.file("c.txt"), "not matched\n");
        ::mkdir(d.file("dir.log").c_str(), 0700); // matched, but not a file
        auto e = r.read(1000, 100);
        CHECK(messages(e) == strings{"b1", "b2"});
        CHECK(e[0].source == d.file("b.log"));

        append(d.file("late.log"), "late\n");
        CHECK(r.read(2999, 100).empty()); // the next scan is 2 s after the last
        CHECK(messages(r.read(3000, 100)) == strings{"late"});
    }

    TEST_CASE("logs files: a deleted file is drained and forgotten, a new file at its path is read from its start")
    {
        temp_dir d;
        const auto path = d.file("app.log");
        append(path, "");
        log_reader r(files_config({d.path() + "/*.log"}));
        r.start_at_end();
        append(path, "x\n");
        CHECK(messages(r.read(1000, 100)) == strings{"x"});
        REQUIRE(::unlink(path.c_str()) == 0);
        CHECK(r.read(3000, 100).empty());
        CHECK(r.read(9000, 100).empty());
        append(path, "y\n");
        CHECK(messages(r.read(11000, 100)) == strings{"y"});
    }

    TEST_CASE("logs files: restore continues exactly where the returned entries end")
    {
        temp_dir d;
        const auto path = d.file("app.log");
        append(path, "");
        std::string snapshot;
        {
            log_reader r(files_config({d.path() + "/*.log"}));
            r.start_at_end();
            append(path, "1\n2\n3\n4\n5\npar");
            CHECK(messages(r.read(1000, 3)) == strings{"1", "2", "3"}); // max_entries
            snapshot = r.positions_snapshot();
        }
        CHECK(saved_offset(snapshot, path) == 6);
        append(path, "tial\n6\n");
        log_reader r(files_config({d.path() + "/*.log"}));
        r.restore(snapshot);
        CHECK(messages(r.read(2000, 100)) == strings{"4", "5", "partial", "6"});
        CHECK(saved_offset(r.positions_snapshot(), path) == file_size(path));
    }

    TEST_CASE("logs files: restore after a rotation while down")
    {
        temp_dir d;
        const auto path = d.file("app.log");
        const auto rotated = d.file("app.log.1");
        append(path, "");

        SUBCASE("the rotated file still matches: nothing lost, nothing repeated")
        {
            std::string snapshot;
            {
                log_reader r(files_config({d.path() + "/app.log*"}));
                r.start_at_end();
                append(path, "l1\n");
                CHECK(messages(r.read(1000, 100)) == strings{"l1"});
                append(path, "l2\n");
                snapshot = r.positions_snapshot();
            }
            rename_file(path, rotated);
            append(rotated, "l3\n");
            append(path, "n1\n");
            log_reader r(files_config({d.path() + "/app.log*"}));
            r.restore(snapshot);
            const auto e = r.read(2000, 100);
            CHECK(messages_of(e, rotated) == strings{"l2", "l3"}); // found by its inode
            CHECK(messages_of(e, path) == strings{"n1"});          // new while down: from its start
            CHECK(e.size() == 3);
        }
        SUBCASE("the rotated file no longer matches: the new file from its start, the old one's tail is lost")
        {
            std::string snapshot;
            {
                log_reader r(files_config({d.path() + "/*.log"}));
                r.start_at_end();
                append(path, "l1\n");
                CHECK(messages(r.read(1000, 100)) == strings{"l1"});
                append(path, "l2 (lost: README.md)\n");
                snapshot = r.positions_snapshot();
            }
            rename_file(path, rotated);
            append(path, "n1\n");
            log_reader r(files_config({d.path() + "/*.log"}));
            r.restore(snapshot);
            CHECK(messages(r.read(2000, 100)) == strings{"n1"});
        }
    }

    TEST_CASE("logs files: restore notices a file whose start changed (same inode, other content)")
    {
        temp_dir d;
        const auto path = d.file("app.log");
        append(path, "");
        std::string snapshot;
        {
            log_reader r(files_config({d.path() + "/*.log"}));
            r.start_at_end();
            append(path, "aaaa\nbbbb\n");
            CHECK(messages(r.read(1000, 100)) == strings{"aaaa", "bbbb"});
            snapshot = r.positions_snapshot();
        }
        truncate_file(path);
        append(path, "cccccccccccc\ndddd\n"); // longer than the saved offset
        log_reader r(files_config({d.path() + "/*.log"}));
        r.restore(snapshot);
        CHECK(messages(r.read(2000, 100)) == strings{"cccccccccccc", "dddd"});
    }

    TEST_CASE("logs files: restore from a damaged snapshot starts at the end, a new pattern starts at the end")
    {
        temp_dir d;
        append(d.file("a.log"), "a old\n");
        {
            log_reader r(files_config({d.path() + "/*.log"}));
            r.restore("{not json");
            append(d.file("a.log"), "a new\n");
            CHECK(messages(r.read(1000, 100)) == strings{"a new"});
        }
        std::string snapshot;
        {
            log_reader r(files_config({d.path() + "/*.log"}));
            r.start_at_end();
            snapshot = r.positions_snapshot();
        }
        append(d.file("b.log"), "b appeared while down\n");
        append(d.file("c.txt"), "c old\n");
        log_reader r(files_config({d.path() + "/*.log", d.path() + "/*.txt"}));
        r.restore(snapshot);
        append(d.file("c.txt"), "c new\n");
        const auto e = r.read(2000, 100);
        CHECK(messages_of(e, d.file("b.log")) == strings{"b appeared while down"});
        CHECK(messages_of(e, d.file("c.txt")) == strings{"c new"});
        CHECK(e.size() == 2);
    }

    TEST_CASE("logs files: a long line is cut at max_message_bytes and the rest of it skipped, across a restore")
    {
        temp_dir d;
        const auto path = d.file("app.log");
        append(path, "");
        auto cfg = files_config({d.path() + "/*.log"});
        cfg.max_message_bytes = 256;
        std::string snapshot;
        {
            log_reader r(cfg);
            r.start_at_end();
            append(path, std::string(1000, 'x') + "\nbad \xFF byte\n");
            auto e = r.read(1000, 100);
            REQUIRE(e.size() == 2);
            CHECK(e[0].message == std::string(256, 'x'));
            CHECK(e[0].truncated);
            CHECK(e[1].message == "bad \xEF\xBF\xBD byte");
            CHECK_FALSE(e[1].truncated);

            append(path, std::string(100000, 'y')); // no newline yet, far longer than a message
            e = r.read(2000, 100);
            REQUIRE(e.size() == 1);
            CHECK(e[0].message == std::string(256, 'y'));
            CHECK(e[0].truncated);
            snapshot = r.positions_snapshot();
        }
        append(path, "still the same line\nafter\n");
        log_reader r(cfg);
        r.restore(snapshot);
        CHECK(messages(r.read(3000, 100)) == strings{"after"});
    }

    TEST_CASE("logs files: over the rate limit lines are consumed and counted, then reported once")
    {
        temp_dir d;
        const auto path = d.file("app.log");
        append(path, "");
        auto cfg = files_config({d.path() + "/*.log"});
        cfg.rate_limit_per_s = 10;
        log_reader r(cfg);
        r.start_at_end();
        std::string lines;
        for (int i = 0; i < 100; ++i)
            lines += "line " + std::to_string(i) + "\n";
        append(path, lines);
        auto e = r.read(1000, 1000);
        REQUIRE(e.size() == 20); // the burst: twice the rate
        CHECK(e.front().message == "line 0");
        CHECK(e.back().message == "line 19");
        CHECK(saved_offset(r.positions_snapshot(), path) == file_size(path)); // dropped lines are consumed
        e = r.read(2000, 1000); // a second later the bucket has tokens again
        REQUIRE(e.size() == 1);
        CHECK(e[0].level == "WARN");
        CHECK(e[0].source == path);
        CHECK(e[0].message == "80 lines dropped from " + path + " (rate limit 10/s)");
        CHECK(r.read(3000, 1000).empty()); // reported once
        append(path, "quiet again\n");
        CHECK(messages(r.read(4000, 1000)) == strings{"quiet again"});
    }

    TEST_CASE("logs files: a flood is read in bounded steps, and max_entries is kept")
    {
        temp_dir d;
        const auto path = d.file("app.log");
        append(path, "");
        auto cfg = files_config({d.path() + "/*.log"});
        cfg.rate_limit_per_s = 1;
        log_reader r(cfg);
        r.start_at_end();
        const std::string line = std::string(99, 'f') + "\n";
        std::string block;
        for (int i = 0; i < 10000; ++i)
            block += line;
        for (int i = 0; i < 8; ++i)
            append(path, block); // 8 MB
        const auto size = file_size(path);
        std::uint64_t last = 0;
        int reads = 0;
        while (last < size && reads < 100) {
            const auto e = r.read(1000, 10);
            CHECK(e.size() <= 10);
            const auto offset = saved_offset(r.positions_snapshot(), path);
            CHECK(offset > last);             // progress every read
            CHECK(offset - last <= (1 << 20) + line.size()); // 1 MiB per file per read, plus a held line
            last = offset;
            ++reads;
        }
        CHECK(last == size);
        CHECK(reads >= 8);

        auto fast = files_config({d.path() + "/*.log"});
        log_reader f(fast);
        f.start_at_end();
        append(path, block);
        CHECK(f.read(1000, 50).size() == 50);
        CHECK(f.read(1000, 7).size() == 7);
    }

    TEST_CASE("logs files: sources take turns, so a flood in one does not starve another")
    {
        temp_dir d;
        append(d.file("a.log"), "");
        append(d.file("b.log"), "");
        log_reader r(files_config({d.path() + "/*.log"}));
        r.start_at_end();
        std::string a, b;
        for (int i = 0; i < 500; ++i) {
            a += "a" + std::to_string(i) + "\n";
            b += "b" + std::to_string(i) + "\n";
        }
        append(d.file("a.log"), a);
        append(d.file("b.log"), b);
        const auto e = r.read(1000, 100);
        REQUIRE(e.size() == 100);
        const auto from_a = messages_of(e, d.file("a.log"));
        const auto from_b = messages_of(e, d.file("b.log"));
        CHECK(from_a.size() >= 36);
        CHECK(from_b.size() >= 36);
        REQUIRE_FALSE(from_a.empty());
        CHECK(from_a.front() == "a0"); // oldest first per source
        // Nothing is lost at the cut: the next reads go on where this one stopped.
        std::size_t total = e.size();
        for (auto more = r.read(1001, 1000); !more.empty(); more = r.read(1002, 1000))
            total += more.size();
        CHECK(total == 1000);
    }
}
