#pragma once
// Sockets by server id, held by weak reference: a session that ends simply disappears, and one
// that leaves is dropped at once. The registry that presence and the hubs share; what they send
// the sockets is theirs.
// io thread only.
#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace corvid::collector {

template <class Watcher> class watchers_by_server {
public:
    void join(const std::string& server_id, std::weak_ptr<Watcher> w) { by_server_[server_id].push_back(std::move(w)); }

    void leave(const std::string& server_id, const Watcher* w)
    {
        auto it = by_server_.find(server_id);
        if (it == by_server_.end())
            return;
        std::erase_if(it->second, [w](const std::weak_ptr<Watcher>& weak) {
            auto p = weak.lock();
            return !p || p.get() == w;
        });
        if (it->second.empty())
            by_server_.erase(it);
    }

    // The live ones, as a copy: a delivery may end a session, which calls leave() and edits the list.
    std::vector<std::shared_ptr<Watcher>> live(std::string_view server_id) const
    {
        std::vector<std::shared_ptr<Watcher>> out;
        auto it = by_server_.find(server_id);
        if (it == by_server_.end())
            return out;
        for (const auto& weak : it->second)
            if (auto p = weak.lock())
                out.push_back(std::move(p));
        return out;
    }

    bool any(std::string_view server_id) const
    {
        auto it = by_server_.find(server_id);
        return it != by_server_.end()
               && std::any_of(it->second.begin(), it->second.end(), [](const auto& w) { return !w.expired(); });
    }

    void forget(std::string_view server_id)
    {
        if (auto it = by_server_.find(server_id); it != by_server_.end())
            by_server_.erase(it);
    }

    std::size_t count() const
    {
        std::size_t n = 0;
        for (const auto& [id, list] : by_server_)
            n += static_cast<std::size_t>(
                std::count_if(list.begin(), list.end(), [](const auto& w) { return !w.expired(); }));
        return n;
    }

private:
    std::map<std::string, std::vector<std::weak_ptr<Watcher>>, std::less<>> by_server_;
};

} // namespace corvid::collector
