#include "agent/docker/docker_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <functional>
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/docker/container_watcher.hpp"
#include "common/deadline.hpp"
#include "tests/support/temp_dir.hpp"

using namespace corvid::agent::docker;
using namespace std::chrono_literals;
namespace net = boost::asio;

namespace {
// A daemon that hangs: its socket accepts connections (into the backlog) and never answers.
class silent_daemon {
public:
    silent_daemon() : path_(dir_.file("docker.sock"))
    {
        fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        REQUIRE(path_.size() < sizeof(addr.sun_path));
        std::copy(path_.begin(), path_.end(), addr.sun_path);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
        REQUIRE(::listen(fd_, 64) == 0);
    }
    ~silent_daemon() { ::close(fd_); }
    const std::string& path() const { return path_; }

private:
    corvid::test::temp_dir dir_;
    std::string path_;
    int fd_ = -1;
};

// A scripted daemon on a real unix socket: answers each request with what `answer` returns for
// its request line ("GET /_ping HTTP/1.1"), and records the request lines. It accepts for ever,
// so its tests stop the io_context when the call under test completes. For the answers a
// well-behaved podman never gives: old API versions, oversized or malformed responses.
class scripted_daemon {
public:
    using local = net::local::stream_protocol;
    scripted_daemon(net::io_context& io, std::function<std::string(const std::string&)> answer)
        : path_(dir_.file("docker.sock")), acceptor_(io, local::endpoint(path_)), answer_(std::move(answer))
    {
        net::co_spawn(io, accept_loop(), net::detached);
    }
    const std::string& path() const { return path_; }
    const std::vector<std::string>& requests() const { return requests_; }

private:
    net::awaitable<void> accept_loop()
    {
        for (;;) {
            auto [ec, sock] = co_await acceptor_.async_accept(corvid::use_tuple);
            if (ec)
                co_return;
            std::string head;
            auto [rec, n] = co_await net::async_read_until(sock, net::dynamic_buffer(head), "\r\n\r\n", corvid::use_tuple);
            if (rec)
                continue;
            const std::string line = head.substr(0, head.find("\r\n"));
            requests_.push_back(line);
            const std::string reply = answer_(line);
            co_await net::async_write(sock, net::buffer(reply), corvid::use_tuple);
        }
    }

    corvid::test::temp_dir dir_;
    std::string path_;
    local::acceptor acceptor_;
    std::function<std::string(const std::string&)> answer_;
    std::vector<std::string> requests_;
};

std::string http_reply(std::string_view status, std::string_view headers, std::string_view body)
{
    return std::string("HTTP/1.1 ") + std::string(status) + "\r\n" + std::string(headers)
           + "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + std::string(body);
}

double seconds_since(std::chrono::steady_clock::time_point t)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
} // namespace

TEST_SUITE("docker_client")
{
    TEST_CASE("docker_client: a daemon that never answers hits the action deadline")
    {
        silent_daemon daemon;
        net::io_context io;
        docker_client client(io.get_executor(), {.socket_path = daemon.path(), .action_timeout = 300ms});
        std::optional<action_outcome> got;
        const auto started = std::chrono::steady_clock::now();
        net::co_spawn(io, client.run_action("stop", "web"), [&](std::exception_ptr, action_outcome o) { got = o; });
        io.run_for(10s);
        REQUIRE(got);
        CHECK_FALSE(got->success);
        CHECK_FALSE(got->refused);
        CHECK(got->message == "Docker did not answer within 0.3 s");
        CHECK(seconds_since(started) < 5.0);
    }

    TEST_CASE("docker_client: actions beyond max_parallel_actions are refused at once")
    {
        silent_daemon daemon;
        net::io_context io;
        docker_client client(io.get_executor(),
                             {.socket_path = daemon.path(), .action_timeout = 500ms, .max_parallel_actions = 2});
        std::vector<action_outcome> done;
        for (int i = 0; i < 3; ++i)
            net::co_spawn(io, client.run_action("start", "web"),
                          [&](std::exception_ptr, action_outcome o) { done.push_back(o); });
        io.run_for(10s);
        REQUIRE(done.size() == 3);
        // The third one ends first: it never waited for the daemon.
        CHECK(done[0].refused);
        CHECK(done[0].message == "Too many Docker actions in progress (2); try again when they have finished");
        CHECK(done[1].message == "Docker did not answer within 0.5 s");
        CHECK(done[2].message == "Docker did not answer within 0.5 s");
    }

    TEST_CASE("docker_client: cancel_all ends a request in flight at once")
    {
        silent_daemon daemon;
        net::io_context io;
        docker_client client(io.get_executor(), {.socket_path = daemon.path(), .action_timeout = 30s});
        std::optional<action_outcome> got;
        net::co_spawn(io, client.run_action("kill", "web"), [&](std::exception_ptr, action_outcome o) { got = o; });
        net::steady_timer later(io, 100ms);
        later.async_wait([&](auto) { client.cancel_all(); });
        const auto started = std::chrono::steady_clock::now();
        io.run_for(10s);
        REQUIRE(got);
        CHECK(got->message == "Docker request cancelled (the agent is stopping)");
        CHECK(seconds_since(started) < 5.0); // not the 30 s deadline
    }

    TEST_CASE("container_watcher: nothing listed yet means no containers, stop() ends run() while the daemon hangs")
    {
        silent_daemon daemon;
        net::io_context io;
        container_watcher watcher(io.get_executor(), 10s, daemon.path()); // refresh deadline: 3 s
        CHECK(refresh_deadline(10s) == 3000ms);
        CHECK(refresh_deadline(1s) == 500ms);
        bool ended = false;
        net::co_spawn(io, watcher.run(), [&](std::exception_ptr e) { ended = !e; });
        net::steady_timer later(io, 200ms);
        later.async_wait([&](auto) {
            CHECK_FALSE(watcher.latest()); // the first listing has not come back
            watcher.stop();
        });
        const auto started = std::chrono::steady_clock::now();
        io.run_for(10s);
        CHECK(ended);
        CHECK(seconds_since(started) < 2.0); // well before the 3 s refresh deadline
        CHECK_FALSE(watcher.latest());
    }

    TEST_CASE("container_watcher: a failed first listing leaves latest() empty")
    {
        corvid::test::temp_dir dir;
        net::io_context io;
        container_watcher watcher(io.get_executor(), 1s, dir.file("no-such.sock"));
        bool done = false;
        net::co_spawn(io, watcher.refresh(), [&](std::exception_ptr) { done = true; });
        io.run_for(10s);
        CHECK(done);
        CHECK_FALSE(watcher.latest());
    }

    TEST_CASE("docker_client: an old daemon without API-Version on /_ping is asked /version")
    {
        net::io_context io;
        scripted_daemon daemon(io, [](const std::string& line) {
            if (line.starts_with("GET /_ping "))
                return http_reply("200 OK", "", "OK");
            if (line.starts_with("GET /version "))
                return http_reply("200 OK", "Content-Type: application/json\r\n", R"({"Version":"17.06","ApiVersion":"1.30"})");
            return http_reply("204 No Content", "", "");
        });
        docker_client client(io.get_executor(), {.socket_path = daemon.path(), .action_timeout = 5s});
        std::optional<action_outcome> got;
        net::co_spawn(io, client.run_action("pause", "web"), [&](std::exception_ptr, action_outcome o) { got = o; io.stop(); });
        io.run_for(10s);
        REQUIRE(got);
        CHECK(got->message == "Container paused");
        REQUIRE(daemon.requests().size() == 3);
        CHECK(daemon.requests()[2] == "POST /v1.30/containers/web/pause HTTP/1.1");
        CHECK(client.negotiated_api() == api_version{1, 30});
    }

    TEST_CASE("docker_client: a newer daemon is spoken to in our version, a too old one is refused")
    {
        net::io_context io;
        std::string version = "1.45";
        scripted_daemon daemon(io, [&](const std::string& line) {
            if (line.starts_with("GET /_ping "))
                return http_reply("200 OK", "API-Version: " + version + "\r\n", "OK");
            return http_reply("304 Not Modified", "", "");
        });
        {
            docker_client client(io.get_executor(), {.socket_path = daemon.path(), .action_timeout = 5s});
            std::optional<action_outcome> got;
            net::co_spawn(io, client.run_action("start", "web"), [&](std::exception_ptr, action_outcome o) { got = o; io.stop(); });
            io.run_for(10s);
            REQUIRE(got);
            CHECK(got->message == "Container already started");
            CHECK(daemon.requests().back() == "POST /v1.41/containers/web/start HTTP/1.1");
        }
        io.restart();
        version = "1.12";
        docker_client old(io.get_executor(), {.socket_path = daemon.path(), .action_timeout = 5s});
        std::optional<action_outcome> refused;
        net::co_spawn(io, old.run_action("start", "web"), [&](std::exception_ptr, action_outcome o) { refused = o; io.stop(); });
        io.run_for(10s);
        REQUIRE(refused);
        CHECK(refused->message == "Docker API version 1.12 not supported (this agent needs 1.24 or later)");
        CHECK(daemon.requests().back() == "GET /_ping HTTP/1.1");
    }

    TEST_CASE("docker_client: oversized and malformed answers are failures, not crashes")
    {
        net::io_context io;
        const std::string big(3 * 1024 * 1024, ' ');
        scripted_daemon daemon(io, [&](const std::string& line) {
            if (line.starts_with("GET /_ping "))
                return http_reply("200 OK", "API-Version: 1.41\r\n", "OK");
            if (line.starts_with("GET /v1.41/containers/json"))
                return http_reply("200 OK", "", "[" + big + "]");
            return std::string("SMTP ready\r\n\r\n");
        });
        docker_client client(io.get_executor(),
                             {.socket_path = daemon.path(), .action_timeout = 5s, .body_limit = 1024 * 1024});
        std::optional<list_outcome> listed;
        std::optional<action_outcome> acted;
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        net::co_spawn(io, client.list_containers(deadline), [&](std::exception_ptr, list_outcome o) { listed = o; io.stop(); });
        io.run_for(10s);
        io.restart();
        net::co_spawn(io, client.run_action("stop", "web"), [&](std::exception_ptr, action_outcome o) { acted = o; io.stop(); });
        io.run_for(10s);
        REQUIRE(listed);
        CHECK_FALSE(listed->ok);
        CHECK(listed->error == "Docker connection failed: response body over the size limit");
        REQUIRE(acted);
        CHECK(acted->message == "Docker connection failed: malformed HTTP response");
    }
}
