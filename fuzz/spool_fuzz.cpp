// Fuzz target: the agent's spool recovery (agent/spool.hpp, agent/SPOOL.md). The input becomes a
// spool directory (an ack file, up to three segment files under names taken from the input, now
// and then a stray file or a directory where a segment should be) in a private temp dir; then
// spool::open recovers it, and the target lists, appends, acknowledges, takes the gaps, closes and
// opens again. Invariants, checked against an independent reader of the format (its own CRC-32C):
// open always succeeds, reads the ack point as written, and loses no valid unacked record without
// a gap; after every step each segment file is valid records from first byte to last, in seq
// order, sizes summing to bytes(); unacked() pages exactly the records above the ack point, seqs
// strictly increasing; append returns last_seq() + 1 (or says why not); acknowledge moves the ack
// point to min(seq, last_seq()); gaps have first <= last, count == last - first + 1 and hold no
// spooled record; a second open finds what the first left (nothing truncated or deleted, same
// seqs, ack point and listing; see run() for one exception). No file descriptor outlives a run.
//
// Input layout (bytes past the end read as zero; FUZZING.md):
//   [0] a: bits 0-1 segment files (0-3), bit 2 ack file, bit 3 ack is a directory,
//          bits 4-5 max_bytes (4 KiB, 16 KiB, 64 KiB, 64 KiB), bits 6-7 segment_bytes
//   [1] b: bits 0-2 page size, bits 3-4 which seq to acknowledge, bit 5 first_seq = Unix ms × 1000,
//          bit 6 now is 8 days later (the age bound), bit 7 a leftover ack.tmp
//   [2] appended payload size / 16    [3] which seq an extra unacked() starts after
//   [4] ack text length n, then n bytes of ack text
//   per segment: kind u8, seq u64 LE, length u32 LE (clamped to what is left), then the file bytes
//
// CORVID_SPOOL_FUZZ_SEEDS=<dir> writes the seed corpus (spools made by the real spool, one with a
// torn tail, one with a flipped byte, ...) into <dir> and exits instead of fuzzing;
// CORVID_SPOOL_FUZZ_LOG=1 lets the spool's recovery warnings through (they are silenced, as nearly
// every input draws some).
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "agent/spool.hpp"
#include "common/log.hpp"
#include "fuzz/fuzz_check.hpp"

namespace fs = std::filesystem;
using corvid::agent::spool;
using corvid::agent::spool_errc;
using corvid::agent::spool_gap;
using corvid::agent::spool_options;
using corvid::agent::spool_record;

namespace {

constexpr std::int64_t base_ms = 1'795'000'000'000; // 2026-11-18, the seeds' "now"
constexpr std::int64_t day_ms = 86'400'000;

// ---- An independent reader of the format in agent/SPOOL.md ----

std::uint32_t crc32c_bitwise(std::string_view data, std::uint32_t crc)
{
    crc = ~crc;
    for (const char ch : data) {
        crc ^= static_cast<unsigned char>(ch);
        for (int k = 0; k < 8; ++k)
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
    return ~crc;
}

std::uint64_t get_le(const char* p, int n)
{
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i)
        v |= std::uint64_t(static_cast<unsigned char>(p[i])) << (8 * i);
    return v;
}

struct record {
    std::uint64_t seq;
    std::int64_t ts;
    std::string payload;
    bool operator==(const record&) const = default;
};

// The valid records at the start of a segment file whose name says `first`, and how many bytes
// they take.
std::vector<record> parse_records(std::uint64_t first, std::string_view file, std::size_t& used)
{
    std::vector<record> out;
    used = 0;
    std::uint64_t expect = first;
    while (file.size() - used >= spool::header_bytes) {
        const char* h = file.data() + used;
        const std::uint64_t len = get_le(h + 4, 4);
        if (get_le(h, 4) != spool::magic || len > spool::max_payload || get_le(h + 8, 8) != expect ||
            len > file.size() - used - spool::header_bytes)
            break;
        const std::string_view payload(h + spool::header_bytes, len);
        if (crc32c_bitwise(payload, crc32c_bitwise(std::string_view(h, 24), 0)) != get_le(h + 24, 4))
            break;
        out.push_back({expect, static_cast<std::int64_t>(get_le(h + 16, 8)), std::string(payload)});
        used += spool::header_bytes + len;
        if (++expect > spool::max_seq) // seqs stop below 2^63: a larger one is damage
            break;
    }
    return out;
}

bool parse_segment_name(std::string_view name, std::uint64_t& seq)
{
    if (name.size() != 24 || name.substr(20) != ".seg")
        return false;
    if (!std::all_of(name.begin(), name.begin() + 20, [](char c) { return c >= '0' && c <= '9'; }))
        return false;
    const auto r = std::from_chars(name.data(), name.data() + 20, seq);
    return r.ec == std::errc() && seq > 0 && seq <= spool::max_seq;
}

std::string slurp(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

struct disk_segment {
    std::uint64_t size;
    std::vector<record> records;
};

// Every regular file in `dir` named like a segment; each must consist of valid records only.
std::map<std::uint64_t, disk_segment> read_segments(const fs::path& dir)
{
    std::map<std::uint64_t, disk_segment> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        std::uint64_t first = 0;
        if (!parse_segment_name(e.path().filename().native(), first) || !e.is_regular_file())
            continue;
        const std::string bytes = slurp(e.path());
        std::size_t used = 0;
        auto records = parse_records(first, bytes, used);
        FUZZ_CHECK(used == bytes.size()); // no torn or corrupt tail survives an open
        FUZZ_CHECK(!records.empty());     // an empty segment is deleted, never kept
        out.emplace(first, disk_segment{bytes.size(), std::move(records)});
    }
    FUZZ_CHECK(!ec);
    return out;
}

// The spool's state agrees with the disk; returns the records it must list as unacked.
std::vector<record> check_state(const spool& s)
{
    const auto disk = read_segments(s.options().dir);
    std::uint64_t bytes = 0, prev_last = 0;
    std::vector<record> unacked;
    for (const auto& [first, seg] : disk) {
        FUZZ_CHECK(prev_last == 0 || first > prev_last); // in seq order, no overlap
        prev_last = seg.records.back().seq;
        FUZZ_CHECK(prev_last <= s.last_seq());
        FUZZ_CHECK(prev_last > s.acked_seq()); // wholly acked segments are deleted
        bytes += seg.size;
        for (const auto& r : seg.records)
            if (r.seq > s.acked_seq())
                unacked.push_back(r);
    }
    FUZZ_CHECK(disk.size() == s.segment_count());
    FUZZ_CHECK(bytes == s.bytes());
    FUZZ_CHECK(s.acked_seq() <= s.last_seq());
    FUZZ_CHECK(s.bytes() <= s.options().max_bytes || s.segment_count() <= 1);
    return unacked;
}

bool same(const spool_record& a, const record& b) { return a.seq == b.seq && a.timestamp_ms == b.ts && a.payload == b.payload; }

// Pages through unacked() and compares with what the disk holds.
void check_listing(const spool& s, const std::vector<record>& expected, std::size_t page)
{
    std::size_t got = 0, pages = 0;
    std::uint64_t after = 0;
    for (;;) {
        auto r = s.unacked(after, page);
        FUZZ_CHECK(r.has_value()); // the disk did not change under the spool
        FUZZ_CHECK(r->size() <= page);
        if (r->empty())
            break;
        for (const auto& rec : *r) {
            FUZZ_CHECK(rec.seq > after && rec.seq > s.acked_seq() && rec.seq <= s.last_seq());
            FUZZ_CHECK(got < expected.size() && same(rec, expected[got]));
            after = rec.seq;
            ++got;
        }
        FUZZ_CHECK(++pages <= expected.size() + 1);
    }
    FUZZ_CHECK(got == expected.size());
}

// One listing that starts after an arbitrary seq (not where the previous page ended).
void check_listing_after(const spool& s, const std::vector<record>& expected, std::uint8_t pick)
{
    std::uint64_t after = pick;
    if (!expected.empty())
        after = expected[pick % expected.size()].seq - (pick & 1);
    auto r = s.unacked(after, 1000);
    FUZZ_CHECK(r.has_value());
    std::size_t i = 0;
    for (const auto& e : expected) {
        if (e.seq <= after)
            continue;
        FUZZ_CHECK(i < r->size() && same((*r)[i], e));
        ++i;
    }
    FUZZ_CHECK(i == r->size());
}

void check_gaps(const std::vector<spool_gap>& gaps, const std::vector<record>& present)
{
    std::uint64_t prev_last = 0;
    for (const auto& g : gaps) {
        FUZZ_CHECK(g.first_seq >= 1 && g.first_seq <= g.last_seq);
        FUZZ_CHECK(g.count == g.last_seq - g.first_seq + 1);
        FUZZ_CHECK(g.first_seq > prev_last); // oldest first, adjacent ones merged
        prev_last = g.last_seq;
        for (const auto& r : present)
            FUZZ_CHECK(r.seq < g.first_seq || r.seq > g.last_seq); // a gap is what is gone
    }
}

// What recovery must keep or report as a gap, read from the directory before open: the valid
// records (up to the first invalid one) of each segment file in name order, except a segment that
// overlaps an earlier one (SPOOL.md: it is deleted), above the ack point.
std::vector<std::uint64_t> must_keep(const fs::path& dir, std::uint64_t acked)
{
    std::map<std::uint64_t, std::vector<record>> files;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        std::uint64_t first = 0;
        if (parse_segment_name(e.path().filename().native(), first) && e.is_regular_file()) {
            std::size_t used = 0;
            files.emplace(first, parse_records(first, slurp(e.path()), used));
        }
    }
    std::vector<std::uint64_t> out;
    std::uint64_t highest = 0;
    for (const auto& [first, records] : files) {
        if (records.empty() || first <= highest)
            continue;
        highest = records.back().seq;
        for (const auto& r : records)
            if (r.seq > acked)
                out.push_back(r.seq);
    }
    return out;
}

std::map<std::string, std::uintmax_t> snapshot(const fs::path& dir)
{
    std::map<std::string, std::uintmax_t> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
        out[e.path().filename().native()] = e.is_regular_file() ? e.file_size() : 0;
    return out;
}

std::size_t open_fds()
{
    std::size_t n = 0;
    std::error_code ec;
    for (auto it = fs::directory_iterator("/proc/self/fd", ec); !ec && it != fs::directory_iterator(); it.increment(ec))
        ++n;
    return n;
}

// ---- Input ----

struct reader {
    const std::uint8_t* p;
    std::size_t n;
    std::uint64_t le(int bytes)
    {
        std::uint64_t v = 0;
        for (int i = 0; i < bytes; ++i)
            v |= std::uint64_t(byte()) << (8 * i);
        return v;
    }
    std::uint8_t byte()
    {
        if (n == 0)
            return 0;
        --n;
        return *p++;
    }
    std::string_view take(std::uint64_t len)
    {
        len = std::min<std::uint64_t>(len, n);
        std::string_view v(reinterpret_cast<const char*>(p), len);
        p += len;
        n -= len;
        return v;
    }
};

struct segment_file {
    std::string name;
    std::string_view bytes;
    bool directory = false;
};

struct input {
    spool_options options;
    std::int64_t now_ms = base_ms;
    std::size_t page = 1;
    int ack_choice = 0;
    std::uint8_t after_pick = 0;
    std::size_t payload_size = 0;
    bool ack_file = false, ack_dir = false, ack_tmp = false;
    std::string_view ack_text;
    std::vector<segment_file> segments;
};

// Names take the whole u64 range: seqs from 2^63 up are damage the spool must refuse, not wrap
// (the bug this target found; FUZZING.md, "Findings").
std::uint64_t name_seq(std::uint64_t v) { return v; }

input decode(const std::uint8_t* data, std::size_t size)
{
    reader in{data, size};
    input out;
    const std::uint8_t a = in.byte(), b = in.byte();
    out.payload_size = std::size_t(in.byte()) * 16;
    out.after_pick = in.byte();
    out.ack_text = in.take(in.byte());

    static constexpr std::uint64_t max_bytes[] = {4096, 16 << 10, 64 << 10, 64 << 10};
    static constexpr std::uint64_t segment_bytes[] = {4 << 20, 29, 256, 2048};
    static constexpr std::size_t pages[] = {1, 2, 3, 5, 8, 16, 64, 1000};
    out.options.sync = false;
    out.options.max_bytes = max_bytes[(a >> 4) & 3];
    out.options.segment_bytes = segment_bytes[a >> 6];
    out.options.first_seq = (b & 0x20) ? std::uint64_t(base_ms) * 1000 : 1;
    out.page = pages[b & 7];
    out.ack_choice = (b >> 3) & 3;
    out.now_ms = (b & 0x40) ? base_ms + 8 * day_ms : base_ms;
    out.ack_tmp = b & 0x80;
    out.ack_file = a & 4;
    out.ack_dir = a & 8;

    for (int i = 0, count = a & 3; i < count; ++i) {
        const std::uint8_t kind = in.byte();
        const std::uint64_t seq = in.le(8);
        segment_file f;
        f.bytes = in.take(in.le(4));
        switch (kind % 8) {
        case 3: // named after its first record's seq, so a valid segment is easy to reach
            f.name = fmt::format("{:020}.seg", name_seq(f.bytes.size() >= 16 ? get_le(f.bytes.data() + 8, 8) : seq));
            break;
        case 4: // small seqs, so segments overlap and sit next to the ack point
            f.name = fmt::format("{:020}.seg", seq % 64);
            break;
        case 5: { // not a segment (or not quite): ignored, and left alone
            static constexpr const char* bogus[] = {"{:019}.seg", "{:020}.seg.old", "{:020}.SEG", "{:020}",
                                                    "00000000000000000000.seg", "99999999999999999999.seg",
                                                    "ack.tmp", "{:020}.seg "};
            f.name = fmt::format(fmt::runtime(bogus[seq % 8]), name_seq(seq / 8));
            break;
        }
        case 6: // a directory where a segment should be
            f.name = fmt::format("{:020}.seg", name_seq(seq));
            f.directory = true;
            break;
        default: f.name = fmt::format("{:020}.seg", name_seq(seq));
        }
        out.segments.push_back(f);
    }
    return out;
}

// The ack point open must read (SPOOL.md): the ack file's leading decimal number, 0 when it is
// missing, unreadable, over 64 bytes or not a number; first_seq - 1 for a fresh directory.
std::uint64_t ack_point(const input& in, const fs::path& dir)
{
    if (in.ack_dir)
        return 0;
    if (!in.ack_file) {
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(dir, ec)) {
            std::uint64_t seq = 0;
            if (parse_segment_name(e.path().filename().native(), seq))
                return 0;
        }
        return in.options.first_seq - 1;
    }
    std::uint64_t v = 0;
    const auto r = std::from_chars(in.ack_text.data(), in.ack_text.data() + in.ack_text.size(), v);
    return in.ack_text.size() <= 64 && r.ec == std::errc() && v <= spool::max_seq ? v : 0;
}

// ---- The private temp dir: made once per process, emptied before each run, removed at exit ----

const fs::path& work_dir()
{
    // A plain array, not a path object, for the exit handler: it runs after static destructors
    // registered later than itself.
    static char name[4096];
    static const fs::path dir = [] {
        // tmpfs where there is one: every input creates, renames and deletes files, which is cheaper
        // in memory than on disk even without fsync.
        const char* tmp = std::getenv("TMPDIR");
        const std::string base = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : tmp != nullptr ? tmp : "/tmp";
        std::snprintf(name, sizeof name, "%s/corvid-spool-fuzz-XXXXXX", base.c_str());
        if (::mkdtemp(name) == nullptr) {
            std::perror("spool_fuzz: mkdtemp");
            std::abort();
        }
        std::atexit([] {
            std::error_code ec;
            fs::remove_all(name, ec);
        });
        return fs::path(name);
    }();
    return dir;
}

void write_bytes(const fs::path& p, std::string_view bytes)
{
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Lays the input out as a spool directory; returns its path.
std::string plant(const input& in)
{
    const fs::path dir = work_dir() / "spool";
    std::error_code ec;
    fs::remove_all(dir, ec);
    fs::create_directory(dir, ec);
    FUZZ_CHECK(!ec);
    if (in.ack_dir)
        fs::create_directory(dir / "ack", ec);
    else if (in.ack_file)
        write_bytes(dir / "ack", in.ack_text);
    if (in.ack_tmp)
        write_bytes(dir / "ack.tmp", "7\n");
    for (const auto& f : in.segments) {
        if (fs::exists(dir / f.name, ec))
            continue; // a name used twice: the first one stays
        if (f.directory)
            fs::create_directory(dir / f.name, ec);
        else
            write_bytes(dir / f.name, f.bytes);
    }
    return dir.native();
}

void run(const input& in)
{
    spool_options o = in.options;
    o.dir = plant(in);
    const bool planted_dir = std::any_of(in.segments.begin(), in.segments.end(), [](const auto& f) { return f.directory; });
    const std::uint64_t ack_at_open = ack_point(in, o.dir);
    const auto keep = must_keep(o.dir, ack_at_open);

    auto opened = spool::open(o, in.now_ms);
    FUZZ_CHECK(opened.has_value()); // recovers from whatever is on disk
    std::vector<record> expected;
    std::uint64_t last = 0, acked = 0, bytes = 0;
    std::size_t segments = 0;
    std::map<std::string, std::uintmax_t> left;
    {
        spool s = std::move(*opened);
        FUZZ_CHECK(s.acked_seq() == ack_at_open);
        expected = check_state(s);
        check_listing(s, expected, in.page);
        check_listing_after(s, expected, in.after_pick);
        const auto gaps = s.take_gaps();
        check_gaps(gaps, expected);
        FUZZ_CHECK(s.take_gaps().empty());
        // Nothing valid and unacked disappears unreported: it is listed, or a bound dropped it.
        for (const std::uint64_t seq : keep)
            FUZZ_CHECK(std::any_of(expected.begin(), expected.end(), [&](const record& r) { return r.seq == seq; }) ||
                       std::any_of(gaps.begin(), gaps.end(),
                                   [&](const spool_gap& g) { return g.first_seq <= seq && seq <= g.last_seq; }));

        // Append: the next seq, or a reason.
        const std::uint64_t before = s.last_seq();
        std::string payload(in.payload_size, '\0');
        for (std::size_t i = 0; i < payload.size(); ++i)
            payload[i] = static_cast<char>('a' + i % 26);
        auto seq = s.append(in.now_ms, payload, in.now_ms);
        if (spool::header_bytes + payload.size() > o.max_bytes / 2) {
            FUZZ_CHECK(!seq && seq.error() == spool_errc::payload_too_large);
        } else if (!seq) {
            // Only a directory under the new segment's name stops an append, or seqs at their top:
            // an open finding (FUZZING.md), accepted here so that runs go on past it.
            FUZZ_CHECK(planted_dir || (seq.error() == spool_errc::seq_exhausted && before == spool::max_seq));
        } else {
            FUZZ_CHECK(*seq == before + 1 && *seq > before);
        }
        FUZZ_CHECK(s.last_seq() == (seq ? *seq : before));
        expected = check_state(s);
        if (seq)
            FUZZ_CHECK(!expected.empty() && expected.back().seq == *seq && expected.back().payload == payload);
        check_listing(s, expected, in.page);

        // Acknowledge: everything, part, more than there is, or nothing new.
        std::uint64_t ack = s.acked_seq();
        if (in.ack_choice == 0)
            ack = s.last_seq();
        else if (in.ack_choice == 1 && !expected.empty())
            ack = expected[expected.size() / 2].seq;
        else if (in.ack_choice == 2)
            ack = s.last_seq() + 1000;
        const std::uint64_t was = s.acked_seq();
        const auto ec = s.acknowledge(ack);
        if (ec)
            FUZZ_CHECK(in.ack_dir && s.acked_seq() == was); // only a directory named ack refuses it
        else
            FUZZ_CHECK(s.acked_seq() == std::max(was, std::min(ack, s.last_seq())));
        expected = check_state(s);
        check_listing(s, expected, in.page);
        check_gaps(s.take_gaps(), expected);

        last = s.last_seq();
        acked = s.acked_seq();
        bytes = s.bytes();
        segments = s.segment_count();
        left = snapshot(o.dir);
    }

    // What the first spool left must come back as it was: no torn tail, no lost seq. One exception:
    // a directory left with no segment and no ack file is fresh again (open writes first_seq - 1 as
    // the ack point), although the first open, which found segment files, started seqs at 1.
    const bool fresh_again = !left.contains("ack") && segments == 0;
    auto again = spool::open(o, in.now_ms);
    FUZZ_CHECK(again.has_value());
    auto found = snapshot(o.dir);
    if (fresh_again) {
        FUZZ_CHECK(again->last_seq() >= last && again->acked_seq() == again->last_seq());
        found.erase("ack");
        last = again->last_seq();
    } else {
        FUZZ_CHECK(again->last_seq() == last && again->acked_seq() == acked);
    }
    FUZZ_CHECK(found == left);
    FUZZ_CHECK(again->bytes() == bytes && again->segment_count() == segments);
    FUZZ_CHECK(check_state(*again) == expected);
    check_listing(*again, expected, in.page);
    check_gaps(again->take_gaps(), expected);
    if (auto seq = again->append(in.now_ms + 1, "after reopen", in.now_ms + 1)) {
        FUZZ_CHECK(*seq == last + 1 && *seq > last);
        check_state(*again);
    } else {
        FUZZ_CHECK(planted_dir || (seq.error() == spool_errc::seq_exhausted && last == spool::max_seq));
    }
}

// ---- Seeds: spools written by the real spool ----

struct seed_builder {
    std::string out_dir;
    int made = 0;

    // Serialises a spool directory (ack file and segment files) into the input layout.
    void emit(const std::string& name, const fs::path& dir, std::uint8_t b, std::uint8_t payload16,
              const std::map<std::string, std::string>& tweak = {})
    {
        std::string ack;
        bool has_ack = fs::exists(dir / "ack");
        if (has_ack)
            ack = slurp(dir / "ack");
        if (auto t = tweak.find("ack"); t != tweak.end()) {
            ack = t->second;
            has_ack = true;
        }
        std::map<std::string, std::string> files;
        for (const auto& e : fs::directory_iterator(dir))
            if (e.path().extension() == ".seg")
                files[e.path().filename().native()] = slurp(e.path());
        for (const auto& [k, v] : tweak)
            if (k != "ack") {
                if (v == "<deleted>")
                    files.erase(k);
                else
                    files[k] = v;
            }
        std::string bytes;
        bytes += static_cast<char>(std::min<std::size_t>(files.size(), 3) | (has_ack ? 4 : 0) | 0x20); // 64 KiB
        bytes += static_cast<char>(b);
        bytes += static_cast<char>(payload16);
        bytes += '\x01';
        bytes += static_cast<char>(ack.size());
        bytes += ack;
        for (const auto& [fname, content] : files) {
            std::uint64_t seq = 0;
            const bool ok = parse_segment_name(fname, seq);
            bytes += static_cast<char>(ok ? 0 : 5);
            for (int i = 0; i < 8; ++i)
                bytes += static_cast<char>(seq >> (8 * i));
            for (int i = 0; i < 4; ++i)
                bytes += static_cast<char>(content.size() >> (8 * i));
            bytes += content;
        }
        write_bytes(fs::path(out_dir) / name, bytes);
        ++made;
    }

    static fs::path fresh(const std::string& name)
    {
        const fs::path dir = work_dir() / "seed" / name;
        fs::remove_all(dir);
        return dir;
    }

    static spool open_spool(const fs::path& dir, std::uint64_t first_seq, std::uint64_t segment_bytes)
    {
        spool_options o;
        o.dir = dir.native();
        o.sync = false;
        o.max_bytes = 64 << 10;
        o.segment_bytes = segment_bytes;
        o.first_seq = first_seq;
        auto s = spool::open(o, base_ms);
        if (!s) {
            std::fprintf(stderr, "spool_fuzz: cannot open %s: %s\n", o.dir.c_str(), s.error().message().c_str());
            std::exit(1);
        }
        return std::move(*s);
    }

    static void fill(spool& s, int n, std::int64_t ts)
    {
        for (int i = 0; i < n; ++i) {
            const std::string payload = fmt::format(R"({{"t":"sample","seq_hint":{},"cpu":{{"user":{}.5}}}})", i, i * 3);
            if (!s.append(ts + i * 5000, payload, base_ms))
                std::exit(1);
        }
    }

    static std::string segment_of(const fs::path& dir, std::size_t index)
    {
        std::vector<fs::path> names;
        for (const auto& e : fs::directory_iterator(dir))
            if (e.path().extension() == ".seg")
                names.push_back(e.path());
        std::sort(names.begin(), names.end());
        return names.at(index).filename().native();
    }

    void make()
    {
        const std::uint64_t unix_seq = std::uint64_t(base_ms) * 1000;
        // b: page size 3 (2), acknowledge the middle (1 << 3).
        const std::uint8_t b = 2 | (1 << 3);
        {   // A fresh agent's spool: first_seq = Unix ms × 1000, three records, nothing acked.
            const auto dir = fresh("fresh");
            spool s = open_spool(dir, unix_seq, 4 << 20);
            fill(s, 3, base_ms - 15000);
            emit("valid-one-segment", dir, b | 0x20, 4);
        }
        {   // Two segments (segment_bytes 256), the first partly acked.
            const auto dir = fresh("two");
            spool s = open_spool(dir, 1000, 256);
            fill(s, 6, base_ms - 60000);
            (void)s.acknowledge(1001);
            emit("valid-two-segments-acked", dir, 5 | (0 << 3), 2);
        }
        {   // Torn tail: the last record cut in half, as a crash during write(2) leaves it.
            const auto dir = fresh("torn");
            spool s = open_spool(dir, 42, 4 << 20);
            fill(s, 4, base_ms - 20000);
            const std::string seg = segment_of(dir, 0);
            std::string bytes = slurp(dir / seg);
            bytes.resize(bytes.size() - 30);
            emit("torn-tail", dir, b, 1, {{seg, bytes}});
        }
        {   // A flipped byte in the second record's payload: its CRC fails, it and what follows go.
            const auto dir = fresh("flip");
            spool s = open_spool(dir, 42, 4 << 20);
            fill(s, 4, base_ms - 20000);
            const std::string seg = segment_of(dir, 0);
            std::string bytes = slurp(dir / seg);
            const std::size_t first_len = spool::header_bytes + get_le(bytes.data() + 4, 4);
            bytes[first_len + spool::header_bytes + 5] ^= 0x10;
            emit("flipped-byte", dir, b, 1, {{seg, bytes}});
        }
        {   // Three segments, the middle one lost (a gap at open only if it was the oldest), an ack
            // file that is not a number.
            const auto dir = fresh("gap");
            spool s = open_spool(dir, 1, 256);
            fill(s, 9, base_ms - 90000);
            emit("three-segments-garbage-ack", dir, 1 | (2 << 3), 0, {{"ack", "not a number\n"}});
            emit("missing-oldest-gap", dir, 1 | (1 << 3), 3, {{segment_of(dir, 0), "<deleted>"}});
        }
        {   // Everything acked but the segments still there (a crash before they were deleted), and
            // records older than max_age when reopened a week later (b bit 6: now + 8 days).
            const auto dir = fresh("acked");
            spool s = open_spool(dir, 500, 256);
            fill(s, 5, base_ms - 10000);
            emit("acked-segments-left", dir, 6 | 0x40, 8, {{"ack", "504\n"}});
        }
        {   // The fresh spool's ack file alone: every segment acked and deleted.
            const auto dir = fresh("empty");
            spool s = open_spool(dir, 77, 4 << 20);
            fill(s, 2, base_ms);
            (void)s.acknowledge(s.last_seq());
            emit("ack-only", dir, 0, 0);
        }
        std::error_code ec;
        fs::remove_all(work_dir() / "seed", ec);
        write_bytes(fs::path(out_dir) / "empty", "");
        ++made;
    }
};

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    // Recovery warns on nearly every input; CORVID_SPOOL_FUZZ_LOG=1 shows it (reproducing a crash).
    if (std::getenv("CORVID_SPOOL_FUZZ_LOG") == nullptr)
        corvid::log::set_min_level(corvid::log::level::critical);
    (void)work_dir();
    if (const char* out = std::getenv("CORVID_SPOOL_FUZZ_SEEDS")) {
        seed_builder g{out};
        fs::create_directories(out);
        g.make();
        std::printf("spool_fuzz: wrote %d seeds to %s\n", g.made, out);
        std::exit(0);
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const input in = decode(data, size);
    const std::size_t fds = open_fds();
    run(in);
    FUZZ_CHECK(open_fds() == fds); // every segment and ack file the spool opened is closed again
    return 0;
}
