// Sessions run their real code over an in-memory connection (tests/support/memory_connection.hpp)
// against a real SQLite file: the seams of issue 13 (ws_session, the connection group, presence).
#include "collector/sessions/ws_session.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>

#include "collector/sessions/agent_session.hpp"
#include "collector/sessions/command_session.hpp"
#include "collector/sessions/frontend_session.hpp"
#include "common/random.hpp"
#include "common/time_format.hpp"
#include "tests/collector/collector_parts.hpp"
#include "tests/support/memory_connection.hpp"

namespace corvid::collector {
namespace {
using namespace std::chrono_literals;
using test::collector_parts;
using test::memory_peer;

bool wrote(const memory_peer& p, std::string_view fragment)
{
    return std::any_of(p.written.begin(), p.written.end(),
                       [&](const std::string& f) { return f.find(fragment) != std::string::npos; });
}

// A command that is in flight as far as the stored record says, for a watcher to join.
command_record running_command(const std::string& server_id)
{
    command_record c;
    c.id = uuid_v4();
    c.server_id = server_id;
    c.kind = "shell";
    c.command = "echo hello";
    c.timeout_s = 10;
    c.issued_by = "alice";
    c.client_address = "192.0.2.7";
    c.status = "running";
    c.created_at_ms = now_unix_ms();
    return c;
}

audit_record audit_line(const command_record& c, std::string action)
{
    audit_record a;
    a.at_ms = now_unix_ms();
    a.actor = "alice";
    a.action = std::move(action);
    a.server_id = c.server_id;
    a.command_id = c.id;
    return a;
}

struct silent_link final : agent_link {
    void close_policy(std::string) override {}
    std::int64_t last_seen_ms() const override { return 0; }
    bool send_frame(std::string) override { return true; }
};
// A command in flight (stored and in the tracker) and an authenticated watcher of it.
std::shared_ptr<memory_peer> watch_command_in_flight(collector_parts& c, silent_link& link, bool& ended)
{
    const auto cmd = running_command(c.server_id);
    REQUIRE(c.write([&](storage& s) { return s.add_command(cmd, audit_line(cmd, "command.dispatched")); }).has_value());
    c.a->commands.start(cmd, &link);
    auto peer = std::make_shared<memory_peer>(c.io.get_executor());
    peer->push_text(c.auth_frame());
    c.start(std::make_shared<command_session>(*c.a, std::make_unique<test::memory_connection>(peer), cmd.id), ended);
    c.run_until([&] { return wrote(*peer, "auth_success"); });
    return peer;
}
} // namespace

TEST_SUITE("collector.sessions")
{
    TEST_CASE("command socket: a watcher that joins as the command ends gets the outcome committed after it read the record")
    {
        // The race of the command watch socket's settled record, forced: the stored record says
        // "running", the tracker has let go of the command, and its outcome commits 300 ms later.
        collector_parts c;
        const auto cmd = running_command(c.server_id);
        REQUIRE(c.write([&](storage& s) { return s.add_command(cmd, audit_line(cmd, "command.dispatched")); }).has_value());

        auto peer = std::make_shared<memory_peer>(c.io.get_executor());
        peer->push_text(c.auth_frame());
        bool ended = false;
        c.start(std::make_shared<command_session>(*c.a, std::make_unique<test::memory_connection>(peer), cmd.id), ended);
        c.run_until([&] { return wrote(*peer, "auth_success"); });

        net::steady_timer later(c.io, 300ms);
        later.async_wait([&](boost::system::error_code) {
            auto outcome = cmd;
            outcome.status = "completed";
            outcome.exit_code = 0;
            outcome.duration_ms = 12;
            outcome.output = "hello\n";
            outcome.finished_at_ms = now_unix_ms();
            net::co_spawn(c.io, c.db->write([outcome](storage& s) {
                return s.finish_command(outcome, audit_line(outcome, "command.finished"));
            }), [](std::exception_ptr, auto) {});
        });
        c.run_until([&] { return ended; });
        REQUIRE(peer->written.size() == 3);
        CHECK(peer->written[1].find(R"("type":"command_output")") != std::string::npos);
        CHECK(peer->written[2].find(R"("type":"command_response")") != std::string::npos);
        CHECK(peer->written[2].find(R"("exit_code":0)") != std::string::npos);
        CHECK(peer->close_code == close_code::normal);
    }

    TEST_CASE("command socket: shutdown closes a watcher of a running command with 1001")
    {
        collector_parts c;
        silent_link link;
        bool ended = false;
        auto peer = watch_command_in_flight(c, link, ended);
        c.stop_connections();
        CHECK(ended);
        CHECK(peer->close_code == close_code::going_away);
        CHECK(peer->close_reason == "collector shutting down");
    }

    TEST_CASE("command socket: a watcher flooding the socket is rate limited like other operator sockets")
    {
        collector_parts c;
        silent_link link;
        bool ended = false;
        auto peer = watch_command_in_flight(c, link, ended);
        for (int i = 0; i < 200; ++i)
            peer->push_text(R"({"type":"ping"})");
        c.run_until([&] { return wrote(*peer, "rate_limit_exceeded"); });
        CHECK(wrote(*peer, R"("type":"pong")"));
        CHECK_FALSE(ended); // dropped, not closed: the flood did not last 5 s
        c.stop_connections();
    }

    TEST_CASE("metrics socket: deleting its server sends not_found and closes with 1008, not 'shutting down'")
    {
        collector_parts c;
        auto peer = std::make_shared<memory_peer>(c.io.get_executor());
        peer->push_text(c.auth_frame());
        bool ended = false;
        c.start(std::make_shared<frontend_session>(*c.a, std::make_unique<test::memory_connection>(peer), c.server_id),
                ended);
        c.run_until([&] { return wrote(*peer, R"("type":"status")"); });
        CHECK(c.a->presence.watcher_count() == 1);
        c.a->presence.forget_server(c.server_id);
        c.run_until([&] { return ended; });
        CHECK(peer->written.back().find(R"("code":"not_found")") != std::string::npos);
        CHECK(peer->close_code == close_code::policy_violation);
        CHECK(peer->close_reason == "server deleted");
        CHECK(c.a->presence.watcher_count() == 0);
    }

    TEST_CASE("metrics socket: a peer that does not authenticate is cut off at shutdown, not waited for")
    {
        collector_parts c;
        auto peer = std::make_shared<memory_peer>(c.io.get_executor());
        bool ended = false;
        c.start(std::make_shared<frontend_session>(*c.a, std::make_unique<test::memory_connection>(peer), c.server_id),
                ended);
        c.io.poll();
        c.stop_connections();
        // Ended before the group's 5 s deadline ran out (then it would still be running) and long
        // before its own 10 s auth deadline.
        CHECK(ended);
        CHECK(peer->aborted);
        CHECK_FALSE(peer->close_code);
    }

    TEST_CASE("agent socket: a sample is stored and acked, shutdown sends the acks queued before the 1001")
    {
        collector_parts c;
        auto peer = std::make_shared<memory_peer>(c.io.get_executor());
        peer->push_text(fmt::format(R"({{"type":"auth","api_key":"{}","agent_version":"1.0","hostname":"web-01","interval_s":5}})",
                                    c.api_key));
        bool ended = false;
        c.start(std::make_shared<agent_session>(*c.a, std::make_unique<test::memory_connection>(peer)), ended);
        c.run_until([&] { return c.a->agents.online(c.server_id); });
        const auto t0 = now_unix_ms();
        const auto taken_at = [&](int seq) { return t0 - 1000 * (10 - seq); };
        const auto sample = [&](int seq) {
            return fmt::format(R"({{"type":"metrics","server_id":"{}","seq":{},"timestamp":"{}","cpu_percent":12.5}})",
                               c.server_id, seq, format_iso8601_ms(taken_at(seq)));
        };
        peer->push_text(sample(1));
        c.run_until([&] { return wrote(*peer, R"("type":"ack","seq":1)"); });
        // The peer stops reading; two more samples commit and their acks wait in the queue.
        peer->stall_writes = true;
        peer->push_text(sample(2));
        peer->push_text(sample(3));
        // Published just before its ack is queued (agent_session::on_metrics).
        c.run_until([&] {
            auto live = c.a->hub.latest(c.server_id);
            return live && live->timestamp_ms() == taken_at(3);
        });
        CHECK_FALSE(wrote(*peer, R"("type":"ack","seq":3)"));
        bool stopped = false;
        net::co_spawn(c.io, c.a->connections.stop(5s), [&](std::exception_ptr) { stopped = true; });
        c.io.poll();
        peer->resume_writes();
        c.run_until([&] { return stopped && ended; });
        CHECK(wrote(*peer, R"("type":"ack","seq":3)"));
        CHECK(peer->close_code == close_code::going_away);
        CHECK_FALSE(c.a->agents.online(c.server_id));
        const auto stored = c.write([&](storage& s) { return s.latest_sample(c.server_id); });
        REQUIRE(stored.has_value());
        REQUIRE(stored->has_value());
        CHECK((*stored)->cpu_percent == 12.5);
    }
}

} // namespace corvid::collector
