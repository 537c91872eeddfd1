#include "collector/sessions/agent_session.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "collector/auth/api_key.hpp"
#include "collector/commands/command_dispatch.hpp"
#include "collector/limits/rate_limit.hpp"
#include "collector/sessions/refuse.hpp"
#include "common/deadline.hpp"
#include "common/log.hpp"
#include "common/time_format.hpp"
#include "proto/codec.hpp"

namespace corvid::collector {
namespace {
constexpr auto auth_deadline = std::chrono::seconds(10);
// Acks, errors and signed commands: an agent 4096 frames or 16 MiB behind is not reading.
// agent_message_rate closes at the first refusal (see there why).
constexpr session_limits agent_limits{.max_frames = 4096,
                                      .max_bytes = 16 * 1024 * 1024,
                                      .rate = &agent_message_rate,
                                      .on_rate_close = close_mode::drain,
                                      .at_shutdown = close_mode::drain};

// Why a sample or log entry taken at `timestamp_ms` is not stored, if it is not: more than
// proto::max_clock_ahead_ms ahead of this clock, or older than the retention would keep.
std::optional<std::string> out_of_range(std::int64_t timestamp_ms, std::int64_t retention_days)
{
    const auto now = now_unix_ms();
    if (timestamp_ms > now + proto::max_clock_ahead_ms)
        return fmt::format("its timestamp {} is more than {} s ahead of the collector's clock ({}); check the agent's clock",
                           format_iso8601_ms(timestamp_ms), proto::max_clock_ahead_ms / 1000, format_iso8601_ms(now));
    if (timestamp_ms < now - retention_days * 86'400'000)
        return fmt::format("its timestamp {} is older than the retention of {} days", format_iso8601_ms(timestamp_ms),
                           retention_days);
    return std::nullopt;
}

void record_seen(app& a, std::string id, std::int64_t when, std::string hostname, std::string version)
{
    net::co_spawn(
        a.io,
        [&a, id = std::move(id), when, hostname = std::move(hostname), version = std::move(version)]() -> net::awaitable<void> {
            auto r = co_await a.store.write([&](storage& s) { return s.record_agent_seen(id, when, hostname, version); });
            if (!r)
                log::warn("recording last_seen of server {} failed: {}", id, r.error().message());
        },
        net::detached);
}
} // namespace

agent_session::agent_session(app& a, std::unique_ptr<ws_connection> conn)
    : ws_session(a.io, std::move(conn), a.connections, agent_limits), app_(a)
{
    set_label(fmt::format("agent connection from {}", connection().remote_address()));
}

bool agent_session::send_frame(std::string frame) { return offer(make_frame(std::move(frame))); }

void agent_session::reject(std::string code, std::string message)
{
    log::warn("{}: {}: {}", label(), code, message);
    send_error(std::move(code), std::move(message));
}

void agent_session::request_close(std::uint16_t code, std::string reason)
{
    close(code, std::move(reason), close_mode::drain);
}

void agent_session::close_policy(std::string reason)
{
    log::info("closing agent session of server {}: {}", server_id_, reason);
    request_close(close_code::policy_violation, std::move(reason));
}

net::awaitable<bool> agent_session::authenticate()
{
    auto first = co_await read_first_frame(auth_deadline, "invalid_message",
                                           "the first frame must be {\"type\":\"auth\",…}");
    if (!first)
        co_return false;
    auto msg = proto::decode_from_agent(*first);
    if (!msg) {
        log::warn("agent connection from {}: invalid first frame: {}", connection().remote_address(), msg.error().message);
        co_await refuse_and_close(connection(), "invalid_message", msg.error().message);
        co_return false;
    }
    auto* auth = std::get_if<proto::auth_request>(&*msg);
    if (!auth) {
        co_await refuse_and_close(connection(), "invalid_message", "the first frame must be {\"type\":\"auth\",…}");
        co_return false;
    }
    std::optional<server_record> server;
    if (looks_like_api_key(auth->api_key)) {
        const auto hash = hash_api_key(auth->api_key);
        auto found = co_await app_.store.read([&](storage& s) { return s.find_server_by_key_hash(hash); });
        if (!found) {
            log::error("agent authentication from {}: storage error: {}", connection().remote_address(), found.error().message());
            co_await refuse_and_close(connection(), "internal_error", "storage unavailable, try again later");
            co_return false;
        }
        server = std::move(*found);
    }
    if (!server) {
        // The key itself is never logged.
        log::warn("agent authentication failed from {} (hostname '{}')", connection().remote_address(), auth->hostname);
        co_await refuse_and_close(connection(), "auth_failed", "Invalid or inactive API key");
        co_return false;
    }
    server_id_ = server->id;
    // Three intervals and a little slack (PROTOCOL.md 3.9); agents that do not say their interval
    // are left to the WebSocket idle timeout.
    if (auth->interval_s)
        set_read_deadline(std::chrono::seconds(3 * *auth->interval_s + 2));
    hostname_ = auth->hostname;
    agent_version_ = auth->agent_version;
    set_label(fmt::format("agent {} ({})", server_id_, connection().remote_address()));
    const std::string welcome = proto::encode(proto::auth_success{server_id_, "Connected successfully"});
    const bool sent = co_await write_now(welcome);
    if (!sent)
        co_return false;
    log::info("agent for server {} ('{}', {}) connected from {}, version {}", server_id_, server->name, hostname_,
              connection().remote_address(), agent_version_);
    co_return true;
}

net::awaitable<void> agent_session::run()
{
    const bool authenticated = co_await authenticate();
    if (!authenticated)
        co_return;
    last_seen_ms_ = now_unix_ms();
    app_.agents.add(server_id_, weak_from_this());
    app_.presence.publish_status(server_id_, true, last_seen_ms_);
    record_seen(app_, server_id_, last_seen_ms_, hostname_, agent_version_);

    co_await serve();
    for (auto& lost : app_.commands.on_link_closed(this))
        record_outcome(app_, std::move(lost), "collector", "the agent disconnected before the command finished");

    app_.agents.remove(server_id_, this);
    if (!app_.agents.online(server_id_)) {
        app_.presence.publish_status(server_id_, false, last_seen_ms_);
        log::info("agent for server {} disconnected", server_id_);
    }
    record_seen(app_, server_id_, last_seen_ms_, hostname_, agent_version_);
}

net::awaitable<void> agent_session::on_frame(ws_read_result& r)
{
    if (r.ec) { // a binary frame
        reject("invalid_message", r.ec.message());
        co_return;
    }
    last_seen_ms_ = now_unix_ms();
    auto msg = proto::decode_from_agent(r.text);
    if (!msg) {
        reject("invalid_message", msg.error().message);
        co_return;
    }
    if (auto* m = std::get_if<proto::metrics>(&*msg)) {
        if (r.text.size() > proto::max_sample_frame_bytes) {
            // Not acked, and nothing after it is handled: acks are cumulative.
            reject("message_too_big", fmt::format("a metrics message is at most {} bytes, this one has {}",
                                                  proto::max_sample_frame_bytes, r.text.size()));
            request_close(close_code::too_big, "sample too large");
            co_return;
        }
        co_await on_metrics(*m); // by reference: no temporary in the co_await (README, GCC 12)
    } else if (auto* batch = std::get_if<proto::log_batch>(&*msg)) {
        co_await on_logs(*batch);
    } else if (auto* g = std::get_if<proto::gap>(&*msg)) {
        co_await on_gap(*g);
    } else if (std::holds_alternative<proto::ping>(*msg)) {
        send_pong();
    } else if (std::holds_alternative<proto::auth_request>(*msg)) {
        reject("invalid_message", "already authenticated");
    } else if (auto* e = std::get_if<proto::error>(&*msg)) {
        log::warn("agent {} reported an error: {} ({})", server_id_, e->message, e->code);
    } else {
        on_command_message(*msg);
    }
}

net::awaitable<void> agent_session::on_metrics(proto::metrics& m)
{
    if (m.server_id != server_id_) {
        reject("invalid_message", "metrics.server_id does not match the authenticated server");
        co_return;
    }
    if (auto why = out_of_range(m.data.timestamp_ms, app_.config.retention_days)) {
        // Acked, so the agent's spool moves on, but not stored: kept, a year-9999 sample would
        // stand after every real one forever (issue 12.8). The agent logs the error.
        reject("timestamp_out_of_range", fmt::format("sample {} not stored: {}", m.seq, *why));
        co_await ack_in_order(m.seq, "metrics");
        co_return;
    }
    sample_row row;
    row.server_id = server_id_;
    row.timestamp_ms = m.data.timestamp_ms;
    row.cpu_percent = m.data.cpu_percent;
    row.memory_percent = m.data.memory_percent;
    if (m.data.load)
        row.load1 = (*m.data.load)[0];
    row.data_json = proto::encode_sample_data(m.data);

    co_await app_.store.wait_for_write_space();
    auto live = std::make_shared<const live_sample>(server_id_, std::move(m.data), row.data_json);
    app_.store.submit_sample(std::move(row), [weak = weak_from_this(), &a = app_, id = server_id_, seq = m.seq,
                                              live = std::move(live)](storage_result<bool> inserted) {
        auto self = weak.lock();
        if (!inserted) {
            // Not acked: the agent keeps the sample and sends it again after reconnecting.
            if (self)
                self->request_close(close_code::internal_error, "storage failure");
            return;
        }
        if (*inserted)
            a.hub.publish_sample(id, live);
        if (self)
            self->send(proto::encode(proto::ack{seq, "metrics"}));
    });
}

net::awaitable<void> agent_session::on_logs(proto::log_batch& batch)
{
    // Entries outside the time window are left out and counted; the rest of the batch is stored.
    std::size_t refused = 0;
    std::string first_refusal;
    std::erase_if(batch.entries, [&](const proto::log_entry& e) {
        auto why = out_of_range(e.timestamp_ms, app_.config.log_retention_days);
        if (!why)
            return false;
        if (refused++ == 0)
            first_refusal = std::move(*why);
        return true;
    });
    if (refused > 0) {
        reject("timestamp_out_of_range", fmt::format("log batch {}: {} entries not stored; the first: {}",
                                                         batch.seq, refused, first_refusal));
        if (batch.entries.empty()) {
            co_await ack_in_order(batch.seq, "logs");
            co_return;
        }
    }
    std::vector<log_record> rows;
    rows.reserve(batch.entries.size());
    for (const auto& e : batch.entries) {
        log_record r;
        r.timestamp_ms = e.timestamp_ms;
        r.level = static_cast<int>(proto::log_level_from_name(e.level).value_or(proto::log_level::info));
        r.source = e.source;
        r.message = e.message;
        r.truncated = e.truncated;
        rows.push_back(std::move(r));
    }
    // As for samples: while the write queue is full this session reads nothing more, so the agent
    // is slowed by TCP, and nothing is dropped.
    co_await app_.store.wait_for_write_space();
    app_.store.submit_logs(
        server_id_, batch.seq, std::move(rows),
        [weak = weak_from_this(), &a = app_, id = server_id_, seq = batch.seq,
         entries = std::move(batch.entries)](storage_result<log_insert> stored) mutable {
            auto self = weak.lock();
            if (!stored) {
                // Not acked: the agent keeps the batch and sends it again after reconnecting.
                if (self)
                    self->request_close(close_code::internal_error, "storage failure");
                return;
            }
            // A batch stored before (resent after a lost ack) was published the first time.
            if (stored->fresh && a.logs.has_subscribers(id)) {
                std::vector<live_log_ptr> live;
                live.reserve(entries.size());
                for (std::size_t i = 0; i < entries.size() && i < stored->ids.size(); ++i)
                    live.push_back(std::make_shared<const live_log>(stored->ids[i], std::move(entries[i])));
                a.logs.publish(id, live);
            }
            if (self)
                self->send(proto::encode(proto::ack{seq, "logs"}));
        });
}

net::awaitable<void> agent_session::ack_in_order(std::uint64_t seq, std::string_view stream)
{
    // Acks are cumulative: this one may go out only after everything received before it has
    // committed. The writer runs queued work in order, so an empty write completes just after.
    auto done = co_await app_.store.write([](storage&) { return storage_result<void>{}; });
    if (!done) {
        request_close(close_code::internal_error, "storage failure");
        co_return;
    }
    send(proto::encode(proto::ack{seq, std::string(stream)}));
}

net::awaitable<void> agent_session::on_gap(const proto::gap& g)
{
    log::warn("agent {} reports a gap in its {}: seq {} to {}, {} records lost ({}){}", server_id_, g.stream,
              g.first_seq, g.last_seq, g.count, g.reason,
              g.from_ms && g.to_ms
                  ? fmt::format(", from {} to {}", format_iso8601_ms(*g.from_ms), format_iso8601_ms(*g.to_ms))
                  : std::string());
    gap_record rec;
    rec.server_id = server_id_;
    rec.stream = g.stream;
    rec.first_seq = g.first_seq;
    rec.last_seq = g.last_seq;
    rec.count = g.count;
    rec.from_ms = g.from_ms;
    rec.to_ms = g.to_ms;
    rec.reason = g.reason;
    rec.reported_at_ms = now_unix_ms();
    // Awaited, in order with the queued writes: gaps are rare, and waiting here bounds how many a
    // misbehaving agent can have in flight (one).
    auto stored = co_await app_.store.write([&](storage& s) { return s.insert_gap(rec); });
    if (!stored)
        log::error("storing a gap of server {} failed: {}", server_id_, stored.error().message());
}

void agent_session::on_command_message(proto::from_agent& msg)
{
    auto& commands = app_.commands;
    if (auto* out = std::get_if<proto::command_output>(&msg)) {
        if (!commands.on_output(server_id_, *out))
            log::debug("agent {}: output for command {}, which is not in flight here; ignored", server_id_,
                       out->command_id);
    } else if (auto* r = std::get_if<proto::command_response>(&msg)) {
        if (auto outcome = commands.on_response(server_id_, *r))
            record_outcome(app_, std::move(*outcome), "agent", r->message.value_or(""));
        else
            record_late_result(app_, server_id_, std::move(*r));
    } else if (auto* d = std::get_if<proto::docker_response>(&msg)) {
        if (auto outcome = commands.on_docker_response(server_id_, *d))
            record_outcome(app_, std::move(*outcome), "agent", d->message);
        else
            record_late_result(app_, server_id_, std::move(*d));
    }
}

} // namespace corvid::collector
