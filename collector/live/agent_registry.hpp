#pragma once
// The agent connections that are live right now, one per server. A server is "online" while its
// agent has a session here. A second connection with the same key replaces the first (the first is
// usually a half-open leftover of a restarted agent). Key rotation and deletion close a server's
// session through this registry; shutdown closes it through the connection group.
// io thread only.
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace corvid::collector {

class agent_link {
public:
    virtual ~agent_link() = default;
    // Ends the session: close code 1008 with `reason` (key rotated, server deleted, replaced).
    virtual void close_policy(std::string reason) = 0;
    virtual std::int64_t last_seen_ms() const = 0;
    // Queues a frame for the agent (a signed command). False when the session is closing or its
    // queue is full; the frame was not queued.
    virtual bool send_frame(std::string frame) = 0;
};

class agent_registry {
public:
    // Registers the live session of `server_id`, closing any session it replaces.
    void add(const std::string& server_id, std::weak_ptr<agent_link> link);
    // Removes the session if it is still the registered one.
    void remove(const std::string& server_id, const agent_link* link);
    bool online(const std::string& server_id) const;
    std::shared_ptr<agent_link> find(const std::string& server_id) const;
    std::optional<std::int64_t> last_seen_ms(const std::string& server_id) const;
    void close(const std::string& server_id, const std::string& reason);
    std::size_t count() const { return links_.size(); }

private:
    std::map<std::string, std::weak_ptr<agent_link>, std::less<>> links_;
};

} // namespace corvid::collector
