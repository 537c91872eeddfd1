// HTTP/1.1 over a unix socket with Beast (see unix_http.hpp). The only Beast translation unit of
// the Docker client: everything else talks to Docker through unix_http_client.
#include "agent/docker/unix_http.hpp"

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <sys/un.h>

#include "common/deadline.hpp"

namespace corvid::agent::docker {
namespace beast = boost::beast;
namespace http = beast::http;
using local_socket = net::local::stream_protocol::socket;
using boost::system::error_code;

namespace {
class http_category_impl final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "corvid.docker.http"; }
    std::string message(int ev) const override
    {
        switch (static_cast<http_errc>(ev)) {
        case http_errc::timeout: return "no complete answer before the deadline";
        case http_errc::body_too_large: return "response body over the size limit";
        case http_errc::bad_response: return "malformed HTTP response";
        case http_errc::connection_lost: return "connection closed before the response was complete";
        }
        return "unknown http error";
    }
};

// Request headers are 2 KiB at most in practice; 64 KiB bounds a hostile daemon.
constexpr std::size_t header_limit = 64 * 1024;

http::verb verb_of(http_method m)
{
    switch (m) {
    case http_method::get: return http::verb::get;
    case http_method::post: return http::verb::post;
    case http_method::delete_: return http::verb::delete_;
    }
    return http::verb::get;
}

error_code map_read_error(const error_code& ec)
{
    if (ec == http::error::body_limit)
        return http_errc::body_too_large;
    if (ec == http::error::end_of_stream || ec == http::error::partial_message || ec == net::error::eof
        || ec == net::error::connection_reset || ec == net::error::broken_pipe)
        return http_errc::connection_lost;
    if (ec.category() == make_error_code(http::error::end_of_stream).category())
        return http_errc::bad_response;
    return ec;
}
} // namespace

const boost::system::error_category& http_category()
{
    static const http_category_impl instance;
    return instance;
}

error_code make_error_code(http_errc e) { return {static_cast<int>(e), http_category()}; }

struct unix_http_client::open_request {
    explicit open_request(net::any_io_executor ex) : socket(ex) {}
    local_socket socket;
    bool timed_out = false;
    bool cancelled = false;
    void close()
    {
        error_code ignored;
        socket.close(ignored);
    }
};

namespace {
// Connect, write, read: the whole exchange, ended early only by the socket being closed.
net::awaitable<http_outcome> exchange(local_socket& socket, const std::string& path, http::verb verb,
                                      const std::string& target, std::size_t body_limit)
{
    http_outcome out;
    if (path.empty() || path.size() >= sizeof(sockaddr_un::sun_path)) {
        out.ec = make_error_code(boost::system::errc::filename_too_long);
        co_return out;
    }
    const net::local::stream_protocol::endpoint endpoint(path);
    auto [cec] = co_await socket.async_connect(endpoint, use_tuple);
    if (cec) {
        out.ec = cec;
        co_return out;
    }
    out.connected = true;

    http::request<http::empty_body> req{verb, target, 11};
    req.set(http::field::host, "docker"); // required by HTTP/1.1; the daemon ignores its value
    req.set(http::field::user_agent, "corvid-agent");
    req.set(http::field::connection, "close");
    req.prepare_payload(); // Content-Length: 0 on POST and DELETE
    auto [wec, written] = co_await http::async_write(socket, req, use_tuple);
    if (wec) {
        out.ec = map_read_error(wec);
        co_return out;
    }

    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.header_limit(header_limit);
    parser.body_limit(body_limit);
    auto [rec, read] = co_await http::async_read(socket, buffer, parser, use_tuple);
    if (rec) {
        out.ec = map_read_error(rec);
        co_return out;
    }
    auto res = parser.release();
    out.status = res.result_int();
    if (auto it = res.find("API-Version"); it != res.end())
        out.api_version = std::string(it->value());
    out.body = std::move(res.body());
    co_return out;
}

// The deadline: closing the socket ends whatever step of exchange() is pending.
net::awaitable<void> close_at(local_socket& socket, bool& timed_out, std::chrono::steady_clock::time_point deadline)
{
    net::steady_timer timer(co_await net::this_coro::executor, deadline);
    auto [ec] = co_await timer.async_wait(use_tuple);
    if (ec)
        co_return; // the exchange ended first
    timed_out = true;
    error_code ignored;
    socket.close(ignored);
}
} // namespace

unix_http_client::unix_http_client(net::any_io_executor ex, std::string socket_path, std::size_t body_limit)
    : ex_(std::move(ex)), socket_path_(std::move(socket_path)), body_limit_(body_limit),
      open_(std::make_shared<open_set>())
{
}

unix_http_client::~unix_http_client() { cancel_all(); }

void unix_http_client::cancel_all()
{
    for (auto* r : *open_) {
        r->cancelled = true;
        r->close();
    }
}

net::awaitable<http_outcome> unix_http_client::request(http_method method, std::string_view target_view,
                                                       std::chrono::steady_clock::time_point deadline)
{
    const std::string target(target_view);
    const std::string path = socket_path_;
    const auto verb = verb_of(method);
    const auto limit = body_limit_;
    open_request r(ex_);
    // Registered while in flight; the set is shared so this guard stays valid without the client.
    struct registration {
        std::shared_ptr<open_set> set;
        open_request* r;
        ~registration() { set->erase(r); }
    } reg{open_, &r};
    open_->insert(&r);

    auto done = co_await (exchange(r.socket, path, verb, target, limit) || close_at(r.socket, r.timed_out, deadline));
    http_outcome out;
    if (done.index() == 0)
        out = std::move(std::get<0>(done));
    // A complete response wins even if the deadline or cancel_all() raced with its last step.
    if (done.index() != 0 || out.ec) {
        out.status = 0;
        out.body.clear();
        if (r.cancelled)
            out.ec = net::error::operation_aborted;
        else if (r.timed_out || done.index() != 0)
            out.ec = http_errc::timeout;
    }
    r.close();
    co_return out;
}

} // namespace corvid::agent::docker
