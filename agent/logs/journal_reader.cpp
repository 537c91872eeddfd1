#include "agent/logs/journal_reader.hpp"

#include <cstdlib>
#include <string_view>
#include <system_error>
#include <systemd/sd-journal.h>

#include "agent/logs/log_level.hpp"
#include "agent/logs/message_text.hpp"
#include "common/log.hpp"

namespace corvid::agent::logs {
namespace {

// Unit names and syslog identifiers are short; this only bounds what a bad entry can make us copy.
constexpr std::size_t max_source_name_bytes = 256;
constexpr int default_priority = 6; // syslog's "info": what journald assumes for stdout

// The value of `field` in the current entry, without the "FIELD=" prefix.
std::optional<std::string_view> field(sd_journal* j, std::string_view name)
{
    const void* data = nullptr;
    std::size_t size = 0;
    const std::string key(name);
    if (sd_journal_get_data(j, key.c_str(), &data, &size) < 0)
        return std::nullopt;
    const std::string_view all(static_cast<const char*>(data), size);
    if (all.size() <= name.size() || all[name.size()] != '=')
        return std::nullopt;
    return all.substr(name.size() + 1);
}

int priority_of(std::optional<std::string_view> value)
{
    if (!value || value->size() != 1 || (*value)[0] < '0' || (*value)[0] > '7')
        return default_priority;
    return (*value)[0] - '0';
}

} // namespace

journal_reader::journal_reader(const journal_source_config& cfg, std::uint32_t rate_limit_per_s,
                               std::size_t max_message_bytes)
    : cfg_(cfg), max_message_bytes_(max_message_bytes), limiter_(rate_limit_per_s)
{
}

journal_reader::~journal_reader() { close(); }

void journal_reader::close()
{
    if (journal_)
        sd_journal_close(journal_);
    journal_ = nullptr;
    positioned_ = false;
}

void journal_reader::warn_once(const char* what, int error)
{
    if (error == warned_error_)
        return;
    warned_error_ = error;
    corvid::log::warn("journal{}{}: {}: {} (retrying)", cfg_.directory.empty() ? "" : " in ", cfg_.directory, what,
                      std::generic_category().message(-error));
}

void journal_reader::start_at_end()
{
    close();
    cursor_.reset();
    start_cursor_.reset();
    current_pending_ = false;
    if (open())
        position();
}

void journal_reader::restore(const std::string& cursor)
{
    close();
    cursor_ = cursor;
    start_cursor_ = cursor;
    current_pending_ = false;
    if (open())
        position();
}

bool journal_reader::open()
{
    sd_journal* j = nullptr;
    const int r = cfg_.directory.empty() ? sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY)
                                         : sd_journal_open_directory(&j, cfg_.directory.c_str(), 0);
    if (r < 0) {
        warn_once("cannot open", r);
        return false;
    }
    // A hint: large fields need not be decompressed beyond what a message can hold.
    sd_journal_set_data_threshold(j, max_message_bytes_ + 64);
    for (const auto& unit : cfg_.units) {
        const std::string match = "_SYSTEMD_UNIT=" + unit; // the same field repeated: any of them matches
        if (const int m = sd_journal_add_match(j, match.data(), match.size()); m < 0) {
            warn_once("cannot add a unit match", m);
            sd_journal_close(j);
            return false;
        }
    }
    // Sets up inotify, without which sd_journal_process cannot see new journal files (journald
    // rotates them); appends to files already open are seen either way.
    if (const int fd = sd_journal_get_fd(j); fd < 0)
        warn_once("cannot watch for new journal files", fd);
    journal_ = j;
    positioned_ = false;
    if (warned_error_ != 0)
        corvid::log::info("journal: open again");
    warned_error_ = 0;
    return true;
}

void journal_reader::remember_cursor()
{
    char* c = nullptr;
    if (sd_journal_get_cursor(journal_, &c) >= 0 && c)
        cursor_ = c;
    std::free(c);
}

bool journal_reader::position()
{
    if (start_cursor_) {
        if (const int r = sd_journal_seek_cursor(journal_, start_cursor_->c_str()); r < 0) {
            corvid::log::warn("journal: the saved cursor is not valid ({}); starting at the end",
                              std::generic_category().message(-r));
            start_cursor_.reset();
        } else {
            const int n = sd_journal_next(journal_);
            if (n < 0) {
                warn_once("cannot read", n);
                return false;
            }
            // The cursor's entry is the one already shipped; when it is gone (vacuumed), the
            // entry after where it was is new.
            current_pending_ = n > 0 && sd_journal_test_cursor(journal_, start_cursor_->c_str()) <= 0;
            start_cursor_.reset();
            positioned_ = true;
            return true;
        }
    }
    current_pending_ = false;
    int r = sd_journal_seek_tail(journal_);
    if (r >= 0)
        r = sd_journal_previous(journal_);
    if (r > 0)
        remember_cursor();
    else if (r == 0)
        // Nothing to match yet. From the tail, sd-journal would skip the first entry to come;
        // from the head, everything that comes is new anyway.
        r = sd_journal_seek_head(journal_);
    if (r < 0) {
        warn_once("cannot seek", r);
        return false;
    }
    positioned_ = true;
    return true;
}

std::optional<proto::log_entry> journal_reader::entry_at(std::int64_t now_ms)
{
    const int priority = priority_of(field(journal_, "PRIORITY"));
    if (priority > cfg_.min_priority)
        return std::nullopt;
    const auto message = field(journal_, "MESSAGE");
    if (!message)
        return std::nullopt;
    if (!limiter_.admit(now_ms))
        return std::nullopt;
    proto::log_entry e;
    e.level = std::string(level_of_priority(priority));
    std::uint64_t usec = 0;
    e.timestamp_ms = sd_journal_get_realtime_usec(journal_, &usec) >= 0 ? static_cast<std::int64_t>(usec / 1000)
                                                                          : now_ms;
    auto name = field(journal_, "_SYSTEMD_UNIT");
    if (!name)
        name = field(journal_, "SYSLOG_IDENTIFIER");
    e.source = name ? "journal:" + clean_message(*name, max_source_name_bytes).text : "journal";
    auto text = clean_message(*message, max_message_bytes_);
    e.message = std::move(text.text);
    e.truncated = text.truncated;
    return e;
}

bool journal_reader::poll(std::int64_t now_ms, std::size_t max_size, std::vector<proto::log_entry>& out)
{
    if (!journal_ && !open())
        return false;
    if (!positioned_ && !position())
        return false;
    // Picks up journal files added or removed since the last call (inotify events queued).
    if (const int r = sd_journal_process(journal_); r < 0)
        warn_once("cannot process journal changes", r);
    bool consumed = false, stopped_for_room = false;
    for (;;) {
        if (out.size() >= max_size) {
            stopped_for_room = true;
            break;
        }
        if (limiter_.dropped() > 0)
            if (const auto n = limiter_.take_report(now_ms)) {
                out.push_back(drop_report("journal", *n, limiter_.per_s(), now_ms, max_message_bytes_));
                continue;
            }
        if (budget_ == 0)
            break;
        if (!current_pending_) {
            const int r = sd_journal_next(journal_);
            if (r < 0)
                warn_once("cannot read", r);
            if (r <= 0)
                break;
        }
        current_pending_ = false;
        --budget_;
        consumed = true;
        if (auto e = entry_at(now_ms))
            out.push_back(std::move(*e));
    }
    if (consumed)
        remember_cursor();
    return stopped_for_room;
}

} // namespace corvid::agent::logs
