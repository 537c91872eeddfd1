#include "agent/logs/log_reader.hpp"

#include <algorithm>

#include "agent/logs/positions.hpp"
#include "common/log.hpp"

namespace corvid::agent::logs {
namespace {

follow_limits limits_of(const logs_config& cfg)
{
    follow_limits l;
    l.max_message_bytes = cfg.max_message_bytes;
    l.rate_limit_per_s = cfg.rate_limit_per_s;
    return l;
}

std::vector<std::string> patterns_of(const logs_config& cfg)
{
    std::vector<std::string> out;
    for (const auto& f : cfg.files)
        out.push_back(f.path);
    return out;
}

} // namespace

log_reader::log_reader(const logs_config& cfg) : cfg_(cfg), files_(patterns_of(cfg), limits_of(cfg))
{
    if (cfg.journal.enabled)
        journal_ = std::make_unique<journal_reader>(cfg.journal, cfg.rate_limit_per_s, cfg.max_message_bytes);
}

void log_reader::start_at_end()
{
    started_ = true;
    files_.start_at_end();
    if (journal_)
        journal_->start_at_end();
}

void log_reader::restore(std::string_view snapshot)
{
    auto saved = decode_positions(snapshot);
    if (!saved) {
        corvid::log::warn("log positions: cannot use the saved positions ({}); starting at the end", saved.error());
        start_at_end();
        return;
    }
    started_ = true;
    files_.restore(*saved);
    if (journal_) {
        if (saved->journal_cursor)
            journal_->restore(*saved->journal_cursor);
        else
            journal_->start_at_end(); // the journal was off, or had nothing yet
    }
}

std::vector<proto::log_entry> log_reader::read(std::int64_t now_ms, std::size_t max_entries)
{
    if (!started_)
        start_at_end();
    std::vector<proto::log_entry> out;
    auto followers = files_.start_round(now_ms);
    if (journal_)
        journal_->start_round();
    const std::size_t sources = followers.size() + (journal_ ? 1 : 0);
    if (sources == 0 || max_entries == 0)
        return out;

    // One turn of source i: true when it stopped for room and has more to give.
    auto take_turn = [&](std::size_t i) {
        const auto room = std::min(max_entries, out.size() + entries_per_turn);
        if (i < followers.size())
            return followers[i]->poll(now_ms, room, out);
        return journal_->poll(now_ms, room, out);
    };
    std::vector<bool> has_more(sources, true);
    const std::size_t first = first_turn_++ % sources;
    bool any = true;
    while (any && out.size() < max_entries) {
        any = false;
        for (std::size_t k = 0; k < sources && out.size() < max_entries; ++k) {
            const auto i = (first + k) % sources;
            if (!has_more[i])
                continue;
            has_more[i] = take_turn(i);
            any = any || has_more[i];
        }
    }
    return out;
}

std::string log_reader::positions_snapshot() const
{
    positions p;
    p.patterns = files_.patterns();
    p.files = files_.positions_now();
    if (journal_)
        p.journal_cursor = journal_->cursor();
    return encode_positions(p);
}

} // namespace corvid::agent::logs
