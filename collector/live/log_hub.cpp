#include "collector/live/log_hub.hpp"

#include <algorithm>

namespace corvid::collector {

live_log::live_log(std::int64_t id, proto::log_entry entry)
    : id_(id), level_(static_cast<int>(proto::log_level_from_name(entry.level).value_or(proto::log_level::info))),
      entry_(std::move(entry)), frame_(std::make_shared<const std::string>(proto::encode_frontend_log(entry_)))
{
}

std::string_view live_log::lowered_message() const
{
    if (!lowered_)
        lowered_ = ascii_lower(entry_.message);
    return *lowered_;
}

bool live_log_filter::matches(const live_log& e) const
{
    if (e.level() < min_level)
        return false;
    if (source && e.entry().source != *source)
        return false;
    return !search || search->matches_lowered(e.lowered_message());
}

log_filter live_log_filter::storage_filter() const
{
    log_filter f;
    f.min_level = min_level;
    if (search)
        f.search = search->text();
    f.source = source;
    return f;
}

bool log_outbox::push(live_log_ptr e)
{
    const auto cost = e->frame()->size();
    const bool full =
        queue_.size() >= limits_.max_entries || (!queue_.empty() && bytes_ + cost > limits_.max_bytes);
    if (dropped_ > 0 || full) {
        ++dropped_;
        return false;
    }
    bytes_ += cost;
    queue_.push_back(std::move(e));
    return true;
}

std::shared_ptr<const std::string> log_outbox::pop()
{
    if (!queue_.empty()) {
        auto frame = queue_.front()->frame();
        bytes_ -= frame->size();
        queue_.pop_front();
        return frame;
    }
    if (dropped_ == 0)
        return nullptr;
    auto marker = std::make_shared<const std::string>(proto::encode_dropped(dropped_));
    dropped_ = 0;
    return marker;
}

void log_outbox::clear()
{
    queue_.clear();
    bytes_ = 0;
    dropped_ = 0;
}

void log_outbox::drop_up_to(std::int64_t max_id)
{
    std::erase_if(queue_, [&](const live_log_ptr& e) {
        if (e->id() > max_id)
            return false;
        bytes_ -= e->frame()->size();
        return true;
    });
}

void log_hub::join(const std::string& server_id, std::weak_ptr<log_subscriber> s)
{
    subscribers_[server_id].push_back(std::move(s));
}

void log_hub::leave(const std::string& server_id, const log_subscriber* s)
{
    auto it = subscribers_.find(server_id);
    if (it == subscribers_.end())
        return;
    std::erase_if(it->second, [s](const std::weak_ptr<log_subscriber>& w) {
        auto p = w.lock();
        return !p || p.get() == s;
    });
    if (it->second.empty())
        subscribers_.erase(it);
}

bool log_hub::has_subscribers(const std::string& server_id) const
{
    auto it = subscribers_.find(server_id);
    return it != subscribers_.end()
           && std::any_of(it->second.begin(), it->second.end(), [](const auto& w) { return !w.expired(); });
}

void log_hub::publish(const std::string& server_id, const std::vector<live_log_ptr>& entries)
{
    auto it = subscribers_.find(server_id);
    if (it == subscribers_.end() || entries.empty())
        return;
    // Copy first: a delivery may end a session, which calls leave() and edits the list.
    std::vector<std::shared_ptr<log_subscriber>> live;
    for (auto& w : it->second)
        if (auto p = w.lock())
            live.push_back(std::move(p));
    for (auto& p : live)
        p->deliver_logs(entries);
}

void log_hub::forget_server(const std::string& server_id) { subscribers_.erase(server_id); }

std::size_t log_hub::subscriber_count() const
{
    std::size_t n = 0;
    for (const auto& [id, subs] : subscribers_)
        n += static_cast<std::size_t>(
            std::count_if(subs.begin(), subs.end(), [](const auto& w) { return !w.expired(); }));
    return n;
}

} // namespace corvid::collector
