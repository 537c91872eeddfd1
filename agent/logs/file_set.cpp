#include "agent/logs/file_set.hpp"

#include <algorithm>
#include <glob.h>
#include <sys/stat.h>

#include "common/log.hpp"

namespace corvid::agent::logs {

file_set::file_set(std::vector<std::string> patterns, const follow_limits& limits, std::size_t max_files)
    : patterns_(std::move(patterns)), limits_(limits), max_files_(max_files)
{
}

std::vector<file_set::match> file_set::expand_patterns()
{
    std::vector<match> out;
    for (std::size_t i = 0; i < patterns_.size(); ++i) {
        glob_t g{};
        const int rc = ::glob(patterns_[i].c_str(), 0, nullptr, &g);
        if (rc == 0) {
            glob_warned_.erase(i);
            for (std::size_t k = 0; k < g.gl_pathc; ++k)
                out.push_back({g.gl_pathv[k], i});
        } else if (rc != GLOB_NOMATCH && glob_warned_.insert(i).second)
            corvid::log::warn("log files {}: cannot expand the pattern ({})", patterns_[i],
                              rc == GLOB_NOSPACE ? "out of memory" : "glob error");
        ::globfree(&g);
    }
    return out;
}

file_follower* file_set::find(const file_identity& id)
{
    for (auto& f : followers_)
        if (f->id() == id)
            return f.get();
    return nullptr;
}

void file_set::scan(std::int64_t now_ms, start_rule rule, const positions* saved)
{
    std::vector<file_identity> seen;
    for (const auto& m : expand_patterns()) {
        struct stat st {};
        if (::stat(m.path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
            continue; // gone since glob saw it, or a directory, FIFO, device: not a log file
        const file_identity id{st.st_dev, st.st_ino};
        if (std::find(seen.begin(), seen.end(), id) != seen.end())
            continue; // a second name (hard link, symlink) of a file already followed
        seen.push_back(id);
        if (auto* f = find(id)) {
            f->attach(m.path);
            continue;
        }
        if (followers_.size() >= max_files_) {
            if (!full_warned_)
                corvid::log::warn("log files: more than {} files match the [[logs.files]] patterns; {} and others "
                                  "are not followed",
                                  max_files_, m.path);
            full_warned_ = true;
            continue;
        }
        file_position start;
        start.path = m.path;
        start.id = id;
        const auto size = static_cast<std::uint64_t>(st.st_size);
        switch (rule) {
        case start_rule::at_end: start.offset = size; break;
        case start_rule::from_start: break;
        case start_rule::from_snapshot: {
            const auto& files = saved->files;
            const auto it = std::find_if(files.begin(), files.end(), [&](const auto& p) { return p.id == id; });
            const auto& old_patterns = saved->patterns;
            if (it != files.end()) {
                start = *it;
                start.path = m.path;
            } else if (std::find(old_patterns.begin(), old_patterns.end(), patterns_[m.pattern]) == old_patterns.end())
                start.offset = size; // a pattern new to the config starts like a first start
            break;
        }
        }
        if (rule == start_rule::from_start)
            corvid::log::info("log files: following {} from its start", m.path);
        followers_.push_back(std::make_unique<file_follower>(m.path, start, limits_));
    }
    for (auto& f : followers_)
        if (std::find(seen.begin(), seen.end(), f->id()) == seen.end())
            f->detach(now_ms);
    if (followers_.size() < max_files_)
        full_warned_ = false;
}

void file_set::start_at_end()
{
    followers_.clear();
    last_scan_ms_.reset();
    scan(0, start_rule::at_end, nullptr);
}

void file_set::restore(const positions& saved)
{
    followers_.clear();
    last_scan_ms_.reset();
    scan(0, start_rule::from_snapshot, &saved);
}

bool file_set::waits_for_older(const file_follower& f, std::int64_t now_ms) const
{
    for (const auto& older : followers_) {
        if (older.get() == &f)
            return false; // followers_ is oldest first
        if (older->detached() && !older->finished() && older->path() == f.path()
            && now_ms - older->detached_since_ms() < rotation_order_wait_ms)
            return true;
    }
    return false;
}

std::vector<file_follower*> file_set::start_round(std::int64_t now_ms)
{
    std::erase_if(followers_, [](const auto& f) { return f->finished(); });
    if (!last_scan_ms_ || now_ms - *last_scan_ms_ >= rescan_interval_ms || now_ms < *last_scan_ms_) {
        scan(now_ms, start_rule::from_start, nullptr);
        last_scan_ms_ = now_ms;
    }
    std::vector<file_follower*> ready;
    for (auto& f : followers_) {
        if (waits_for_older(*f, now_ms))
            continue;
        f->start_round();
        ready.push_back(f.get());
    }
    return ready;
}

std::vector<file_position> file_set::positions_now() const
{
    std::vector<file_position> out;
    out.reserve(followers_.size());
    for (const auto& f : followers_)
        out.push_back(f->position());
    return out;
}

} // namespace corvid::agent::logs
