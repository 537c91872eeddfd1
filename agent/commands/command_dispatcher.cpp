#include "agent/commands/command_dispatcher.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>

#include "agent/docker/docker_client.hpp"
#include "agent/docker/docker_api.hpp"
#include "common/log.hpp"
#include "common/time_format.hpp"
#include "proto/codec.hpp"
#include "proto/command_signing.hpp"

namespace corvid::agent {
namespace {
constexpr std::size_t max_docker_in_flight = 4;
constexpr std::size_t frame_margin = 1024;

signed_envelope envelope_of(const auto& c, const std::string& payload)
{
    return {c.command_id, c.server_id, payload, c.signature, c.issued_at_ms, c.expires_at_ms};
}
} // namespace

void fit_in_frame(proto::command_response& r)
{
    for (;;) {
        const auto size = proto::encode(r).size();
        if (size + frame_margin <= proto::max_frame_bytes)
            return;
        // Keep the share of the output that fits, assuming the rest escapes like the whole did, with
        // 5% to spare; always shorter than before, so the loop ends.
        const double share = static_cast<double>(proto::max_frame_bytes - frame_margin) / static_cast<double>(size);
        const auto keep = static_cast<std::size_t>(static_cast<double>(r.output.size()) * share * 0.95);
        r.output.resize(std::min(keep, r.output.empty() ? 0 : r.output.size() - 1));
        r.truncated = true;
    }
}

command_dispatcher::command_dispatcher(net::any_io_executor ex, remote_policy policy,
                                       std::optional<run_as_identity> run_as, send_fn send,
                                       std::string command_ids_file)
    : ex_(std::move(ex)), policy_(std::move(policy)), run_as_(std::move(run_as)), send_(std::move(send)),
      guard_(policy_.collector_public_key)
{
    guard_.set_server_id(policy_.server_id);
    if (command_ids_file.empty())
        return;
    store_ = std::make_unique<replay_store>(std::move(command_ids_file));
    auto loaded = store_->load();
    const auto now = now_unix_ms();
    if (loaded.unreadable) {
        // Any id in it might be replayed now; which ones is unknown, so refuse everything until
        // every command the previous run could have admitted has expired.
        const auto until = now + command_guard::replay_window_ms;
        log::error("the remembered command ids in {} cannot be trusted ({}): every command and Docker action is "
                   "refused until {} so that none seen before this start can be replayed; the next command admitted "
                   "after that rewrites the file",
                   store_->path(), *loaded.unreadable, format_iso8601_ms(until));
        guard_.refuse_until(until, fmt::format("the remembered command ids in {} could not be read at start",
                                               store_->path()));
        return;
    }
    guard_.restore(std::move(loaded.ids), now);
    if (guard_.remembered() > 0)
        log::info("{} command ids remembered from before the restart are refused as replays until they expire",
                  guard_.remembered());
}

command_dispatcher::~command_dispatcher() = default;

void command_dispatcher::stop()
{
    stopping_ = true;
    for (auto& s : cancels_)
        s.emit(net::cancellation_type::terminal);
}

void command_dispatcher::spawn(net::awaitable<void> work)
{
    auto it = cancels_.emplace(cancels_.end());
    net::co_spawn(ex_, std::move(work),
                  net::bind_cancellation_slot(it->slot(), [this, it](std::exception_ptr e) {
                      cancels_.erase(it);
                      if (e) {
                          try {
                              std::rethrow_exception(e);
                          } catch (const std::exception& ex) {
                              log::error("command coroutine failed: {}", ex.what());
                          }
                      }
                  }));
}

void command_dispatcher::refuse_command(const std::string& command_id, const refused& why)
{
    log::warn("command {} refused ({}): {}", command_id, refusal_name(why.code), why.reason);
    proto::command_response r;
    r.command_id = command_id;
    r.exit_code = -1;
    r.error = std::string(refusal_name(why.code));
    r.message = why.reason;
    send_(proto::encode(r), false);
}

void command_dispatcher::refuse_docker(const std::string& command_id, const refused& why)
{
    log::warn("docker action {} refused ({}): {}", command_id, refusal_name(why.code), why.reason);
    proto::docker_response r;
    r.command_id = command_id;
    r.success = false;
    r.message = why.reason;
    r.error = std::string(refusal_name(why.code));
    send_(proto::encode(r), false);
}

void command_dispatcher::on_authenticated(const std::string& server_id)
{
    authenticated_id_ = server_id;
    if (!policy_.server_id.empty() && server_id != policy_.server_id)
        log::error("the collector authenticated this agent as server {}, but server_id in its config is {}: every "
                   "command and Docker action is refused until they agree (metrics still flow); check the "
                   "config's server_id against the collector's (GET /api/v1/servers)",
                   server_id, policy_.server_id);
    // Docker actions on an agent configured without server_id keep using the authenticated id.
    guard_.set_server_id(policy_.server_id.empty() ? server_id : policy_.server_id);
}

std::optional<refused> command_dispatcher::target_problem(bool shell) const
{
    if (shell && policy_.server_id.empty())
        return refused{refusal::denied, "server_id is not set in this agent's config"};
    if (!policy_.server_id.empty() && !authenticated_id_.empty() && authenticated_id_ != policy_.server_id)
        return refused{refusal::denied, fmt::format("the collector authenticated this agent as server {}, but its "
                                                    "config says server_id {}",
                                                    authenticated_id_, policy_.server_id)};
    return std::nullopt;
}

net::awaitable<std::optional<refused>> command_dispatcher::record_ids()
{
    // recording_ was counted up when the command was admitted (on_command), so running() never
    // misses a command between its admission and its start.
    if (!store_) {
        --recording_;
        co_return std::nullopt;
    }
    auto ec = co_await store_->save(guard_.ids());
    --recording_;
    if (ec)
        co_return refused{refusal::busy, fmt::format("cannot record the command id in {} ({}); refused rather than "
                                                     "risk its replay after a restart",
                                                     store_->path(), ec.message())};
    co_return std::nullopt;
}

void command_dispatcher::on_command(const proto::command& c)
{
    // Issue 12.4: nothing but the id until the signature has verified.
    log::notice("command {} received from the collector", c.command_id);
    const auto& p = policy_.commands;
    if (!p.enabled || stopping_) {
        refuse_command(c.command_id, {refusal::disabled, stopping_ ? "the agent is stopping"
                                                                   : "commands are disabled in this agent's config"});
        return;
    }
    if (auto no = target_problem(true)) {
        refuse_command(c.command_id, *no);
        return;
    }
    const auto payload = proto::signing_payload(c);
    if (auto no = guard_.admit(envelope_of(c, payload), now_unix_ms())) {
        refuse_command(c.command_id, *no);
        return;
    }
    // Admitted: the id is in the guard's memory now, so a replay arriving while it is recorded
    // is refused already.
    ++recording_;
    spawn(admitted_command(c));
}

net::awaitable<void> command_dispatcher::admitted_command(proto::command c)
{
    // Stopping is handled below, not by an exception at the next co_await.
    co_await net::this_coro::throw_if_cancelled(false);
    const auto no = co_await record_ids(); // not inside the condition: README, GCC 12 and coroutines
    if (no) {
        refuse_command(c.command_id, *no);
        co_return;
    }
    log::notice("command {} verified, issued by '{}': {}", c.command_id, c.issued_by, c.command);
    const auto& p = policy_.commands;
    if (stopping_) {
        refuse_command(c.command_id, {refusal::disabled, "the agent is stopping"});
        co_return;
    }
    // Issue 12.1: a control character refuses the command whatever the patterns say.
    if (auto problem = unsafe_command_text(c.command)) {
        refuse_command(c.command_id, {refusal::denied, fmt::format("the command {}", *problem)});
        co_return;
    }
    const auto* pattern = p.allowing(c.command);
    if (!pattern) {
        refuse_command(c.command_id, {refusal::denied, "the command matches no allow pattern in this agent's config"});
        co_return;
    }
    if (running_shell_ >= p.max_concurrent) {
        refuse_command(c.command_id,
                       {refusal::busy, fmt::format("{} commands are already running (max_concurrent)", running_shell_)});
        co_return;
    }
    shell_limits limits;
    limits.timeout = std::chrono::seconds(std::min(c.timeout_s, p.max_timeout_s));
    limits.output_cap_bytes = p.output_cap_bytes;
    limits.run_as = run_as_;
    log::notice("command {} allowed by pattern \"{}\"; running with a {} s timeout", c.command_id, pattern->source(),
                limits.timeout.count());
    ++running_shell_;
    co_await run_shell_command(std::move(c), std::move(limits));
}

net::awaitable<void> command_dispatcher::run_shell_command(proto::command c, shell_limits limits)
{
    const std::string id = c.command_id;
    auto sink = [this, &id](std::string_view stream, std::string_view data) {
        proto::command_output out{id, std::string(stream), std::string(data)};
        send_(proto::encode(out), true);
    };
    const std::string command = c.command;
    auto result = co_await run_shell(command, limits, sink);
    --running_shell_;

    proto::command_response r;
    r.command_id = id;
    r.output = std::move(result.output);
    r.exit_code = result.error.empty() ? result.exit_code : -1;
    r.duration_ms = result.duration_ms;
    r.truncated = result.truncated;
    r.timed_out = result.timed_out;
    if (!result.error.empty())
        r.message = result.error;
    fit_in_frame(r);
    log::notice("command {} finished: exit code {}{}, {} ms, {} bytes of output{}", id, r.exit_code,
                r.timed_out ? " (timed out)" : "", r.duration_ms, r.output.size(), r.truncated ? " (truncated)" : "");
    send_(proto::encode(r), false);
}

void command_dispatcher::on_docker_command(const proto::docker_command& c)
{
    // Issue 12.4: nothing but the id until the signature has verified.
    log::notice("docker action {} received from the collector", c.command_id);
    const auto& p = policy_.docker;
    if (!p.enabled || !docker_ || stopping_) {
        refuse_docker(c.command_id, {refusal::disabled, "Docker actions are disabled in this agent's config"});
        return;
    }
    if (auto no = target_problem(false)) {
        refuse_docker(c.command_id, *no);
        return;
    }
    const auto payload = proto::signing_payload(c);
    if (auto no = guard_.admit(envelope_of(c, payload), now_unix_ms())) {
        refuse_docker(c.command_id, *no);
        return;
    }
    ++recording_;
    spawn(admitted_docker_action(c));
}

net::awaitable<void> command_dispatcher::admitted_docker_action(proto::docker_command c)
{
    co_await net::this_coro::throw_if_cancelled(false);
    const auto no = co_await record_ids(); // not inside the condition: README, GCC 12 and coroutines
    if (no) {
        refuse_docker(c.command_id, *no);
        co_return;
    }
    log::notice("docker action {} verified, issued by '{}': {} {}", c.command_id, c.issued_by, c.action,
                c.container_id);
    if (stopping_) {
        refuse_docker(c.command_id, {refusal::disabled, "the agent is stopping"});
        co_return;
    }
    if (!policy_.docker.allows(c.action)) {
        refuse_docker(c.command_id,
                      {refusal::denied, fmt::format("the action \"{}\" is not in docker.actions", c.action)});
        co_return;
    }
    if (running_docker_ >= max_docker_in_flight) {
        refuse_docker(c.command_id, {refusal::busy, "too many Docker actions in flight"});
        co_return;
    }
    ++running_docker_;
    co_await run_docker_action(std::move(c));
}

net::awaitable<void> command_dispatcher::run_docker_action(proto::docker_command c)
{
    const std::string action = c.action, container = c.container_id;
    auto outcome = co_await docker_->run_action(action, container);
    --running_docker_;
    log::notice("docker action {} ({} {}): {}", c.command_id, action, container, outcome.message);
    proto::docker_response r{c.command_id, outcome.success, outcome.message, std::nullopt};
    if (outcome.refused)
        r.error = "denied"; // the id or action was not acceptable; Docker was not asked
    send_(proto::encode(r), false);
}

} // namespace corvid::agent
