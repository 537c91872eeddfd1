#include "collector/commands/command_dispatch.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "collector/commands/command_tracker.hpp"
#include "common/log.hpp"
#include "common/random.hpp"
#include "common/signing.hpp"
#include "common/time_format.hpp"
#include "proto/codec.hpp"
#include "proto/command_signing.hpp"

namespace corvid::collector {
namespace {

audit_record audit_line(const command_record& c, std::string actor, std::string address, std::string action,
                        std::string detail)
{
    audit_record a;
    a.at_ms = now_unix_ms();
    a.actor = std::move(actor);
    a.address = std::move(address);
    a.action = std::move(action);
    a.server_id = c.server_id;
    a.command_id = c.id;
    a.detail = std::move(detail);
    return a;
}

audit_record finished_line(const command_record& c, std::string actor, std::string detail)
{
    auto a = audit_line(c, std::move(actor), "", c.kind == "docker" ? "docker.finished" : "command.finished",
                        std::move(detail));
    if (c.status == "lost")
        a.action = "command.lost";
    a.status = c.status;
    a.exit_code = c.exit_code;
    a.duration_ms = c.duration_ms;
    a.output_sha256 = c.output_sha256;
    return a;
}

// Fills in the fields every signed command carries, signs it and encodes it for the agent.
template <class Message> std::string signed_frame(const app& a, const command_record& c, Message m)
{
    m.command_id = c.id;
    m.server_id = c.server_id;
    m.issued_by = c.issued_by;
    m.issued_at_ms = c.created_at_ms;
    m.expires_at_ms = c.created_at_ms + command_validity_ms;
    m.signature = base64_encode(sign_detached(proto::signing_payload(m), a.command_keys.secret_key));
    return proto::encode(m);
}

std::string signed_frame(const app& a, const command_record& c, const dispatch_request& req)
{
    if (c.kind == "docker") {
        proto::docker_command d;
        d.action = req.action;
        d.container_id = req.container_id;
        return signed_frame(a, c, std::move(d));
    }
    proto::command m;
    m.command = c.command;
    m.timeout_s = c.timeout_s;
    return signed_frame(a, c, std::move(m));
}
} // namespace

net::awaitable<dispatch_result> dispatch_command(app& a, const dispatch_request& req)
{
    dispatch_result result;
    const auto now = login_limiter::clock::now();
    if (auto wait = a.command_rate.retry_after(req.who.username, now)) {
        result.status = dispatch_status::rate_limited;
        result.retry_after_s = wait->count();
        co_return result;
    }
    if (a.commands.full()) {
        result.status = dispatch_status::too_many_in_flight;
        co_return result;
    }
    auto server = co_await a.store.read([&](storage& s) { return s.find_server(req.server_id); });
    if (!server) {
        result.status = dispatch_status::storage_error;
        result.storage_error = server.error();
        co_return result;
    }
    if (!*server) {
        result.status = dispatch_status::no_such_server;
        co_return result;
    }
    if (!a.agents.online(req.server_id)) {
        result.status = dispatch_status::agent_offline;
        co_return result;
    }
    a.command_rate.record_failure(req.who.username, now); // counts dispatches, not failures

    command_record c;
    c.id = uuid_v4();
    c.server_id = req.server_id;
    c.kind = req.kind;
    c.command = req.kind == "docker" ? req.action + " " + req.container_id : req.command;
    c.timeout_s = req.kind == "docker" ? 0 : req.timeout_s;
    c.issued_by = req.who.username;
    c.client_address = req.client_address;
    c.status = "pending";
    c.created_at_ms = now_unix_ms();
    // The audit line is committed before anything is sent: no command runs unrecorded.
    const auto dispatched = audit_line(c, c.issued_by, c.client_address,
                                       c.kind == "docker" ? "docker.dispatched" : "command.dispatched", c.command);
    auto added = co_await a.store.write([&](storage& s) { return s.add_command(c, dispatched); });
    if (!added) { // logged with the request by storage_failure
        result.status = dispatch_status::storage_error;
        result.storage_error = added.error();
        co_return result;
    }

    // The session may have ended while we waited for the commit.
    auto link = a.agents.find(req.server_id);
    const std::string frame = signed_frame(a, c, req);
    if (!link || !link->send_frame(frame)) {
        c.status = "lost";
        c.error = "the agent disconnected before the command could be sent";
        c.finished_at_ms = now_unix_ms();
        record_outcome(a, c, "collector", *c.error);
        result.status = dispatch_status::agent_offline;
        co_return result;
    }
    log::notice("{} {} dispatched to server {} by '{}' from {}: {}", c.kind == "docker" ? "docker action" : "command",
                c.id, c.server_id, c.issued_by, c.client_address, c.command);
    a.commands.start(c, link.get());
    net::co_spawn(
        a.io,
        [&a, id = c.id]() -> net::awaitable<void> {
            co_await a.store.write([&](storage& s) { return s.set_command_status(id, "running"); });
        },
        net::detached);
    result.status = dispatch_status::accepted;
    result.command_id = c.id;
    co_return result;
}

void record_outcome(app& a, command_record outcome, std::string actor, std::string detail)
{
    net::co_spawn(
        a.io,
        [&a, c = std::move(outcome), actor = std::move(actor), detail = std::move(detail)]() -> net::awaitable<void> {
            const auto line = finished_line(c, actor, detail);
            auto r = co_await a.store.write([&](storage& s) { return s.finish_command(c, line); });
            if (!r)
                log::error("cannot store the outcome of command {}: {}", c.id, r.error().message());
            log::notice("command {} on server {}: {}{}", c.id, c.server_id, c.status,
                        c.exit_code ? fmt::format(" (exit code {})", *c.exit_code) : std::string());
            a.commands.forget(c.id);
        },
        net::detached);
}

void record_late_result(app& a, std::string server_id, late_result result)
{
    net::co_spawn(
        a.io,
        [&a, server_id = std::move(server_id), result = std::move(result)]() -> net::awaitable<void> {
            const std::string id = std::visit([](const auto& r) { return r.command_id; }, result);
            auto found = co_await a.store.read([&](storage& s) { return s.find_command(id); });
            if (!found || !*found || (*found)->server_id != server_id || (*found)->status != "lost") {
                log::warn("agent of server {} sent a result for command {}, which is not its command in flight",
                          server_id, id);
                co_return;
            }
            command_record c = std::move(**found);
            if (const auto* r = std::get_if<proto::command_response>(&result))
                apply_response(c, *r);
            else
                apply_docker_response(c, std::get<proto::docker_response>(result));
            const auto line = finished_line(c, "agent", "result delivered after the command was declared lost");
            auto r = co_await a.store.write([&](storage& s) { return s.finish_command(c, line); });
            if (!r)
                log::error("cannot store the late result of command {}: {}", c.id, r.error().message());
        },
        net::detached);
}

} // namespace corvid::collector
