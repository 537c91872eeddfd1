#include "agent/spool.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crc32c.hpp"
#include "common/file_util.hpp"
#include "common/log.hpp"

namespace corvid::agent {
namespace {

using boost::system::error_code;

error_code last_error() { return {errno, boost::system::system_category()}; }

class spool_category_impl : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "corvid.spool"; }
    std::string message(int ev) const override
    {
        switch (static_cast<spool_errc>(ev)) {
        case spool_errc::bad_options: return "invalid spool options";
        case spool_errc::payload_too_large: return "spool record payload too large";
        case spool_errc::corrupt_segment: return "spool segment changed on disk";
        case spool_errc::seq_exhausted: return "spool seqs exhausted";
        }
        return "unknown spool error";
    }
};

void put_u32(char* p, std::uint32_t v)
{
    for (int i = 0; i < 4; ++i)
        p[i] = static_cast<char>(v >> (8 * i));
}
void put_u64(char* p, std::uint64_t v)
{
    for (int i = 0; i < 8; ++i)
        p[i] = static_cast<char>(v >> (8 * i));
}
std::uint32_t get_u32(const char* p)
{
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i)
        v |= std::uint32_t(static_cast<unsigned char>(p[i])) << (8 * i);
    return v;
}
std::uint64_t get_u64(const char* p)
{
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i)
        v |= std::uint64_t(static_cast<unsigned char>(p[i])) << (8 * i);
    return v;
}

// pread until `n` bytes or end of file; returns bytes read or -1.
ssize_t pread_full(int fd, char* buf, std::size_t n, std::uint64_t off)
{
    std::size_t done = 0;
    while (done < n) {
        const auto r = ::pread(fd, buf + done, n - done, static_cast<off_t>(off + done));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            break;
        done += static_cast<std::size_t>(r);
    }
    return static_cast<ssize_t>(done);
}

struct record_view {
    std::uint32_t length;
    std::uint64_t seq;
    std::int64_t ts;
};

// Reads and checks the record at `off`; false if there is none or it fails any check (the end of
// the valid part of the segment). The payload is read and checksummed only when `payload` is given.
bool read_record(int fd, std::uint64_t file_size, std::uint64_t off, std::uint64_t expected_seq, record_view& out,
                 std::string* payload)
{
    char h[spool::header_bytes];
    if (off + spool::header_bytes > file_size || pread_full(fd, h, sizeof h, off) != static_cast<ssize_t>(sizeof h))
        return false;
    out.length = get_u32(h + 4);
    out.seq = get_u64(h + 8);
    out.ts = static_cast<std::int64_t>(get_u64(h + 16));
    if (get_u32(h) != spool::magic || out.length > spool::max_payload || out.seq != expected_seq ||
        out.seq > spool::max_seq || off + spool::header_bytes + out.length > file_size)
        return false;
    if (payload == nullptr)
        return true;
    payload->resize(out.length);
    if (pread_full(fd, payload->data(), out.length, off + spool::header_bytes) != static_cast<ssize_t>(out.length))
        return false;
    return crc32c(*payload, crc32c(std::string_view(h, 24))) == get_u32(h + 24);
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

void fsync_dir(const std::string& dir)
{
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

std::uint64_t file_size_of(int fd)
{
    struct stat st {};
    return ::fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

} // namespace

const boost::system::error_category& spool_category()
{
    static const spool_category_impl c;
    return c;
}

error_code make_error_code(spool_errc e) { return {static_cast<int>(e), spool_category()}; }

spool::spool(spool_options o) : o_(std::move(o)) {}

spool::spool(spool&& other) noexcept
    : o_(std::move(other.o_)), segments_(std::move(other.segments_)), fd_(std::exchange(other.fd_, -1)),
      bytes_(other.bytes_), last_seq_(other.last_seq_), acked_(other.acked_), dropped_(other.dropped_),
      gaps_(std::move(other.gaps_)), cursor_(other.cursor_)
{
}

spool& spool::operator=(spool&& other) noexcept
{
    if (this != &other) {
        close_active();
        o_ = std::move(other.o_);
        segments_ = std::move(other.segments_);
        fd_ = std::exchange(other.fd_, -1);
        bytes_ = other.bytes_;
        last_seq_ = other.last_seq_;
        acked_ = other.acked_;
        dropped_ = other.dropped_;
        gaps_ = std::move(other.gaps_);
        cursor_ = other.cursor_;
    }
    return *this;
}

spool::~spool() { close_active(); }

void spool::close_active()
{
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = -1;
}

std::string spool::segment_path(std::uint64_t first_seq) const { return fmt::format("{}/{:020}.seg", o_.dir, first_seq); }

boost::system::result<spool> spool::open(spool_options o, std::int64_t now_ms)
{
    if (o.dir.empty() || o.max_bytes < min_max_bytes || o.first_seq == 0 || o.first_seq > max_seq)
        return make_error_code(spool_errc::bad_options);
    o.segment_bytes = std::clamp<std::uint64_t>(o.segment_bytes, header_bytes + 1, o.max_bytes / 2);
    if (auto ec = make_directories(o.dir, 0700))
        return ec;
    spool s(std::move(o));

    const std::string ack_path = s.o_.dir + "/ack";
    bool fresh = false;
    if (auto text = read_file(ack_path, 64)) {
        std::uint64_t v = 0;
        const auto r = std::from_chars(text->data(), text->data() + text->size(), v);
        if (r.ec == std::errc() && v <= max_seq)
            s.acked_ = v;
        else
            log::warn("spool: {} does not hold a seq; treating nothing as acked (records are resent)", ack_path);
    } else if (text.error() != boost::system::errc::no_such_file_or_directory) {
        log::warn("spool: cannot read {}: {}; treating nothing as acked", ack_path, text.error().message());
    } else {
        fresh = true;
    }

    std::vector<std::uint64_t> names;
    {
        DIR* d = ::opendir(s.o_.dir.c_str());
        if (d == nullptr)
            return last_error();
        while (const dirent* e = ::readdir(d)) {
            const std::string_view name = e->d_name;
            std::uint64_t seq = 0;
            if (name == "." || name == ".." || name == "ack")
                continue;
            if (name == "ack.tmp") // a crash inside write_file_atomic; the old ack file is intact
                ::unlink((s.o_.dir + "/ack.tmp").c_str());
            else if (parse_segment_name(name, seq))
                names.push_back(seq);
            else
                log::warn("spool: ignoring unknown file {}/{}", s.o_.dir, name);
        }
        ::closedir(d);
    }
    std::sort(names.begin(), names.end());
    if (fresh && names.empty() && s.o_.first_seq > 1) {
        // Written now, so a crash before the first ack does not make seqs below first_seq look lost.
        if (auto ec = write_file_atomic(ack_path, fmt::format("{}\n", s.o_.first_seq - 1), 0600, s.o_.sync))
            return ec;
        s.acked_ = s.o_.first_seq - 1;
    }

    std::uint64_t highest = 0;
    for (const auto first : names) {
        const std::string path = s.segment_path(first);
        const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
        if (fd < 0) {
            log::warn("spool: cannot open {}: {}; ignoring it", path, last_error().message());
            continue;
        }
        const std::uint64_t size = file_size_of(fd);
        segment seg{first, first - 1, 0, 0, 0};
        record_view r{};
        std::string payload;
        while (read_record(fd, size, seg.bytes, seg.last_seq + 1, r, &payload)) {
            if (seg.bytes == 0)
                seg.first_ts = r.ts;
            seg.last_ts = r.ts;
            seg.last_seq = r.seq;
            seg.bytes += header_bytes + r.length;
        }
        if (seg.bytes < size) {
            log::warn("spool: {}: dropping {} bytes after the last valid record (torn or corrupt tail)", path,
                      size - seg.bytes);
            if (::ftruncate(fd, static_cast<off_t>(seg.bytes)) != 0)
                log::warn("spool: cannot truncate {}: {}", path, last_error().message());
            else if (s.o_.sync)
                ::fdatasync(fd);
        }
        ::close(fd);
        const bool empty = seg.bytes == 0;
        const bool overlaps = !empty && first <= highest;
        const bool acked = !empty && seg.last_seq <= s.acked_;
        if (empty || overlaps || acked) {
            if (overlaps)
                log::warn("spool: {} overlaps an earlier segment; deleting it", path);
            ::unlink(path.c_str());
            if (acked)
                highest = std::max(highest, seg.last_seq);
            continue;
        }
        highest = seg.last_seq;
        s.bytes_ += seg.bytes;
        s.segments_.push_back(seg);
    }
    s.last_seq_ = std::max(highest, s.acked_);

    if (!s.segments_.empty() && s.segments_.front().first_seq > s.acked_ + 1) {
        const std::uint64_t first = s.acked_ + 1, last = s.segments_.front().first_seq - 1;
        s.add_gap({first, last, last - first + 1, 0, 0});
    }
    // Keep appending to the newest segment when its seqs continue and it has room; else start anew.
    if (!s.segments_.empty()) {
        const auto& back = s.segments_.back();
        if (back.last_seq == s.last_seq_ && back.bytes < s.o_.segment_bytes) {
            s.fd_ = ::open(s.segment_path(back.first_seq).c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
            if (s.fd_ < 0)
                log::warn("spool: cannot reopen {}: {}; starting a new segment", s.segment_path(back.first_seq),
                          last_error().message());
        }
    }
    s.enforce_bounds(now_ms);
    return s;
}

error_code spool::start_segment(std::uint64_t first_seq)
{
    close_active();
    const std::string path = segment_path(first_seq);
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    if (fd_ < 0)
        return last_error();
    if (o_.sync)
        fsync_dir(o_.dir);
    return {};
}

boost::system::result<std::uint64_t> spool::append(std::int64_t timestamp_ms, std::string_view payload,
                                                   std::int64_t now_ms)
{
    const std::uint64_t rec = header_bytes + payload.size();
    if (payload.size() > max_payload || rec > o_.max_bytes / 2)
        return make_error_code(spool_errc::payload_too_large);
    if (last_seq_ >= max_seq)
        return make_error_code(spool_errc::seq_exhausted);
    const std::uint64_t seq = last_seq_ + 1;
    const std::int64_t oldest_kept = now_ms - std::chrono::duration_cast<std::chrono::milliseconds>(o_.max_age).count();

    // Seqs inside a segment are consecutive; a segment that is full, or would keep a too-old record
    // alive, is closed so that bounds can drop it whole.
    const bool fresh = fd_ < 0 || segments_.empty() || segments_.back().last_seq + 1 != seq ||
                       segments_.back().bytes + rec > o_.segment_bytes || segments_.back().last_ts < oldest_kept;
    if (fresh) {
        if (auto ec = start_segment(seq))
            return ec;
        segments_.push_back({seq, seq - 1, timestamp_ms, timestamp_ms, 0});
    }
    auto& seg = segments_.back();

    std::string buf(rec, '\0');
    put_u32(buf.data(), magic);
    put_u32(buf.data() + 4, static_cast<std::uint32_t>(payload.size()));
    put_u64(buf.data() + 8, seq);
    put_u64(buf.data() + 16, static_cast<std::uint64_t>(timestamp_ms));
    std::memcpy(buf.data() + header_bytes, payload.data(), payload.size());
    put_u32(buf.data() + 24, crc32c(payload, crc32c(std::string_view(buf.data(), 24))));

    error_code ec;
    std::size_t done = 0;
    while (done < buf.size()) {
        const auto n = ::write(fd_, buf.data() + done, buf.size() - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            ec = last_error();
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    if (!ec && o_.sync && ::fdatasync(fd_) != 0)
        ec = last_error();
    if (ec) {
        // Cut the partial record off so earlier records stay the valid prefix; if that fails too,
        // stop writing to this file and let the next open truncate it.
        const bool cut = ::ftruncate(fd_, static_cast<off_t>(seg.bytes)) == 0;
        if (seg.bytes == 0) {
            close_active();
            ::unlink(segment_path(seq).c_str());
            segments_.pop_back();
        } else if (!cut) {
            close_active();
        }
        return ec;
    }
    seg.last_seq = seq;
    seg.last_ts = timestamp_ms;
    seg.bytes += rec;
    bytes_ += rec;
    last_seq_ = seq;
    enforce_bounds(now_ms);
    return seq;
}

void spool::enforce_bounds(std::int64_t now_ms)
{
    const std::int64_t oldest_kept = now_ms - std::chrono::duration_cast<std::chrono::milliseconds>(o_.max_age).count();
    while (segments_.size() > 1 && (bytes_ > o_.max_bytes || segments_.front().last_ts < oldest_kept))
        drop_front();
}

void spool::drop_front()
{
    const segment seg = segments_.front();
    if (seg.last_seq > acked_) {
        spool_gap g{std::max(seg.first_seq, acked_ + 1), seg.last_seq, 0, seg.first_ts, seg.last_ts};
        g.count = g.last_seq - g.first_seq + 1;
        if (g.first_seq != seg.first_seq) { // partly acked: read the first unacked record's time
            const int fd = ::open(segment_path(seg.first_seq).c_str(), O_RDONLY | O_CLOEXEC);
            std::uint64_t off = 0;
            record_view r{};
            g.first_timestamp_ms = 0;
            for (std::uint64_t s = seg.first_seq; fd >= 0 && read_record(fd, seg.bytes, off, s, r, nullptr); ++s) {
                if (r.seq == g.first_seq) {
                    g.first_timestamp_ms = r.ts;
                    break;
                }
                off += header_bytes + r.length;
            }
            if (fd >= 0)
                ::close(fd);
        }
        dropped_ += g.count;
        log::warn("spool {}: over its bounds; dropping {} unsent records (seq {}..{}), reported as a gap", o_.dir, g.count,
                  g.first_seq, g.last_seq);
        add_gap(g);
    }
    if (segments_.size() == 1)
        close_active();
    ::unlink(segment_path(seg.first_seq).c_str());
    bytes_ -= seg.bytes;
    segments_.pop_front();
}

void spool::add_gap(spool_gap g)
{
    if (!gaps_.empty() && gaps_.back().last_seq + 1 == g.first_seq) {
        auto& b = gaps_.back();
        b.last_seq = g.last_seq;
        b.count += g.count;
        b.last_timestamp_ms = g.last_timestamp_ms;
        return;
    }
    gaps_.push_back(g);
}

std::vector<spool_gap> spool::take_gaps() { return std::exchange(gaps_, {}); }

error_code spool::acknowledge(std::uint64_t seq)
{
    seq = std::min(seq, last_seq_);
    if (seq <= acked_)
        return {};
    if (auto ec = write_file_atomic(o_.dir + "/ack", fmt::format("{}\n", seq), 0600, o_.sync))
        return ec;
    acked_ = seq;
    while (!segments_.empty() && segments_.front().last_seq <= acked_) {
        if (segments_.size() == 1)
            close_active(); // the ack file now carries last_seq across a restart
        ::unlink(segment_path(segments_.front().first_seq).c_str());
        bytes_ -= segments_.front().bytes;
        segments_.pop_front();
    }
    return {};
}

boost::system::result<std::vector<spool_record>> spool::unacked(std::uint64_t after_seq, std::size_t max_records) const
{
    std::vector<spool_record> out;
    after_seq = std::max(after_seq, acked_);
    for (const auto& seg : segments_) {
        if (out.size() >= max_records)
            break;
        if (seg.last_seq <= after_seq)
            continue;
        const std::string path = segment_path(seg.first_seq);
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return last_error();
        std::uint64_t off = 0, seq = seg.first_seq;
        if (cursor_.segment_first == seg.first_seq && cursor_.seq == after_seq && after_seq >= seg.first_seq) {
            off = cursor_.offset;
            seq = after_seq + 1;
        }
        record_view r{};
        for (; seq <= seg.last_seq && out.size() < max_records; ++seq) {
            const bool wanted = seq > after_seq;
            std::string payload;
            if (!read_record(fd, seg.bytes, off, seq, r, wanted ? &payload : nullptr)) {
                ::close(fd);
                log::error("spool: {} changed on disk at offset {}", path, off);
                return make_error_code(spool_errc::corrupt_segment);
            }
            off += header_bytes + r.length;
            if (wanted)
                out.push_back({r.seq, r.ts, std::move(payload)});
        }
        ::close(fd);
        if (!out.empty())
            cursor_ = {out.back().seq, seg.first_seq, off};
    }
    return out;
}

double spool_outage_hours(std::uint64_t max_bytes, std::uint64_t payload_bytes, std::chrono::seconds interval)
{
    const auto records = max_bytes / (spool::header_bytes + payload_bytes);
    return static_cast<double>(records) * static_cast<double>(interval.count()) / 3600.0;
}

} // namespace corvid::agent
