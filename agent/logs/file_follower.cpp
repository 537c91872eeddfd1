#include "agent/logs/file_follower.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

#include "agent/logs/log_level.hpp"
#include "agent/logs/message_text.hpp"
#include "common/crc32c.hpp"
#include "common/json_text.hpp"
#include "common/log.hpp"

namespace corvid::agent::logs {
namespace {

std::string error_text(int e) { return std::generic_category().message(e); }

// pread(2) that retries on EINTR: the count, 0 at the end of the file, or -1 with errno.
ssize_t read_at(int fd, char* buf, std::size_t n, std::uint64_t offset)
{
    for (;;) {
        const auto r = ::pread(fd, buf, n, static_cast<off_t>(offset));
        if (r >= 0 || errno != EINTR)
            return r;
    }
}

// The file's first `n` bytes (fewer if it is shorter), or nullopt with errno.
std::optional<std::string> read_head(int fd, std::size_t n)
{
    std::string head(n, '\0');
    std::size_t got = 0;
    while (got < n) {
        const auto r = read_at(fd, head.data() + got, n - got, got);
        if (r < 0)
            return std::nullopt;
        if (r == 0)
            break;
        got += static_cast<std::size_t>(r);
    }
    head.resize(got);
    return head;
}

} // namespace

file_follower::file_follower(std::string path, const file_position& start, const follow_limits& limits)
    : path_(std::move(path)), source_(make_valid_utf8(path_)), id_(start.id), limits_(limits),
      limiter_(limits.rate_limit_per_s), read_offset_(start.offset), skipping_(start.skipping),
      budget_(limits.bytes_per_poll)
{
    if (start.head_len > 0)
        check_on_open_ = start;
}

file_follower::~file_follower()
{
    if (fd_ >= 0)
        ::close(fd_);
}

void file_follower::warn_once(const char* what, int error)
{
    if (error == warned_errno_)
        return;
    warned_errno_ = error;
    corvid::log::warn("log file {}: {}: {} (retrying)", path_, what, error_text(error));
}

bool file_follower::open_file()
{
    // O_NONBLOCK: should the path be swapped for a FIFO between file_set's stat and here, open and
    // read return instead of waiting for a writer.
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        if (errno != ENOENT) // gone: file_set will notice; nothing to tell the operator
            warn_once("cannot open", errno);
        return false;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || file_identity{st.st_dev, st.st_ino} != id_) {
        // Another file took the path since file_set looked; its next scan finds the new one.
        ::close(fd);
        return false;
    }
    fd_ = fd;
    if (warned_errno_ != 0) {
        corvid::log::info("log file {}: readable again", path_);
        warned_errno_ = 0;
    }
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (read_offset_ > size) {
        corvid::log::info("log file {}: shorter than the saved position; reading it from the start", path_);
        restart_from_zero();
    }
    auto head = read_head(fd_, static_cast<std::size_t>(std::min<std::uint64_t>(read_offset_, head_bytes)));
    if (!head) {
        warn_once("cannot read", errno);
        head.emplace();
    }
    if (check_on_open_ && read_offset_ > 0) {
        const auto& saved = *check_on_open_;
        const std::string_view h = *head;
        if (h.size() < saved.head_len || crc32c(h.substr(0, saved.head_len)) != saved.head_crc) {
            corvid::log::info("log file {}: not the file of the saved position (inode reused); reading it from the "
                              "start",
                              path_);
            restart_from_zero();
            head.emplace();
        }
    }
    check_on_open_.reset();
    head_ = std::move(*head);
    return true;
}

void file_follower::restart_from_zero()
{
    read_offset_ = 0;
    buffer_.clear();
    begin_ = 0;
    skipping_ = false;
    head_.clear();
    partial_since_ms_.reset();
}

// True when the file now holds less than we read, or other bytes at its start: copytruncate, or
// a program that rewrote it. (A file truncated and grown past our offset between two polls, with
// the same first bytes, cannot be told from one that grew.)
bool file_follower::was_truncated()
{
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
        warn_once("cannot stat", errno);
        return false;
    }
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (size < read_offset_)
        return true;
    if (size == read_offset_ || head_.empty())
        return false;
    // It grew: cheap enough to check that its start is still what we read (at most head_bytes).
    const auto now_head = read_head(fd_, head_.size());
    return now_head && *now_head != head_;
}

file_follower::read_result file_follower::read_chunk(std::int64_t now_ms)
{
    buffer_.erase(0, begin_);
    begin_ = 0;
    const auto want = std::min(limits_.chunk_bytes, budget_);
    const auto old = buffer_.size();
    buffer_.resize(old + want);
    const auto n = read_at(fd_, buffer_.data() + old, want, read_offset_);
    if (n < 0) {
        const int e = errno;
        buffer_.resize(old);
        warn_once("cannot read", e);
        return read_result::error;
    }
    buffer_.resize(old + static_cast<std::size_t>(n));
    if (n == 0)
        return read_result::end;
    const std::string_view got(buffer_.data() + old, static_cast<std::size_t>(n));
    if (read_offset_ == head_.size() && head_.size() < head_bytes)
        head_.append(got.substr(0, head_bytes - head_.size()));
    read_offset_ += static_cast<std::uint64_t>(n);
    budget_ -= static_cast<std::size_t>(n);
    last_growth_ms_ = now_ms;
    return read_result::data;
}

void file_follower::emit_line(std::string_view raw, std::int64_t now_ms, std::vector<proto::log_entry>& out)
{
    if (raw.empty() || raw == "\r")
        return;
    if (!limiter_.admit(now_ms))
        return;
    auto text = clean_message(raw, limits_.max_message_bytes);
    proto::log_entry e;
    e.timestamp_ms = now_ms;
    e.level = std::string(level_of_line(text.text));
    e.source = source_;
    e.message = std::move(text.text);
    e.truncated = text.truncated;
    out.push_back(std::move(e));
}

// The unterminated rest of the buffer, as a line of its own.
void file_follower::emit_partial(std::int64_t now_ms, std::vector<proto::log_entry>& out)
{
    if (!skipping_ && pending() > 0)
        emit_line(std::string_view(buffer_).substr(begin_), now_ms, out);
    begin_ = buffer_.size();
    skipping_ = false;
    partial_since_ms_.reset();
}

bool file_follower::poll(std::int64_t now_ms, std::size_t max_size, std::vector<proto::log_entry>& out)
{
    if (finished_ || out.size() >= max_size)
        return !finished_;
    if (fd_ < 0) {
        if (detached()) { // never opened, or lost, and gone from its path: nothing to drain
            finished_ = true;
            return false;
        }
        if (!open_file())
            return false;
    }
    if (was_truncated()) {
        corvid::log::info("log file {}: truncated or rewritten; reading it from the start", path_);
        emit_partial(now_ms, out); // its bytes were in the file; better shipped early than lost
        restart_from_zero();
    }
    for (;;) {
        if (out.size() >= max_size)
            return true;
        if (limiter_.dropped() > 0)
            if (const auto n = limiter_.take_report(now_ms)) {
                out.push_back(drop_report(source_, *n, limiter_.per_s(), now_ms, limits_.max_message_bytes));
                continue;
            }
        const char* start = buffer_.data() + begin_;
        if (const auto* nl = static_cast<const char*>(std::memchr(start, '\n', pending()))) {
            const std::string_view line(start, static_cast<std::size_t>(nl - start));
            begin_ += line.size() + 1;
            partial_since_ms_.reset();
            if (skipping_)
                skipping_ = false; // the end of the over-long line
            else
                emit_line(line, now_ms, out);
            continue;
        }
        if (skipping_)
            begin_ = buffer_.size();
        else if (pending() > limits_.max_message_bytes + 1) {
            // More than a message can hold and no end in sight: ship the start, drop the rest.
            emit_line(std::string_view(buffer_).substr(begin_), now_ms, out);
            begin_ = buffer_.size();
            skipping_ = true;
            partial_since_ms_.reset();
            continue;
        }
        if (budget_ == 0)
            return false; // the next read() goes on from here
        const auto r = read_chunk(now_ms);
        if (r == read_result::data)
            continue;
        if (r == read_result::error)
            return false;
        break;
    }

    // At the end of the file.
    if (pending() > 0 && !skipping_) {
        if (!partial_since_ms_)
            partial_since_ms_ = now_ms;
        else if (now_ms - *partial_since_ms_ >= limits_.partial_line_wait_ms)
            emit_partial(now_ms, out);
    }
    if (detached() && now_ms - std::max(*detached_since_ms_, last_growth_ms_) >= limits_.detached_idle_ms) {
        if (out.size() >= max_size)
            return true; // the last line needs room
        emit_partial(now_ms, out);
        ::close(fd_);
        fd_ = -1;
        finished_ = true;
    }
    return false;
}

void file_follower::detach(std::int64_t now_ms)
{
    if (!detached_since_ms_)
        detached_since_ms_ = now_ms;
}

void file_follower::attach(const std::string& path)
{
    detached_since_ms_.reset();
    if (path != path_) {
        path_ = path;
        source_ = make_valid_utf8(path_);
    }
}

file_position file_follower::position() const
{
    if (check_on_open_) { // not opened since the snapshot it came from: still that snapshot's
        auto p = *check_on_open_;
        p.path = path_;
        return p;
    }
    file_position p;
    p.path = path_;
    p.id = id_;
    p.offset = read_offset_ - pending();
    p.skipping = skipping_;
    const auto n = std::min<std::uint64_t>(head_.size(), p.offset);
    p.head_len = static_cast<std::uint32_t>(n);
    p.head_crc = crc32c(std::string_view(head_).substr(0, n));
    return p;
}

} // namespace corvid::agent::logs
