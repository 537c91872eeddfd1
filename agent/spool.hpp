#pragma once
// The agent's durable on-disk spool (issue 6): every sample or log batch is appended here before it
// is sent and forgotten only when the collector acknowledges its seq, so an outage or a crash of the
// agent loses nothing but a record torn by the crash itself. Bounded by size and age; when a bound
// is hit the oldest records are dropped and reported once as a gap. Format and rules: agent/SPOOL.md.
//
// On disk, in `dir` (mode 0700): segment files `<first seq, 20 digits>.seg` and `ack`, the acked
// seq in decimal, replaced atomically. A segment is a sequence of records, little endian:
//   magic u32 = 0x4C505343 ("CSPL") | length u32 (payload bytes, <= max_payload)
//   | seq u64 | timestamp_ms i64 | crc32c u32 over the 24 bytes before it and the payload | payload
// Seqs inside a segment are consecutive and the first equals the file name. On open, the first
// record that fails any check (or runs past the end of the file) ends its segment: the file is
// truncated there (a torn tail is never parsed as data) and appends continue with a fresh seq.
//
// Threading: one thread at a time (the agent's sampling worker); every call does blocking file I/O,
// so never call it on the io thread.
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace corvid::agent {

enum class spool_errc {
    bad_options = 1,   // empty dir, max_bytes below min_max_bytes, first_seq 0 or above max_seq
    payload_too_large, // above max_payload, or above half of max_bytes
    corrupt_segment,   // a record that passed the checks at open no longer does (disk changed under us)
    seq_exhausted,     // last_seq() reached max_seq (only a damaged state could get it there)
};
const boost::system::error_category& spool_category();
boost::system::error_code make_error_code(spool_errc e);

struct spool_options {
    std::string dir;
    std::uint64_t max_bytes = 64 << 20;      // all segments together; see spool_outage_hours()
    std::chrono::hours max_age{24 * 7};      // a segment whose newest record is older is dropped
    std::uint64_t segment_bytes = 4 << 20;   // clamped to max_bytes / 2, so dropping whole segments
                                             // can always bring the spool back under max_bytes
    bool sync = true;                        // fdatasync every append (a power cut loses nothing acked
                                             // as written); false only survives process crashes
    std::uint64_t first_seq = 1;             // a fresh spool (no ack file, no segments) starts here;
                                             // the agent passes Unix ms × 1000, so a wiped state dir
                                             // never reuses a seq the collector has already stored
};

struct spool_record {
    std::uint64_t seq;
    std::int64_t timestamp_ms;
    std::string payload;
};

// Records dropped by a bound before the collector acked them. Adjacent drops are merged, so the
// list stays short. Timestamps are 0 when unknown (a drop found at open, whose report was lost).
struct spool_gap {
    std::uint64_t first_seq, last_seq, count;
    std::int64_t first_timestamp_ms, last_timestamp_ms;
};

class spool {
public:
    static constexpr std::uint32_t magic = 0x4C505343;
    static constexpr std::size_t header_bytes = 28;
    static constexpr std::size_t max_payload = 1 << 20;
    static constexpr std::uint64_t min_max_bytes = 4096;
    // Seqs stay below 2^63 (a fresh spool starts near 2^50.7: Unix ms × 1000), so they can never
    // wrap; a larger seq in the ack file, a segment name or a record is damage, not data.
    static constexpr std::uint64_t max_seq = (std::uint64_t(1) << 63) - 1;

    // Creates dir (0700) if needed and recovers: verifies every record of every segment, truncates a
    // torn or corrupt tail (logging how many bytes), deletes segments wholly acked, ignores (and
    // logs) files that are not ours, and continues seq after the highest seq seen or acked, so seqs
    // never repeat across restarts. Records missing between the ack point and the oldest segment
    // (dropped, but the process died before reporting it) come back as a gap. Then applies the
    // bounds as append does (after a long stop, or a smaller max_bytes in the config).
    static boost::system::result<spool> open(spool_options o, std::int64_t now_ms);

    spool(spool&& other) noexcept;
    spool& operator=(spool&& other) noexcept;
    spool(const spool&) = delete;
    spool& operator=(const spool&) = delete;
    ~spool();

    // Writes one record (one write(2), then fdatasync when sync) and returns its seq. Then enforces
    // the bounds by deleting whole oldest segments, never the one just written: bytes() <= max_bytes
    // and no segment wholly older than max_age; dropped unacked records become gaps. On failure
    // (ENOSPC, EIO) the partial record is cut off again, no seq is used, and earlier records are
    // untouched; if even that fails, the next open truncates it.
    boost::system::result<std::uint64_t> append(std::int64_t timestamp_ms, std::string_view payload,
                                                std::int64_t now_ms);

    // Everything <= seq (clamped to last_seq()) is committed by the collector: persists the ack
    // point atomically, then deletes wholly acked segments. An error leaves the old ack point;
    // the records are then sent again, which the collector tolerates.
    boost::system::error_code acknowledge(std::uint64_t seq);

    // Up to max_records unacked records with seq > after_seq, oldest first, for replay after a
    // reconnect. Reads the disk; paging with after_seq = the previous page's last seq is O(page).
    boost::system::result<std::vector<spool_record>> unacked(std::uint64_t after_seq,
                                                             std::size_t max_records) const;

    // Gaps not yet reported; the caller sends them as `gap` messages. Not persisted: a gap taken
    // and then lost in a crash before it was sent is reported again at open (without timestamps)
    // only if nothing after it was acked.
    std::vector<spool_gap> take_gaps();

    std::uint64_t bytes() const { return bytes_; }
    std::uint64_t last_seq() const { return last_seq_; }
    std::uint64_t acked_seq() const { return acked_; }
    std::uint64_t dropped() const { return dropped_; } // records dropped by bounds since open
    std::size_t segment_count() const { return segments_.size(); }
    const spool_options& options() const { return o_; }

private:
    struct segment {
        std::uint64_t first_seq, last_seq;
        std::int64_t first_ts, last_ts;
        std::uint64_t bytes;
    };
    struct cursor { // where unacked() stopped, so the next page need not rescan the segment
        std::uint64_t seq = 0, segment_first = 0, offset = 0;
    };

    explicit spool(spool_options o);
    std::string segment_path(std::uint64_t first_seq) const;
    boost::system::error_code start_segment(std::uint64_t first_seq);
    void close_active();
    void enforce_bounds(std::int64_t now_ms);
    void drop_front();
    void add_gap(spool_gap g);

    spool_options o_;
    std::deque<segment> segments_; // oldest first; the active one (if fd_ >= 0) is the back
    int fd_ = -1;
    std::uint64_t bytes_ = 0;
    std::uint64_t last_seq_ = 0;
    std::uint64_t acked_ = 0;
    std::uint64_t dropped_ = 0;
    std::vector<spool_gap> gaps_;
    mutable cursor cursor_;
};

// The README's arithmetic: how long an outage `max_bytes` covers when a sample of `payload_bytes`
// is spooled every `interval`.
double spool_outage_hours(std::uint64_t max_bytes, std::uint64_t payload_bytes, std::chrono::seconds interval);

} // namespace corvid::agent

namespace boost::system {
template <> struct is_error_code_enum<corvid::agent::spool_errc> : std::true_type {};
} // namespace boost::system
