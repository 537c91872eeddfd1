#pragma once
// Fan-out of live samples to the sockets that subscribe to them, per server. The hub holds
// subscribers by weak reference (a session that ends simply disappears) and remembers each
// server's newest published sample (the snapshot a new subscriber gets, and the bar a sample must
// pass to be published: one not newer than it is a replay, stored but not live). Status, closing
// and counting every operator socket are presence's (presence.hpp).
// A subscriber must never block the hub: deliver_sample() only queues (see frontend_session).
// io thread only.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "collector/live/live_sample.hpp"
#include "collector/live/watchers.hpp"

namespace corvid::collector {

class live_subscriber {
public:
    virtual ~live_subscriber() = default;
    virtual void deliver_sample(const live_sample_ptr& sample) = 0;
};

class hub {
public:
    void join(const std::string& server_id, std::weak_ptr<live_subscriber> s) { subscribers_.join(server_id, std::move(s)); }
    void leave(const std::string& server_id, const live_subscriber* s) { subscribers_.leave(server_id, s); }

    // Publishes `sample` if it is newer than the newest published for that server; else ignores it.
    void publish_sample(const std::string& server_id, const live_sample_ptr& sample);
    live_sample_ptr latest(const std::string& server_id) const;

    // The server was deleted: its subscribers and newest sample are forgotten (presence closes
    // the sockets).
    void forget_server(const std::string& server_id);
    std::size_t subscriber_count() const { return subscribers_.count(); }

private:
    watchers_by_server<live_subscriber> subscribers_;
    std::map<std::string, live_sample_ptr, std::less<>> latest_;
};

} // namespace corvid::collector
