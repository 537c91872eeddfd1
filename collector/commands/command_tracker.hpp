#pragma once
// The commands in flight: which agent session each was sent on, the output that has arrived so
// far, and the live sockets watching it. A result from an agent is accepted only for a command
// that was sent to that same server (an agent cannot write into another server's command), and
// only once. When an agent's session ends, its commands in flight become lost.
// Bound: each command keeps at most max_buffered_output bytes of output for watchers that join
// late (what an agent may send is capped by its own policy anyway); beyond that, watchers that
// join late see the final output in the result instead. At most max_in_flight commands are
// tracked; dispatch refuses more.
// io thread only.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "collector/live/agent_registry.hpp"
#include "collector/storage/storage.hpp"
#include "proto/messages.hpp"

namespace corvid::collector {

// A live socket watching one command (/api/v1/ws/commands/{id}).
class command_watcher {
public:
    virtual ~command_watcher() = default;
    virtual void deliver(std::shared_ptr<const std::string> frame) = 0;
    // The command ended; `final_frame` (command_response or docker_response) was delivered last.
    virtual void command_ended() = 0;
};

class command_tracker {
public:
    static constexpr std::size_t max_buffered_output = 1 << 20;
    static constexpr std::size_t max_in_flight = 10000;

    bool full() const { return live_.size() >= max_in_flight; }
    void start(command_record record, const agent_link* link);
    bool tracking(const std::string& command_id) const { return live_.contains(command_id); }

    // From the agent session of `server_id`. Unknown ids, other servers' commands and finished
    // commands are ignored (false), so the session can log it.
    bool on_output(const std::string& server_id, const proto::command_output& out);
    // The outcome to store, or nullopt when the response is not for a command of this server in
    // flight. The command stays tracked (for watchers) until forget().
    std::optional<command_record> on_response(const std::string& server_id, const proto::command_response& r);
    std::optional<command_record> on_docker_response(const std::string& server_id, const proto::docker_response& r);
    // The agent session ended: each of its commands still running becomes lost (returned, to store).
    std::vector<command_record> on_link_closed(const agent_link* link);

    // After the outcome is stored: the command leaves the tracker and its watchers are released.
    void forget(const std::string& command_id);

    // Attaches a watcher: it first gets the output buffered so far (and the final frame if the
    // command already ended). False: the command is not in flight (read it from storage).
    bool watch(const std::string& command_id, const std::shared_ptr<command_watcher>& w);

private:
    struct live_command {
        command_record record;
        const agent_link* link = nullptr;
        std::vector<std::shared_ptr<const std::string>> frames; // command_output frames, in order
        std::size_t buffered = 0;
        bool buffer_full = false;
        std::shared_ptr<const std::string> final_frame;
        std::vector<std::weak_ptr<command_watcher>> watchers;
    };
    live_command* find_running(const std::string& server_id, const std::string& command_id);
    void finish(live_command& c, std::shared_ptr<const std::string> final_frame);
    void broadcast(live_command& c, const std::shared_ptr<const std::string>& frame);

    std::map<std::string, live_command, std::less<>> live_;
};

// The status a command ends with, from the agent's response (README, "Commands").
std::string_view status_of(const proto::command_response& r);
// Fill in a record's outcome from the agent's answer: status, exit code, output and its SHA-256,
// duration, finished_at.
void apply_response(command_record& rec, const proto::command_response& r);
void apply_docker_response(command_record& rec, const proto::docker_response& r);

} // namespace corvid::collector
