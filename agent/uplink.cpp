#include "agent/uplink.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "common/deadline.hpp"
#include "common/file_util.hpp"
#include "common/log.hpp"
#include "common/time_format.hpp"
#include "proto/codec.hpp"

namespace corvid::agent {
namespace {
constexpr auto auth_deadline = std::chrono::seconds(10);
constexpr auto write_deadline = std::chrono::seconds(10);
constexpr auto close_deadline = std::chrono::seconds(1);

std::string trim(std::string s)
{
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string::npos)
        return {};
    const auto last = s.find_last_not_of(" \t\r\n");
    return s.substr(first, last - first + 1);
}
} // namespace

uplink::uplink(net::any_io_executor ex, uplink_settings settings, std::vector<spooled_stream*> streams)
    : ex_(ex), settings_(std::move(settings)), streams_(std::move(streams)), wake_(ex), pause_(ex)
{
    for (auto* s : streams_)
        s->set_listeners([this] { notify(); },
                         [this](proto::gap g) { send_control(proto::encode(g), /*droppable=*/false); });
}

void uplink::notify() { wake_.cancel(); }

spooled_stream* uplink::stream_named(std::string_view name)
{
    for (auto* s : streams_)
        if (s->name() == name)
            return s;
    return nullptr;
}

void uplink::send_control(std::string frame, bool droppable)
{
    const bool full = control_.size() >= (droppable ? max_control_frames / 2 : max_control_frames);
    if (full || (droppable && !connection_)) {
        if (control_dropped_++ % 100 == 0)
            log::warn("dropping a {} frame for the collector: {} ({} dropped so far)",
                      droppable ? "command output" : "command result",
                      connection_ ? "the send queue is full" : "not connected", control_dropped_);
        return;
    }
    control_.push_back({std::move(frame), droppable});
    wake_.cancel();
}

void uplink::stop()
{
    stopping_ = true;
    wake_.cancel();
    pause_.cancel();
}

std::string uplink::read_api_key()
{
    if (settings_.api_key_file.empty())
        return settings_.api_key;
    auto text = read_file(settings_.api_key_file, 4096);
    if (!text) {
        log::error("cannot read api_key_file {}: {}", settings_.api_key_file, text.error().message());
        return {};
    }
    return trim(*text);
}

net::awaitable<void> uplink::pause(std::chrono::milliseconds d)
{
    pause_.expires_after(d);
    co_await pause_.async_wait(use_tuple);
}

net::awaitable<void> uplink::run()
{
    auto url = parse_ws_url(settings_.collector_url);
    if (!url) {
        log::error("collector_url {} is not a ws:// or wss:// URL", settings_.collector_url);
        co_return;
    }
    ws_client_options options;
    options.ca_file = settings_.ca_file;
    options.tls_pin_sha256 = settings_.tls_pin_sha256;
    options.user_agent = "corvid-agent/" + settings_.agent_version;
    // The collector acks every sample, so a quiet link for 3 intervals is dead (see liveness.hpp);
    // the WebSocket idle timeout is a second net for the case where even our pings stall.
    options.timeouts.idle = std::max<std::chrono::seconds>(settings_.interval * 3, std::chrono::seconds(6));

    while (!stopping_) {
        const auto key = read_api_key();
        if (!key.empty()) {
            auto conn = co_await ws_connect(ex_, *url, options);
            if (!conn && is_tls_error(conn.error())) {
                log::error("cannot connect to {}: TLS verification failed ({}); check ca_file and that the collector's "
                           "certificate names this host",
                           settings_.collector_url, conn.error().message());
            } else if (!conn) {
                log::warn("cannot connect to {}: {}", settings_.collector_url, conn.error().message());
            } else {
                connection_ = conn->get();
                const bool authenticated = co_await authenticate(**conn, key);
                if (authenticated) {
                    backoff_.reset();
                    for (auto* s : streams_)
                        s->outbox().on_connected();
                    if (handlers_.on_authenticated)
                        handlers_.on_authenticated(server_id_);
                    co_await session(**conn);
                    for (auto* s : streams_)
                        s->outbox().on_disconnected();
                    // Output chunks of a lost connection are stale; results wait for the next one.
                    std::erase_if(control_, [](const control_frame& f) { return f.droppable; });
                    if (!stopping_)
                        log::warn("connection to the collector lost; reconnecting");
                }
                (*conn)->abort();
                connection_ = nullptr;
            }
        }
        if (stopping_)
            break;
        const auto delay = backoff_.next();
        log::info("next connection attempt in {} ms", delay.count());
        co_await pause(delay);
    }
}

net::awaitable<bool> uplink::authenticate(ws_connection& conn, const std::string& api_key)
{
    // The interval tells the collector how soon a silent link counts as dead (three intervals).
    const std::string auth = proto::encode(proto::auth_request{
        api_key, settings_.agent_version, settings_.hostname, static_cast<std::uint32_t>(settings_.interval.count())});
    auto sent = co_await (conn.write(auth) || abort_after(conn, write_deadline));
    if (sent.index() != 0 || std::get<0>(sent)) {
        log::warn("could not send auth to the collector");
        co_return false;
    }
    auto got = co_await (conn.read() || abort_after(conn, auth_deadline));
    if (got.index() != 0 || std::get<0>(got).ec) {
        log::warn("no answer to auth from the collector within {} s", auth_deadline.count());
        co_return false;
    }
    auto msg = proto::decode_from_collector(std::get<0>(got).text);
    if (!msg) {
        log::warn("collector answered auth with an invalid message: {}", msg.error().message);
        co_return false;
    }
    if (auto* ok = std::get_if<proto::auth_success>(&*msg)) {
        server_id_ = ok->server_id;
        log::info("connected to {} as server {}", settings_.collector_url, server_id_);
        co_return true;
    }
    if (auto* err = std::get_if<proto::error>(&*msg)) {
        log::error("collector refused authentication: {} ({})", err->message, err->code);
        co_return false;
    }
    log::warn("collector answered auth with an unexpected message");
    co_return false;
}

net::awaitable<void> uplink::session(ws_connection& conn)
{
    liveness live(settings_.interval, liveness::clock::now());
    pong_due_ = ping_due_ = false;
    // Whichever loop ends first (link lost, link silent, stop) cancels the others.
    co_await (receive_loop(conn, live) || send_loop(conn) || heartbeat(conn, live));
}

net::awaitable<void> uplink::receive_loop(ws_connection& conn, liveness& live)
{
    for (;;) {
        auto r = co_await conn.read();
        if (r.ec) {
            if (!stopping_)
                log::info("collector connection closed: {}", r.ec.message());
            conn.abort();
            co_return;
        }
        live.on_received(liveness::clock::now());
        auto msg = proto::decode_from_collector(r.text);
        if (!msg) {
            log::warn("collector sent an invalid message: {}", msg.error().message);
            continue;
        }
        if (auto* a = std::get_if<proto::ack>(&*msg)) {
            if (auto* stream = stream_named(a->stream)) {
                stream->on_ack(a->seq);
                wake_.cancel(); // the in-flight window may have room again
            }
        } else if (std::holds_alternative<proto::ping>(*msg)) {
            pong_due_ = true;
            wake_.cancel();
        } else if (auto* c = std::get_if<proto::command>(&*msg)) {
            if (handlers_.on_command)
                handlers_.on_command(*c);
        } else if (auto* d = std::get_if<proto::docker_command>(&*msg)) {
            if (handlers_.on_docker_command)
                handlers_.on_docker_command(*d);
        } else if (auto* e = std::get_if<proto::error>(&*msg)) {
            log::warn("collector reported an error: {} ({})", e->message, e->code);
        }
    }
}

// A live record of any stream (round robin), else a backlog record if the pace leaves room;
// starts reading backlog pages that are needed. "" when there is nothing to send now.
std::string uplink::next_stream_frame(token_bucket& pace)
{
    for (std::size_t i = 0; i < streams_.size(); ++i) {
        auto* s = streams_[(next_stream_ + i) % streams_.size()];
        if (auto r = s->outbox().next_live()) {
            next_stream_ = (next_stream_ + i + 1) % streams_.size();
            return s->frame(*r, server_id_);
        }
    }
    const bool backlog_allowed = pace.available(limit_clock::now()) >= 1 + backlog_reserve;
    for (auto* s : streams_) {
        if (!s->outbox().backlog_remaining())
            continue;
        if (backlog_allowed) {
            if (auto r = s->outbox().next_backlog())
                return s->frame(*r, server_id_);
        }
        if (s->outbox().wants_page())
            net::co_spawn(ex_, s->load_page(), net::detached); // wakes us through the stream's listener
    }
    return {};
}

net::awaitable<void> uplink::send_loop(ws_connection& conn)
{
    token_bucket pace(proto::agent_send_rate_per_s, proto::agent_send_burst, limit_clock::now());
    for (;;) {
        if (stopping_) {
            co_await (conn.close(close_code::going_away, "agent stopping") || abort_after(conn, close_deadline));
            conn.abort();
            co_return;
        }
        const auto wait = pace.wait_for(1, limit_clock::now());
        if (wait > limit_clock::duration::zero()) {
            wake_.expires_after(wait);
            co_await wake_.async_wait(use_tuple);
            continue;
        }
        std::string frame;
        if (pong_due_) {
            pong_due_ = false;
            frame = proto::encode(proto::pong{now_unix_ms()});
        } else if (ping_due_) {
            ping_due_ = false;
            frame = proto::encode(proto::ping{});
        } else if (!control_.empty()) {
            frame = std::move(control_.front().text);
            control_.pop_front();
        } else {
            frame = next_stream_frame(pace);
        }
        if (frame.empty()) {
            // Backlog held back by the pace: come back when it allows; otherwise wait for work.
            bool paced = false;
            if (pace.available(limit_clock::now()) < 1 + backlog_reserve)
                for (auto* s : streams_)
                    paced = paced || s->outbox().has_page();
            if (paced) {
                wake_.expires_after(pace.wait_for(1 + backlog_reserve, limit_clock::now()));
                co_await wake_.async_wait(use_tuple);
            } else {
                co_await wait_for_wake(wake_);
            }
            continue;
        }
        pace.try_take(limit_clock::now());
        auto sent = co_await (conn.write(frame) || abort_after(conn, write_deadline));
        if (sent.index() != 0 || std::get<0>(sent)) {
            conn.abort();
            co_return;
        }
    }
}

net::awaitable<void> uplink::heartbeat(ws_connection& conn, liveness& live)
{
    net::steady_timer timer(ex_);
    for (;;) {
        const auto now = liveness::clock::now();
        switch (live.check(now)) {
        case liveness::verdict::alive:
            break;
        case liveness::verdict::send_ping:
            live.on_ping_sent(now);
            ping_due_ = true;
            wake_.cancel();
            break;
        case liveness::verdict::dead:
            log::warn("nothing heard from the collector for 3 intervals; reconnecting");
            conn.abort();
            co_return;
        }
        timer.expires_at(live.next_check(now));
        auto [ec] = co_await timer.async_wait(use_tuple);
        if (ec)
            co_return;
    }
}

} // namespace corvid::agent
