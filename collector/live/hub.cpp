#include "collector/live/hub.hpp"

#include <algorithm>

#include "proto/codec.hpp"

namespace corvid::collector {

void hub::join(const std::string& server_id, std::weak_ptr<live_subscriber> s)
{
    topics_[server_id].subscribers.push_back(std::move(s));
}

void hub::leave(const std::string& server_id, const live_subscriber* s)
{
    auto it = topics_.find(server_id);
    if (it == topics_.end())
        return;
    auto& subs = it->second.subscribers;
    std::erase_if(subs, [s](const std::weak_ptr<live_subscriber>& w) {
        auto p = w.lock();
        return !p || p.get() == s;
    });
    if (subs.empty() && !it->second.latest)
        topics_.erase(it);
}

template <class F> void hub::for_each(const std::string& server_id, F f)
{
    auto it = topics_.find(server_id);
    if (it == topics_.end())
        return;
    // Copy first: a delivery may end a session, which calls leave() and edits the list.
    std::vector<std::shared_ptr<live_subscriber>> live;
    for (auto& w : it->second.subscribers)
        if (auto p = w.lock())
            live.push_back(std::move(p));
    for (auto& p : live)
        f(*p);
}

void hub::publish_sample(const std::string& server_id, const live_sample_ptr& sample)
{
    auto& t = topics_[server_id];
    // Only a sample newer than every one published before is live. After a reconnect the agent
    // sends its live samples first and then replays its backlog (older timestamps): those are
    // stored, and are history for frontends (REST, subscribe's history_s), not live updates.
    if (t.latest && sample->timestamp_ms() <= t.latest->timestamp_ms())
        return;
    t.latest = sample;
    for_each(server_id, [&](live_subscriber& s) { s.deliver_sample(sample); });
}

void hub::publish_status(const std::string& server_id, bool online, std::optional<std::int64_t> last_seen_ms)
{
    auto msg = std::make_shared<const std::string>(proto::encode_status(online, last_seen_ms));
    for_each(server_id, [&](live_subscriber& s) { s.deliver_status(msg); });
}

live_sample_ptr hub::latest(const std::string& server_id) const
{
    auto it = topics_.find(server_id);
    return it == topics_.end() ? nullptr : it->second.latest;
}

void hub::forget_server(const std::string& server_id)
{
    for_each(server_id, [](live_subscriber& s) { s.close_going_away(); });
    topics_.erase(server_id);
}

void hub::close_all()
{
    std::vector<std::string> ids;
    for (auto& [id, t] : topics_)
        ids.push_back(id);
    for (auto& id : ids)
        for_each(id, [](live_subscriber& s) { s.close_going_away(); });
}

std::size_t hub::subscriber_count() const
{
    std::size_t n = 0;
    for (const auto& [id, t] : topics_)
        n += static_cast<std::size_t>(
            std::count_if(t.subscribers.begin(), t.subscribers.end(), [](const auto& w) { return !w.expired(); }));
    return n;
}

} // namespace corvid::collector
