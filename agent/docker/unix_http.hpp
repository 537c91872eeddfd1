#pragma once
// A minimal HTTP/1.1 client over a unix socket, enough for the Docker Engine API: one request per
// connection (Connection: close), no request body, the response body read whole into a string
// up to a limit. All Beast code lives in unix_http.cpp; this header includes Asio only.
// Threading: io thread only (the thread running the executor given to the constructor).
// Cancellation: every request has a deadline; cancel_all() closes every open request's socket,
// so each pending request() completes at once with operation_aborted.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>

namespace corvid::agent::docker {

namespace net = boost::asio;

enum class http_errc {
    timeout = 1,     // the deadline passed before the whole response was read
    body_too_large,  // the response body is over the limit
    bad_response,    // not parseable as an HTTP/1.x response
    connection_lost, // the daemon closed the connection before the response was complete
};
const boost::system::error_category& http_category();
boost::system::error_code make_error_code(http_errc e);

enum class http_method { get, post, delete_ };

struct http_outcome {
    boost::system::error_code ec; // set: no usable response (see `connected` for where it failed)
    bool connected = false;       // false with ec set: the socket could not be reached at all
    unsigned status = 0;
    std::string api_version;      // the "API-Version" response header, if present
    std::string body;
};

class unix_http_client {
public:
    static constexpr std::size_t default_body_limit = 8 * 1024 * 1024;

    unix_http_client(net::any_io_executor ex, std::string socket_path, std::size_t body_limit = default_body_limit);
    ~unix_http_client();
    unix_http_client(const unix_http_client&) = delete;
    unix_http_client& operator=(const unix_http_client&) = delete;

    // One request; the whole exchange (connect, write, read) must end before `deadline`.
    // `target` is the path and query ("/v1.41/containers/json?all=true"); like every view passed to
    // a coroutine it must stay valid until the request completes (pass a named local).
    net::awaitable<http_outcome> request(http_method method, std::string_view target,
                                         std::chrono::steady_clock::time_point deadline);

    // Ends every request in flight (their sockets are closed); later requests work normally.
    void cancel_all();

    const std::string& socket_path() const { return socket_path_; }

private:
    struct open_request; // defined in the .cpp: the socket of one request in flight
    using open_set = std::unordered_set<open_request*>;
    net::any_io_executor ex_;
    std::string socket_path_;
    std::size_t body_limit_;
    // Requests in flight, for cancel_all(). Shared with each request's frame so a frame destroyed
    // after the client (io_context torn down with work pending) never touches freed memory.
    // Bounded by the callers' own concurrency (docker_client caps parallel requests).
    std::shared_ptr<open_set> open_;
};

} // namespace corvid::agent::docker

template <> struct boost::system::is_error_code_enum<corvid::agent::docker::http_errc> : std::true_type {};
