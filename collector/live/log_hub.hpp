#pragma once
// Live log entries on their way to logs sockets (PROTOCOL.md section 11.3), per server: the logs
// counterpart of hub.hpp. Only committed entries of batches stored for the first time are
// published, each encoded once and shared by every subscriber.
// Each subscriber filters (live_log_filter) and queues what passes in its own log_outbox, which is
// bounded: a subscriber that does not keep up loses entries (counted, then reported to it as
// {"type":"dropped","count":N}) and never slows the agent, the store or other subscribers.
// io thread only.
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "collector/live/watchers.hpp"
#include "collector/storage/log_search.hpp"
#include "collector/storage/storage.hpp"
#include "proto/codec.hpp"

namespace corvid::collector {

// One committed log entry with its storage id and its frontend frame.
class live_log {
public:
    live_log(std::int64_t id, proto::log_entry entry);

    std::int64_t id() const { return id_; }
    int level() const { return level_; }
    const proto::log_entry& entry() const { return entry_; }
    // {"type":"log","data":{…}}
    const std::shared_ptr<const std::string>& frame() const { return frame_; }
    // The message with ASCII letters lowered, made on first use and kept for the next subscriber.
    std::string_view lowered_message() const;

private:
    std::int64_t id_;
    int level_;
    proto::log_entry entry_;
    std::shared_ptr<const std::string> frame_;
    mutable std::optional<std::string> lowered_;
};

using live_log_ptr = std::shared_ptr<const live_log>;

// What a logs socket subscribed to; the same filter selects its history from storage.
struct live_log_filter {
    int min_level = 0;
    std::optional<log_search> search;
    std::optional<std::string> source;

    bool matches(const live_log& e) const;
    // For query_logs: the same conditions.
    log_filter storage_filter() const;
};

// A subscriber's bounded queue of entries to send.
// Policy when full (max_entries, or max_bytes of frames; one entry is always taken into an empty
// queue however large): the entry is counted, not queued, and so is every later one until the
// queue has drained completely; then pop() yields {"type":"dropped","count":N} and queuing resumes.
// So the reader sees one marker exactly where the entries are missing.
class log_outbox {
public:
    struct limits {
        std::size_t max_entries = 1000;
        std::size_t max_bytes = 1 << 20;
    };
    log_outbox() : log_outbox(limits{}) {}
    explicit log_outbox(limits l) : limits_(l) {}

    // false: dropped (counted).
    bool push(live_log_ptr e);
    // The next frame to send, or null when there is none.
    std::shared_ptr<const std::string> pop();
    bool has_frame() const { return !queue_.empty() || dropped_ > 0; }
    // A new subscription: what was queued for the old one, and its drop count, are forgotten.
    void clear();
    // Removes queued entries with id <= max_id (already sent as history).
    void drop_up_to(std::int64_t max_id);
    std::size_t size() const { return queue_.size(); }
    std::size_t bytes() const { return bytes_; }
    std::uint64_t dropped() const { return dropped_; }

private:
    limits limits_;
    std::deque<live_log_ptr> queue_;
    std::size_t bytes_ = 0;
    std::uint64_t dropped_ = 0; // counted since the queue last overflowed; > 0 while overflowing
};

class log_subscriber {
public:
    virtual ~log_subscriber() = default;
    // New entries of the subscribed server, in commit order. Must only filter and queue.
    virtual void deliver_logs(const std::vector<live_log_ptr>& entries) = 0;
};

class log_hub {
public:
    void join(const std::string& server_id, std::weak_ptr<log_subscriber> s) { subscribers_.join(server_id, std::move(s)); }
    void leave(const std::string& server_id, const log_subscriber* s) { subscribers_.leave(server_id, s); }
    // Whether publishing for this server reaches anyone (saves encoding entries nobody reads).
    bool has_subscribers(const std::string& server_id) const { return subscribers_.any(server_id); }
    void publish(const std::string& server_id, const std::vector<live_log_ptr>& entries);
    // The server was deleted (presence closes its sockets).
    void forget_server(const std::string& server_id) { subscribers_.forget(server_id); }
    std::size_t subscriber_count() const { return subscribers_.count(); }

private:
    watchers_by_server<log_subscriber> subscribers_;
};

} // namespace corvid::collector
