#include "collector/live/agent_registry.hpp"

#include <vector>

namespace corvid::collector {

void agent_registry::add(const std::string& server_id, std::weak_ptr<agent_link> link)
{
    auto& slot = links_[server_id];
    auto previous = slot.lock();
    slot = std::move(link);
    if (previous)
        previous->close_policy("replaced by a newer connection for the same server");
}

void agent_registry::remove(const std::string& server_id, const agent_link* link)
{
    auto it = links_.find(server_id);
    if (it == links_.end())
        return;
    auto current = it->second.lock();
    if (!current || current.get() == link)
        links_.erase(it);
}

bool agent_registry::online(const std::string& server_id) const
{
    auto it = links_.find(server_id);
    return it != links_.end() && !it->second.expired();
}

std::shared_ptr<agent_link> agent_registry::find(const std::string& server_id) const
{
    auto it = links_.find(server_id);
    return it == links_.end() ? nullptr : it->second.lock();
}

std::optional<std::int64_t> agent_registry::last_seen_ms(const std::string& server_id) const
{
    auto it = links_.find(server_id);
    if (it == links_.end())
        return std::nullopt;
    if (auto p = it->second.lock())
        return p->last_seen_ms();
    return std::nullopt;
}

void agent_registry::close(const std::string& server_id, const std::string& reason)
{
    auto it = links_.find(server_id);
    if (it == links_.end())
        return;
    if (auto p = it->second.lock())
        p->close_policy(reason);
}

} // namespace corvid::collector
