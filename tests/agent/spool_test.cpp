#include "agent/spool.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <poll.h>
#include <random>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/crc32c.hpp"
#include "tests/support/temp_dir.hpp"

using corvid::agent::spool;
using corvid::agent::spool_options;
using corvid::agent::spool_record;
namespace fs = std::filesystem;

namespace {

spool_options opts(const std::string& dir, std::uint64_t max_bytes = 1 << 20, std::uint64_t segment_bytes = 4096)
{
    spool_options o;
    o.dir = dir;
    o.max_bytes = max_bytes;
    o.segment_bytes = segment_bytes;
    o.sync = false; // fdatasync proves nothing in a test that does not cut the power
    return o;
}

spool open_ok(const spool_options& o, std::int64_t now_ms = 0)
{
    auto s = spool::open(o, now_ms);
    REQUIRE(s.has_value());
    return std::move(*s);
}

std::string payload_of(std::uint64_t seq, std::size_t size = 20)
{
    std::string p = std::to_string(seq) + ":";
    p.resize(std::max(size, p.size()), static_cast<char>('a' + seq % 26));
    return p;
}

std::vector<spool_record> all_unacked(const spool& s)
{
    std::vector<spool_record> out;
    std::uint64_t after = 0;
    for (;;) {
        auto page = s.unacked(after, 500);
        REQUIRE(page.has_value());
        if (page->empty())
            return out;
        after = page->back().seq;
        for (auto& r : *page)
            out.push_back(std::move(r));
    }
}

std::vector<fs::path> segments_in(const std::string& dir)
{
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".seg")
            out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

// Three records in one segment; returns the segment and the offset where the third starts.
std::pair<fs::path, std::uint64_t> three_records(const std::string& dir)
{
    auto s = open_ok(opts(dir));
    for (int i = 1; i <= 3; ++i)
        REQUIRE(s.append(i * 1000, payload_of(i), 0).value() == std::uint64_t(i));
    const auto segs = segments_in(dir);
    REQUIRE(segs.size() == 1);
    return {segs[0], 2 * (spool::header_bytes + 20)};
}

void check_first_two_and_continue(const std::string& dir)
{
    auto s = open_ok(opts(dir));
    CHECK(s.last_seq() == 2);
    const auto recs = all_unacked(s);
    REQUIRE(recs.size() == 2);
    for (std::uint64_t i = 1; i <= 2; ++i) {
        CHECK(recs[i - 1].seq == i);
        CHECK(recs[i - 1].timestamp_ms == std::int64_t(i * 1000));
        CHECK(recs[i - 1].payload == payload_of(i));
    }
    CHECK(s.append(3000, payload_of(3), 0).value() == 3);
    CHECK(all_unacked(s).size() == 3);
}

} // namespace

TEST_SUITE("common.crc32c")
{
    TEST_CASE("crc32c: standard check value and incremental use")
    {
        CHECK(corvid::crc32c("123456789") == 0xE3069283u);
        CHECK(corvid::crc32c("") == 0u);
        CHECK(corvid::crc32c("6789", corvid::crc32c("12345")) == 0xE3069283u);
    }
}

TEST_SUITE("agent.spool")
{
    TEST_CASE("spool: records and seq survive a reopen")
    {
        corvid::test::temp_dir dir;
        const auto o = opts(dir.file("spool"), 1 << 20, 256); // a few records per segment
        {
            auto s = open_ok(o);
            CHECK(s.last_seq() == 0);
            for (std::uint64_t i = 1; i <= 10; ++i)
                CHECK(s.append(std::int64_t(i) * 1000, payload_of(i), 0).value() == i);
            CHECK(s.segment_count() > 1);
        }
        CHECK((fs::status(dir.file("spool")).permissions() & fs::perms::all) == fs::perms::owner_all);
        auto s = open_ok(o);
        CHECK(s.last_seq() == 10);
        CHECK(s.acked_seq() == 0);
        const auto recs = all_unacked(s);
        REQUIRE(recs.size() == 10);
        for (std::uint64_t i = 1; i <= 10; ++i) {
            CHECK(recs[i - 1].seq == i);
            CHECK(recs[i - 1].payload == payload_of(i));
        }
        CHECK(s.append(11000, payload_of(11), 0).value() == 11);
    }

    TEST_CASE("spool: a fresh spool starts at first_seq, kept across a crash before the first ack")
    {
        corvid::test::temp_dir dir;
        auto o = opts(dir.file("spool"));
        o.first_seq = 1'000'000;
        {
            auto s = open_ok(o);
            CHECK(s.last_seq() == 999'999);
            CHECK(s.append(1000, payload_of(1), 0).value() == 1'000'000);
        } // no acknowledge: as if killed
        o.first_seq = 5'000'000; // only a fresh spool takes it
        auto s = open_ok(o);
        CHECK(s.take_gaps().empty()); // nothing below first_seq looks lost
        CHECK(s.acked_seq() == 999'999);
        CHECK(all_unacked(s).size() == 1);
        CHECK(s.append(2000, payload_of(2), 0).value() == 1'000'001);
    }

    TEST_CASE("spool: seqs at or above 2^63 on disk are damage, never wrapped (found by spool_fuzz)")
    {
        corvid::test::temp_dir dir;
        const auto o = opts(dir.file("spool"));
        fs::create_directories(o.dir);
        {
            std::ofstream(o.dir + "/ack") << "18446744073709551615\n";
            std::ofstream(o.dir + "/18446744073709551615.seg") << "not ours";
        }
        auto s = open_ok(o);
        CHECK(s.acked_seq() == 0); // the ack file is ignored, so records would be resent, not lost
        const auto seq = s.append(1000, payload_of(1), 0);
        REQUIRE(seq.has_value());
        CHECK(*seq == 1);
        CHECK(fs::exists(o.dir + "/18446744073709551615.seg")); // left alone, as an unknown file
        auto again = open_ok(o);
        CHECK(again.last_seq() == 1);
        CHECK(all_unacked(again).size() == 1);
    }

    TEST_CASE("spool: acknowledge deletes wholly acked segments and survives a reopen")
    {
        corvid::test::temp_dir dir;
        const auto o = opts(dir.file("spool"), 1 << 20, 256);
        const auto per_segment = 256 / (spool::header_bytes + 20);
        {
            auto s = open_ok(o);
            for (std::uint64_t i = 1; i <= 20; ++i)
                s.append(std::int64_t(i) * 1000, payload_of(i), 0).value();
            const auto before = segments_in(o.dir).size();
            CHECK(!s.acknowledge(per_segment + 1)); // first segment wholly acked, second partly
            CHECK(segments_in(o.dir).size() == before - 1);
            CHECK(s.acked_seq() == per_segment + 1);
            const auto recs = all_unacked(s);
            REQUIRE(!recs.empty());
            CHECK(recs.front().seq == per_segment + 2);
            CHECK(recs.size() == 20 - per_segment - 1);
        }
        {
            auto s = open_ok(o);
            CHECK(s.acked_seq() == per_segment + 1);
            CHECK(s.last_seq() == 20);
            CHECK(all_unacked(s).front().seq == per_segment + 2);
            CHECK(!s.acknowledge(100)); // clamped to last_seq
            CHECK(s.acked_seq() == 20);
            CHECK(segments_in(o.dir).empty());
            CHECK(s.bytes() == 0);
        }
        auto s = open_ok(o); // nothing on disk but the ack file: seq still continues
        CHECK(s.last_seq() == 20);
        CHECK(s.append(21000, payload_of(21), 0).value() == 21);
        CHECK(s.take_gaps().empty());
    }

    TEST_CASE("spool: a tail cut at any byte of the last record is dropped, earlier records intact")
    {
        corvid::test::temp_dir root;
        for (std::uint64_t cut = 0; cut < spool::header_bytes + 20; ++cut) {
            CAPTURE(cut);
            const std::string dir = root.file("s" + std::to_string(cut));
            const auto [seg, last_at] = three_records(dir);
            fs::resize_file(seg, last_at + cut);
            check_first_two_and_continue(dir);
            CHECK(fs::file_size(seg) == last_at + spool::header_bytes + 20); // truncated, then appended
        }
    }

    TEST_CASE("spool: a flipped byte anywhere in the last record drops it, earlier records intact")
    {
        corvid::test::temp_dir root;
        for (std::uint64_t at = 0; at < spool::header_bytes + 20; ++at) {
            CAPTURE(at);
            const std::string dir = root.file("s" + std::to_string(at));
            const auto [seg, last_at] = three_records(dir);
            std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
            f.seekg(static_cast<std::streamoff>(last_at + at));
            char c = 0;
            f.get(c);
            f.seekp(static_cast<std::streamoff>(last_at + at));
            f.put(static_cast<char>(c ^ 0x10));
            f.close();
            check_first_two_and_continue(dir);
        }
    }

    TEST_CASE("spool: unknown files are left alone, a segment with no valid record is removed")
    {
        corvid::test::temp_dir dir;
        const auto o = opts(dir.path());
        {
            auto s = open_ok(o);
            for (std::uint64_t i = 1; i <= 3; ++i)
                s.append(std::int64_t(i) * 1000, payload_of(i), 0).value();
        }
        dir.write("notes.txt", "hello");
        dir.write("0000000000000000000x.seg", std::string(100, 'z'));
        dir.write("00000000000000000009.seg", std::string(100, 'z')); // our name, garbage inside
        auto s = open_ok(o);
        CHECK(s.last_seq() == 3);
        CHECK(all_unacked(s).size() == 3);
        CHECK(fs::exists(dir.file("notes.txt")));
        CHECK(fs::exists(dir.file("0000000000000000000x.seg")));
        CHECK(!fs::exists(dir.file("00000000000000000009.seg")));
        CHECK(s.append(4000, payload_of(4), 0).value() == 4);
    }

    TEST_CASE("spool: the size bound drops the oldest segments and reports one gap")
    {
        corvid::test::temp_dir dir;
        auto s = open_ok(opts(dir.path(), 4096, 1 << 20)); // segment_bytes clamps to 2048
        constexpr std::uint64_t rec = spool::header_bytes + 100;
        constexpr std::uint64_t per_segment = 2048 / rec; // 16
        for (std::uint64_t i = 1; i <= 100; ++i) {
            s.append(std::int64_t(i) * 1000, payload_of(i, 100), 0).value();
            CHECK(s.bytes() <= 4096);
            if (i == 5)
                CHECK(!s.acknowledge(3)); // the first segment is partly acked: 1..3 are not in the gap
        }
        const auto gaps = s.take_gaps();
        REQUIRE(gaps.size() == 1);
        const auto recs = all_unacked(s);
        REQUIRE(!recs.empty());
        CHECK(gaps[0].first_seq == 4);
        CHECK(gaps[0].last_seq + 1 == recs.front().seq);
        CHECK(gaps[0].count == gaps[0].last_seq - 3);
        CHECK(gaps[0].first_timestamp_ms == 4000);
        CHECK(gaps[0].last_timestamp_ms == std::int64_t(gaps[0].last_seq) * 1000);
        CHECK(s.dropped() == gaps[0].count);
        CHECK(recs.back().seq == 100);
        CHECK(recs.size() == 100 - gaps[0].last_seq);
        CHECK((gaps[0].last_seq % per_segment) == 0); // whole segments
        CHECK(s.take_gaps().empty());
    }

    TEST_CASE("spool: the age bound drops segments whose newest record is too old, also at open")
    {
        corvid::test::temp_dir dir;
        auto o = opts(dir.path(), 1 << 20, 256);
        o.max_age = std::chrono::hours(1);
        constexpr std::int64_t hour = 3600 * 1000;
        {
            auto s = open_ok(o);
            for (std::uint64_t i = 1; i <= 12; ++i) // ten minutes apart, the first at 0; 5 per segment
                s.append(std::int64_t(i - 1) * 600'000, payload_of(i), std::int64_t(i - 1) * 600'000);
            // At 110 min the first segment (0..40 min) is wholly older than an hour; the second is not.
            const auto gaps = s.take_gaps();
            REQUIRE(gaps.size() == 1);
            CHECK(gaps[0].first_seq == 1);
            CHECK(gaps[0].last_seq == 5);
            CHECK(gaps[0].count == 5);
            CHECK(gaps[0].first_timestamp_ms == 0);
            CHECK(gaps[0].last_timestamp_ms == 40 * 60'000);
            CHECK(all_unacked(s).front().seq == 6);
            CHECK(s.segment_count() == 2);
        }
        auto s = open_ok(o, 100 * hour); // a long stop: everything but the newest segment is old
        CHECK(s.segment_count() == 1);
        const auto gaps = s.take_gaps();
        // The gap taken before the restart was never acked past, so it is found again (no times),
        // merged with the drop of segment 6..10 at this open.
        REQUIRE(gaps.size() == 1);
        CHECK(gaps[0].first_seq == 1);
        CHECK(gaps[0].last_seq == 10);
        CHECK(gaps[0].count == 10);
        CHECK(gaps[0].last_timestamp_ms == 90 * 60'000);
        CHECK(all_unacked(s).front().seq == 11);
        CHECK(s.append(100 * hour, payload_of(13), 100 * hour).value() == 13);
        CHECK(s.segment_count() == 1); // the old newest segment went too
        CHECK(all_unacked(s).size() == 1);
    }

    TEST_CASE("spool: unacked pages through every record once, oldest first")
    {
        corvid::test::temp_dir dir;
        auto s = open_ok(opts(dir.path(), 1 << 20, 300));
        for (std::uint64_t i = 1; i <= 50; ++i)
            s.append(std::int64_t(i), payload_of(i, 10 + i), 0).value();
        std::vector<std::uint64_t> seen;
        std::uint64_t after = 0;
        for (int pages = 0; pages < 100; ++pages) {
            auto page = s.unacked(after, 7);
            REQUIRE(page.has_value());
            if (page->empty())
                break;
            CHECK(page->size() <= 7);
            for (const auto& r : *page) {
                CHECK(r.payload == payload_of(r.seq, 10 + r.seq));
                seen.push_back(r.seq);
            }
            after = page->back().seq;
        }
        REQUIRE(seen.size() == 50);
        for (std::uint64_t i = 0; i < 50; ++i)
            CHECK(seen[i] == i + 1);
        CHECK(s.unacked(17, 1).value().at(0).seq == 18); // random access, not only the cursor
        CHECK(!s.acknowledge(40));
        CHECK(s.unacked(0, 100).value().front().seq == 41);
        CHECK(s.unacked(50, 100).value().empty());
    }

    TEST_CASE("spool: bad options and oversized payloads are errors, not exceptions")
    {
        corvid::test::temp_dir dir;
        CHECK(!spool::open(opts(""), 0).has_value());
        CHECK(!spool::open(opts(dir.path(), 100), 0).has_value());
        auto s = open_ok(opts(dir.path(), 8192));
        CHECK(s.append(0, std::string(5000, 'x'), 0).error() == corvid::agent::spool_errc::payload_too_large);
        CHECK(s.last_seq() == 0);
    }

    TEST_CASE("spool: a failed write (file size limit, like ENOSPC) leaves earlier records intact")
    {
        corvid::test::temp_dir dir;
        const auto o = opts(dir.path());
        auto s = open_ok(o);
        for (std::uint64_t i = 1; i <= 3; ++i)
            s.append(std::int64_t(i), payload_of(i), 0).value();
        const auto seg = segments_in(dir.path()).at(0);
        const auto size = fs::file_size(seg);
        rlimit old{};
        ::getrlimit(RLIMIT_FSIZE, &old);
        const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
        rlimit small = old;
        small.rlim_cur = size + 10; // the next record gets 10 of its bytes written, then EFBIG
        ::setrlimit(RLIMIT_FSIZE, &small);
        const auto failed = s.append(4, payload_of(4), 0);
        ::setrlimit(RLIMIT_FSIZE, &old);
        std::signal(SIGXFSZ, old_handler);
        CHECK(failed.has_error());
        CHECK(fs::file_size(seg) == size);
        CHECK(s.last_seq() == 3);
        CHECK(s.append(4, payload_of(4), 0).value() == 4);
        auto again = open_ok(o);
        CHECK(all_unacked(again).size() == 4);
    }

    TEST_CASE("spool: SIGKILL while appending loses at most the record being written")
    {
        corvid::test::temp_dir dir;
        const std::string spool_dir = dir.file("spool");
        std::mt19937 rng(std::random_device{}());
        std::uint64_t confirmed_total = 0;
        for (int round = 0; round < 8; ++round) {
            CAPTURE(round);
            const bool sync = round % 2 == 0;
            int out[2];
            REQUIRE(::pipe(out) == 0);
            posix_spawn_file_actions_t fa;
            posix_spawn_file_actions_init(&fa);
            posix_spawn_file_actions_adddup2(&fa, out[1], 1);
            posix_spawn_file_actions_addclose(&fa, out[0]);
            const std::string seg_bytes = "200000";
            const std::string sync_arg = sync ? "1" : "0";
            char* argv[] = {const_cast<char*>(CORVID_SPOOL_WRITER), const_cast<char*>(spool_dir.c_str()),
                            const_cast<char*>(seg_bytes.c_str()), const_cast<char*>(sync_arg.c_str()), nullptr};
            pid_t pid = 0;
            REQUIRE(::posix_spawn(&pid, CORVID_SPOOL_WRITER, &fa, nullptr, argv, environ) == 0);
            posix_spawn_file_actions_destroy(&fa);
            ::close(out[1]);

            // Once the writer has recovered the spool and confirmed its first append, read
            // confirmations until a random moment (without sync it is fast: kill sooner).
            std::uint64_t confirmed = 0;
            std::string buf;
            auto drain = [&](int timeout_ms) {
                pollfd p{out[0], POLLIN, 0};
                if (::poll(&p, 1, timeout_ms) <= 0)
                    return false;
                char chunk[4096];
                const auto n = ::read(out[0], chunk, sizeof chunk);
                if (n <= 0)
                    return false;
                buf.append(chunk, static_cast<std::size_t>(n));
                return true;
            };
            const auto started = std::chrono::steady_clock::now();
            while (buf.size() < 8 && std::chrono::steady_clock::now() - started < std::chrono::seconds(20))
                drain(100);
            CHECK(buf.size() >= 8);
            const int kill_after_ms = sync ? 1 + int(rng() % 150) : 1 + int(rng() % 25);
            const auto kill_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(kill_after_ms);
            while (std::chrono::steady_clock::now() < kill_at)
                drain(1);
            REQUIRE(::kill(pid, SIGKILL) == 0);
            int status = 0;
            REQUIRE(::waitpid(pid, &status, 0) == pid);
            CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)); // it did not stop on its own
            while (drain(1000)) {
            }
            ::close(out[0]);
            if (buf.size() >= 8)
                std::memcpy(&confirmed, buf.data() + (buf.size() / 8 - 1) * 8, 8);
            CHECK(confirmed >= confirmed_total); // every round continues the seq of the last

            spool_options o;
            o.dir = spool_dir;
            o.max_bytes = std::uint64_t(1) << 30;
            o.segment_bytes = 200000;
            auto s = open_ok(o);
            CHECK(s.last_seq() >= confirmed);
            CHECK(s.last_seq() <= confirmed + 1);
            const auto recs = all_unacked(s);
            REQUIRE(recs.size() == s.last_seq());
            for (std::uint64_t i = 0; i < recs.size(); ++i) {
                const auto n = i + 1;
                REQUIRE(recs[i].seq == n);
                std::string want = std::to_string(n) + ":";
                want.append((n * 7919) % 3000 + (n % 50 == 0 ? 65536 : 0), static_cast<char>('a' + n % 26));
                REQUIRE(recs[i].payload == want);
                REQUIRE(recs[i].timestamp_ms == std::int64_t(n) * 1000);
            }
            CHECK(s.take_gaps().empty());
            confirmed_total = s.last_seq();
        }
        MESSAGE("records after the last round: " << confirmed_total);
    }

    TEST_CASE("spool: README figures for what 64 MiB covers in an outage")
    {
        using std::chrono::seconds;
        constexpr std::uint64_t mib64 = 64 << 20;
        CHECK(corvid::agent::spool_outage_hours(mib64, 950, seconds(5)) == doctest::Approx(95.3).epsilon(0.01));
        CHECK(corvid::agent::spool_outage_hours(mib64, 1500, seconds(5)) == doctest::Approx(61.0).epsilon(0.01));
        CHECK(corvid::agent::spool_outage_hours(mib64, 3000, seconds(5)) == doctest::Approx(30.8).epsilon(0.01));
        // the 7-day default age bound binds first only below ~526 bytes per sample
        CHECK(corvid::agent::spool_outage_hours(mib64, 526, seconds(5)) >= 24 * 7 - 1);
    }
}
