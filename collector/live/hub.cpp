#include "collector/live/hub.hpp"

namespace corvid::collector {

void hub::publish_sample(const std::string& server_id, const live_sample_ptr& sample)
{
    auto& latest = latest_[server_id];
    // Only a sample newer than every one published before is live. After a reconnect the agent
    // sends its live samples first and then replays its backlog (older timestamps): those are
    // stored, and are history for frontends (REST, subscribe's history_s), not live updates.
    if (latest && sample->timestamp_ms() <= latest->timestamp_ms())
        return;
    latest = sample;
    for (const auto& s : subscribers_.live(server_id))
        s->deliver_sample(sample);
}

live_sample_ptr hub::latest(const std::string& server_id) const
{
    auto it = latest_.find(server_id);
    return it == latest_.end() ? nullptr : it->second;
}

void hub::forget_server(const std::string& server_id)
{
    subscribers_.forget(server_id);
    latest_.erase(server_id);
}

} // namespace corvid::collector
