#pragma once
// Fan-out of live data to frontend sockets, per server. The hub holds subscribers by weak
// reference (a session that ends simply disappears), remembers each server's newest published
// sample (the snapshot a new subscriber gets, and the bar a sample must pass to be published: one
// not newer than it is a replay, stored but not live), and counts frontends for /health.
// A subscriber must never block the hub: deliver() only queues (see frontend_session).
// io thread only.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "collector/live/live_sample.hpp"

namespace corvid::collector {

class live_subscriber {
public:
    virtual ~live_subscriber() = default;
    virtual void deliver_sample(const live_sample_ptr& sample) = 0;
    virtual void deliver_status(const std::shared_ptr<const std::string>& status_message) = 0;
    virtual void close_going_away() = 0; // collector shutting down, or the server was deleted
};

class hub {
public:
    void join(const std::string& server_id, std::weak_ptr<live_subscriber> s);
    void leave(const std::string& server_id, const live_subscriber* s);

    // Publishes `sample` if it is newer than the newest published for that server; else ignores it.
    void publish_sample(const std::string& server_id, const live_sample_ptr& sample);
    void publish_status(const std::string& server_id, bool online, std::optional<std::int64_t> last_seen_ms);
    live_sample_ptr latest(const std::string& server_id) const;

    // The server was deleted: subscribers are closed and its state forgotten.
    void forget_server(const std::string& server_id);
    void close_all();
    std::size_t subscriber_count() const;

private:
    struct topic {
        std::vector<std::weak_ptr<live_subscriber>> subscribers;
        live_sample_ptr latest;
    };
    template <class F> void for_each(const std::string& server_id, F f);

    std::map<std::string, topic, std::less<>> topics_;
};

} // namespace corvid::collector
