#pragma once
// Who watches which server: every operator socket about one server (metrics, logs, and the
// dialects to come) is here while it is open, whatever data it subscribes to. Presence tells
// them when the server's agent comes and goes (status), closes them when the server is deleted,
// and counts them (/health). The data itself comes from the hubs (hub.hpp for samples,
// log_hub.hpp for log entries), which need not know every socket.
// Held by weak reference: a socket that ends simply disappears. A watcher must never block:
// deliver_status() only queues.
// io thread only.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "collector/live/watchers.hpp"

namespace corvid::collector {

class server_watcher {
public:
    virtual ~server_watcher() = default;
    virtual void deliver_status(const std::shared_ptr<const std::string>& status_message) = 0;
    // The server was deleted: the socket says so and closes (1008, PROTOCOL.md section 10).
    virtual void close_server_deleted() = 0;
};

class presence {
public:
    void join(const std::string& server_id, std::weak_ptr<server_watcher> w) { watchers_.join(server_id, std::move(w)); }
    void leave(const std::string& server_id, const server_watcher* w) { watchers_.leave(server_id, w); }

    void publish_status(const std::string& server_id, bool online, std::optional<std::int64_t> last_seen_ms);
    // Closes the server's watchers and forgets them.
    void forget_server(const std::string& server_id);
    std::size_t watcher_count() const { return watchers_.count(); }

private:
    watchers_by_server<server_watcher> watchers_;
};

} // namespace corvid::collector
