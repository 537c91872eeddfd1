#pragma once
// Receives the collector's command and docker_command messages and answers each exactly once:
// refused (disabled, bad signature, wrong server, expired, replayed, not allowed, busy) or run.
// Shell commands run as child processes (shell_runner) while their output streams back as
// command_output; Docker actions go to the Engine API. Nothing here blocks: every command is its
// own coroutine on the io thread, so metrics keep flowing while commands run.
// Every command received is logged locally with its verdict; its text and issuer only once its
// signature has verified (issue 12.4): before that nothing it says is believed, so the log names
// only its id and why it was refused.
// Each verified command's id is recorded durably (replay_store) before the command goes any
// further, so a restart does not reopen the replay window (issue 12.3).
// io thread only. stop() kills running commands' process groups; they still answer (if the link
// is up) before their coroutines end. Destroy the dispatcher only after its commands have ended
// (running() == 0): their coroutines refer to it.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>

#include "agent/commands/command_guard.hpp"
#include "agent/commands/command_policy.hpp"
#include "agent/commands/replay_store.hpp"
#include "agent/commands/shell_runner.hpp"
#include "proto/messages.hpp"

namespace corvid::agent {

namespace net = boost::asio;

namespace docker {
class docker_client;
}

class command_dispatcher {
public:
    // `send(frame, droppable)`: hands a frame to the uplink. Output chunks are droppable (the final
    // response repeats the output); responses are not.
    using send_fn = std::function<void(std::string frame, bool droppable)>;

    // `command_ids_file`: where the remembered ids are kept (replay_store), read here — blocking,
    // so construct at start-up; "" keeps them in memory only (tests).
    command_dispatcher(net::any_io_executor ex, remote_policy policy, std::optional<run_as_identity> run_as,
                       send_fn send, std::string command_ids_file = {});
    ~command_dispatcher();

    void set_docker(docker::docker_client* client) { docker_ = client; } // nullptr: docker disabled
    // The server id the collector's auth_success reported. Never trusted for shell commands: they
    // must be addressed to policy.server_id, and while the two differ every command and Docker
    // action is refused (logged as an error once per connection). Docker actions on an agent
    // without server_id are addressed to this one, as before.
    void on_authenticated(const std::string& server_id);

    void on_command(const proto::command& c);
    void on_docker_command(const proto::docker_command& c);

    void stop();
    std::size_t running() const { return running_shell_ + running_docker_ + recording_; }

private:
    net::awaitable<void> admitted_command(proto::command c);
    net::awaitable<void> admitted_docker_action(proto::docker_command c);
    net::awaitable<void> run_shell_command(proto::command c, shell_limits limits);
    net::awaitable<void> run_docker_action(proto::docker_command c);
    // Records the guard's ids durably before a command goes on; the refusal when that failed.
    net::awaitable<std::optional<refused>> record_ids();
    std::optional<refused> target_problem(bool shell) const;
    void refuse_command(const std::string& command_id, const refused& why);
    void refuse_docker(const std::string& command_id, const refused& why);
    void spawn(net::awaitable<void> work);

    net::any_io_executor ex_;
    remote_policy policy_;
    std::optional<run_as_identity> run_as_;
    send_fn send_;
    command_guard guard_;
    std::unique_ptr<replay_store> store_; // null: ids in memory only
    std::string authenticated_id_;        // from auth_success: compared, never trusted
    docker::docker_client* docker_ = nullptr;
    std::size_t running_shell_ = 0, running_docker_ = 0;
    std::size_t recording_ = 0; // admitted commands whose id is not yet recorded
    // One signal per running command, so stop() can cancel each; an entry lives as long as its
    // coroutine.
    std::list<net::cancellation_signal> cancels_;
    bool stopping_ = false;
};

// Cuts a response's output until its encoding fits one frame (PROTOCOL.md: 1 MiB), marking it
// truncated. Binary output can grow sixfold when escaped, so the byte cap alone does not ensure it.
void fit_in_frame(proto::command_response& r);

} // namespace corvid::agent
