#pragma once
// The collector's single listener: HTTP/1.1 with keep-alive for the REST API, and WebSocket
// upgrades for agents and frontends, one coroutine per connection; https/wss instead when a TLS
// context is set. Limits: 8 KiB of headers, config.max_body_bytes of body, 10 s for the TLS
// handshake, 10 s from a request's first byte to the end of its headers and 30 s to the end of
// its body (no slowloris), 60 s idle between keep-alive requests, and
// config.max_connections_per_address concurrent connections per source address.
// Every connection runs in the app's connection group: stop() only closes the listener, and the
// group's stop (see main) ends idle keep-alive connections and TLS handshakes (their stop hooks
// close the socket), lets requests in progress answer (then the connection ends), and closes
// WebSocket sessions with 1001.
// io thread only.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>

#include "collector/app.hpp"
#include "collector/limits/rate_limit.hpp"

namespace boost::asio::ssl {
class context;
}

namespace corvid::collector {

class http_server {
public:
    explicit http_server(app& a);
    ~http_server();
    // Binds and listens; returns the bound endpoint (port 0 picks a free port).
    boost::system::result<net::ip::tcp::endpoint> listen(const std::string& host, const std::string& port);
    // Serve TLS with `context` from now on. Each connection keeps the context it was accepted
    // with, so replacing it (a certificate reload) changes new connections only; none is dropped.
    void set_tls(std::shared_ptr<net::ssl::context> context);
    bool tls() const { return tls_ != nullptr; }
    void start();
    void stop();

private:
    net::awaitable<void> accept_loop();
    net::awaitable<void> serve(net::ip::tcp::socket socket, connection_slot slot);
    // The HTTP request loop over a plain or TLS stream; `tls` is the stream's context, or null.
    template <class Stream>
    net::awaitable<void> serve_http(Stream& stream, const std::string& peer,
                                    const std::shared_ptr<net::ssl::context>& tls);

    app& app_;
    net::ip::tcp::acceptor acceptor_;
    std::shared_ptr<net::ssl::context> tls_;    // null: plain HTTP
    bool accept_failing_ = false;               // logged once per episode of accept errors
    std::shared_ptr<connection_limiter> per_address_; // open connections by source address
};

} // namespace corvid::collector
