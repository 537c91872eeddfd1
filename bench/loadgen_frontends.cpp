// Frontend subscribers of corvid-loadgen, and the operator login they need. A subscriber opens
// /api/v1/ws/metrics/{server_id}, authenticates with the token, and for each live `metrics`
// message looks up when the load generator's agent sent that sample (same process, same steady
// clock): receive time minus send time is the delivery latency. The snapshot that precedes the
// first `status` message is an old sample and is not counted.
// Subscriber: io thread of the owning worker only. login(): main thread, blocking.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <cerrno>
#include <cstring>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "bench/loadgen.hpp"
#include "common/deadline.hpp"
#include "common/json_text.hpp"
#include "common/time_format.hpp"
#include "proto/codec.hpp"

namespace corvid::bench {
namespace {
constexpr auto auth_deadline = std::chrono::seconds(10);
constexpr auto write_deadline = std::chrono::seconds(10);
constexpr auto close_deadline = std::chrono::seconds(5);

// The value of "key":"…" in `text` (no escapes expected: ids, timestamps, tokens), or empty.
std::string_view string_field(std::string_view text, std::string_view key, std::size_t from = 0)
{
    std::string pattern = "\"";
    pattern += key;
    pattern += "\":\"";
    const auto at = text.find(pattern, from);
    if (at == std::string_view::npos)
        return {};
    const auto begin = at + pattern.size();
    const auto end = text.find('"', begin);
    if (end == std::string_view::npos)
        return {};
    return text.substr(begin, end - begin);
}

class subscriber final : public session, public std::enable_shared_from_this<subscriber> {
public:
    subscriber(worker& w, std::uint32_t index) : w_(w), run_(w.run), index_(index) {}
    net::awaitable<void> run() override;
    void stop() override;

private:
    net::awaitable<bool> connect();
    void on_message(std::string_view text, clock_type::time_point received);
    void fail(std::string_view what, const std::string& detail);

    worker& w_;
    shared_run& run_;
    const std::uint32_t index_;
    std::unique_ptr<ws_connection> conn_;
    bool ready_ = false;    // authenticated; stop() may close
    bool stopping_ = false;
    bool seen_status_ = false;
};

void subscriber::fail(std::string_view what, const std::string& detail)
{
    run_.count.subs_failed.fetch_add(1, std::memory_order_relaxed);
    run_.note_error(std::string(what) + ": " + detail);
    if (conn_)
        conn_->abort();
}

net::awaitable<bool> subscriber::connect()
{
    ws_url url = run_.frontend_url;
    url.target += run_.servers[index_].id;
    ws_client_options options;
    options.user_agent = "corvid-loadgen";
    options.timeouts.idle = std::chrono::seconds(60); // as the collector's frontend sockets
    const net::any_io_executor ex = w_.io.get_executor(); // named: README, "GCC 12 and coroutines"
    auto c = co_await ws_connect(ex, url, options);
    if (!c) {
        fail("subscriber connect", c.error().message());
        co_return false;
    }
    conn_ = std::move(*c);
    const std::string hello = proto::encode(proto::frontend_auth{run_.token});
    auto sent = co_await (conn_->write(hello) || abort_after(*conn_, write_deadline));
    if (sent.index() != 0 || std::get<0>(sent)) {
        fail("subscriber auth write", sent.index() == 0 ? std::get<0>(sent).message() : "timed out");
        co_return false;
    }
    auto got = co_await (conn_->read() || abort_after(*conn_, auth_deadline));
    if (got.index() != 0 || std::get<0>(got).ec) {
        fail("subscriber auth reply", got.index() == 0 ? std::get<0>(got).ec.message() : "timed out");
        co_return false;
    }
    auto msg = proto::decode_from_collector(std::get<0>(got).text);
    if (!msg || !std::holds_alternative<proto::auth_success>(*msg)) {
        fail("subscriber auth refused", std::get<0>(got).text.substr(0, 120));
        co_return false;
    }
    co_return true;
}

net::awaitable<void> subscriber::run()
{
    auto self = shared_from_this();
    const bool ok = co_await connect();
    w_.connect_done();
    if (!ok)
        co_return;
    run_.count.subs_connected.fetch_add(1, std::memory_order_relaxed);
    ready_ = true;
    if (stopping_) {
        co_await (conn_->close(close_code::normal, "load test finished") || abort_after(*conn_, close_deadline));
        conn_->abort();
        co_return;
    }
    for (;;) {
        auto r = co_await conn_->read();
        const auto received = clock_type::now();
        if (r.ec) {
            if (!stopping_) {
                run_.count.subs_lost.fetch_add(1, std::memory_order_relaxed);
                run_.note_error("subscriber link lost: " + r.ec.message());
            }
            break;
        }
        on_message(r.text, received);
    }
    conn_->abort();
}

// The subscriber never writes after authenticating, so a close may overlap its pending read:
// the read then ends when the collector answers the close.
void subscriber::stop()
{
    if (stopping_)
        return;
    stopping_ = true;
    if (!ready_ || !conn_)
        return; // run() closes once the handshake is over
    net::co_spawn(
        w_.io,
        [self = shared_from_this()]() -> net::awaitable<void> {
            co_await (self->conn_->close(close_code::normal, "load test finished")
                      || abort_after(*self->conn_, close_deadline));
            self->conn_->abort();
        },
        net::detached);
}

void subscriber::on_message(std::string_view text, clock_type::time_point received)
{
    // The collector writes these prefixes byte for byte (PROTOCOL.md 5.5, golden files).
    if (text.starts_with(R"({"type":"status")")) {
        seen_status_ = true;
        return;
    }
    if (!text.starts_with(R"({"type":"metrics")"))
        return;
    if (!seen_status_) {
        run_.count.snapshots.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    const auto data_at = text.find(R"("data":)");
    const auto stamp = string_field(text, "timestamp", data_at == std::string_view::npos ? 0 : data_at);
    const auto ts = parse_iso8601_ms(stamp);
    const auto sent = ts ? run_.sends.find(index_, *ts) : std::nullopt;
    if (!sent || string_field(text, "server_id") != run_.servers[index_].id) {
        run_.count.delivered_unmatched.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    run_.count.delivered.fetch_add(1, std::memory_order_relaxed);
    if (run_.measuring.load(std::memory_order_relaxed))
        w_.delivery_latency.add(received - *sent);
}
} // namespace

std::shared_ptr<session> make_subscriber(worker& w, std::uint32_t server_index)
{
    return std::make_shared<subscriber>(w, server_index);
}

// ---- login ---------------------------------------------------------------------------------

std::optional<std::string> login(const std::string& http_url, const std::string& user, const std::string& password,
                                 std::string& error)
{
    std::string_view rest = http_url;
    if (!rest.starts_with("http://")) {
        error = "--http must be http://host:port";
        return std::nullopt;
    }
    rest.remove_prefix(7);
    rest = rest.substr(0, rest.find('/'));
    const auto colon = rest.rfind(':');
    const std::string host(rest.substr(0, colon));
    const std::string port = colon == std::string_view::npos ? "80" : std::string(rest.substr(colon + 1));

    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
        error = std::string("resolve ") + host + ": " + ::gai_strerror(rc);
        return std::nullopt;
    }
    const int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = std::string("socket: ") + std::strerror(errno);
        ::freeaddrinfo(found);
        return std::nullopt;
    }
    // Linux applies SO_SNDTIMEO to connect() too: every step of the exchange has a deadline.
    timeval timeout{15, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    const int connected = ::connect(fd, found->ai_addr, found->ai_addrlen);
    ::freeaddrinfo(found);
    if (connected != 0) {
        error = std::string("connect: ") + std::strerror(errno);
        ::close(fd);
        return std::nullopt;
    }
    std::string body = R"({"username":)";
    append_json_string(body, user);
    body += R"(,"password":)";
    append_json_string(body, password);
    body += '}';
    std::string request = "POST /api/v1/auth/login HTTP/1.1\r\nHost: " + host + ":" + port
                          + "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: "
                          + std::to_string(body.size()) + "\r\n\r\n" + body;
    std::string_view out = request;
    while (!out.empty()) {
        const auto n = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
        if (n <= 0) {
            error = std::string("send: ") + std::strerror(errno);
            ::close(fd);
            return std::nullopt;
        }
        out.remove_prefix(static_cast<std::size_t>(n));
    }
    std::string response;
    char buf[4096];
    for (;;) {
        const auto n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0) {
            error = std::string("recv: ") + std::strerror(errno);
            ::close(fd);
            return std::nullopt;
        }
        if (n == 0 || response.size() > (1 << 20))
            break;
        response.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    if (!response.starts_with("HTTP/1.1 200")) {
        error = "login answered: " + response.substr(0, response.find("\r\n"));
        return std::nullopt;
    }
    const auto token = string_field(response, "access_token");
    if (token.empty()) {
        error = "login answer has no access_token";
        return std::nullopt;
    }
    return std::string(token);
}

} // namespace corvid::bench
