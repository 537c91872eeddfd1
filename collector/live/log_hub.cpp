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

void log_hub::publish(const std::string& server_id, const std::vector<live_log_ptr>& entries)
{
    if (entries.empty())
        return;
    for (const auto& s : subscribers_.live(server_id))
        s->deliver_logs(entries);
}

} // namespace corvid::collector
