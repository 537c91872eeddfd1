#pragma once
// Receives the collector's command and docker_command messages and answers each exactly once:
// refused (disabled, bad signature, wrong server, expired, replayed, not allowed, busy) or run.
// Shell commands run as child processes (shell_runner) while their output streams back as
// command_output; Docker actions go to the Engine API. Nothing here blocks: every command is its
// own coroutine on the io thread, so metrics keep flowing while commands run.
// Every command received is logged locally with its issuer and verdict.
// io thread only. stop() kills running commands' process groups; they still answer (if the link
// is up) before their coroutines end. Destroy the dispatcher only after its commands have ended
// (running() == 0): their coroutines refer to it.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <functional>
#include <list>
#include <optional>
#include <string>

#include "agent/commands/command_guard.hpp"
#include "agent/commands/command_policy.hpp"
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

    command_dispatcher(net::any_io_executor ex, remote_policy policy, std::optional<run_as_identity> run_as,
                       send_fn send);
    ~command_dispatcher();

    void set_docker(docker::docker_client* client) { docker_ = client; } // nullptr: docker disabled
    void set_server_id(std::string id) { guard_.set_server_id(std::move(id)); }

    void on_command(const proto::command& c);
    void on_docker_command(const proto::docker_command& c);

    void stop();
    std::size_t running() const { return running_shell_ + running_docker_; }

private:
    net::awaitable<void> run_shell_command(proto::command c, shell_limits limits);
    net::awaitable<void> run_docker_action(proto::docker_command c);
    void refuse_command(const std::string& command_id, const refused& why);
    void refuse_docker(const std::string& command_id, const refused& why);
    void spawn(net::awaitable<void> work);

    net::any_io_executor ex_;
    remote_policy policy_;
    std::optional<run_as_identity> run_as_;
    send_fn send_;
    command_guard guard_;
    docker::docker_client* docker_ = nullptr;
    std::size_t running_shell_ = 0, running_docker_ = 0;
    // One signal per running command, so stop() can cancel each; an entry lives as long as its
    // coroutine.
    std::list<net::cancellation_signal> cancels_;
    bool stopping_ = false;
};

// Cuts a response's output until its encoding fits one frame (PROTOCOL.md: 1 MiB), marking it
// truncated. Binary output can grow sixfold when escaped, so the byte cap alone does not ensure it.
void fit_in_frame(proto::command_response& r);

} // namespace corvid::agent
