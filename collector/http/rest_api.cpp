#include "collector/http/rest_api.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <charconv>
#include <fmt/format.h>

#include "collector/auth/api_key.hpp"
#include "collector/auth/jwt.hpp"
#include "collector/auth/password.hpp"
#include "collector/http/command_api.hpp"
#include "collector/http/json_body.hpp"
#include "collector/http/log_api.hpp"
#include "collector/http/user_api.hpp"
#include "collector/names.hpp"
#include "collector/operator_auth.hpp"
#include "common/json_text.hpp"
#include "common/log.hpp"
#include "common/random.hpp"
#include "common/time_format.hpp"

namespace corvid::collector {
namespace http = boost::beast::http;
using status = http::status;

namespace {
constexpr std::size_t max_samples_per_request = 10000;
// A history answer stops after the sample that takes it to this many bytes (issue 12.8: one call
// returned 61 MB). Samples are at most 64 KiB each (PROTOCOL.md), so a body stays under 8.1 MiB.
constexpr std::size_t max_history_body_bytes = 8 * 1024 * 1024;

std::string error_body(std::string_view message)
{
    std::string s = R"({"error":)";
    append_json_string(s, message);
    s += '}';
    return s;
}

std::string server_json(const server_record& s, bool online, std::optional<std::int64_t> last_seen)
{
    std::string out = R"({"id":)";
    append_json_string(out, s.id);
    out += R"(,"name":)";
    append_json_string(out, s.name);
    out += fmt::format(R"(,"online":{},"last_seen":)", online ? "true" : "false");
    if (last_seen)
        append_json_string(out, format_iso8601_ms(*last_seen));
    else
        out += "null";
    out += R"(,"hostname":)";
    append_json_string(out, s.hostname);
    out += R"(,"agent_version":)";
    append_json_string(out, s.agent_version);
    out += '}';
    return out;
}

// A constant hash to verify against when the user does not exist, so that a login for an
// unknown name takes as long as one with a wrong password (no user enumeration by timing).
const std::string& dummy_password_hash()
{
    static const std::string hash = hash_password(random_bytes(16));
    return hash;
}

class request_context {
public:
    request_context(app& a, const http_request& req, const route_match& route, const std::string& peer)
        : a_(a), req_(req), route_(route), peer_(peer)
    {
    }

    net::awaitable<http_response> dispatch();

private:
    http_response json(status s, std::string body) const { return json_response(req_, s, std::move(body)); }
    http_response error(status s, std::string_view m) const { return error_response(req_, s, m); }

    // Authenticates the bearer token and checks the role; on failure `refusal` holds the response.
    net::awaitable<std::optional<principal>> require(role needed, std::optional<http_response>& refusal);

    net::awaitable<http_response> login();
    net::awaitable<http_response> logout(const principal& who);
    net::awaitable<http_response> list_servers();
    net::awaitable<http_response> get_server();
    net::awaitable<http_response> create_server(const principal& who);
    net::awaitable<http_response> delete_server(const principal& who);
    net::awaitable<http_response> rotate_key(const principal& who);
    net::awaitable<http_response> metrics();
    http_response health() const;

    app& a_;
    const http_request& req_;
    const route_match& route_;
    const std::string& peer_;
};

net::awaitable<std::optional<principal>> request_context::require(role needed, std::optional<http_response>& refusal)
{
    const auto header = req_[http::field::authorization];
    constexpr std::string_view scheme = "bearer ";
    if (header.size() <= scheme.size()
        || !std::equal(scheme.begin(), scheme.end(), header.begin(),
                       [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); })) {
        refusal = error(status::unauthorized, "missing bearer token");
        co_return std::nullopt;
    }
    auto outcome = co_await authenticate_token(a_, header.substr(scheme.size()));
    if (!outcome.who) {
        log::info("request {} {} from {} refused: {}", std::string(req_.method_string()), std::string(req_.target()),
                  peer_, outcome.why);
        refusal = error(status::unauthorized, "invalid or expired token");
        co_return std::nullopt;
    }
    if (outcome.who->role < needed) {
        refusal = error(status::forbidden, fmt::format("this needs the {} role", role_name(needed)));
        co_return std::nullopt;
    }
    co_return outcome.who;
}

net::awaitable<http_response> request_context::dispatch()
{
    const auto verb = req_.method();
    if (route_.id == route_id::health)
        co_return health();
    if (route_.id == route_id::login)
        co_return co_await login();

    const bool reading = verb == http::verb::get;
    const bool command_route = is_command_route(route_.id); // these check roles per route
    const bool user_route = is_user_route(route_.id);       // all admin, reading included
    role needed = reading || command_route ? role::viewer : role::admin;
    if (user_route)
        needed = role::admin;
    if (route_.id == route_id::logout)
        needed = role::viewer; // anyone may end their own sessions
    std::optional<http_response> refusal;
    auto who = co_await require(needed, refusal);
    if (!who)
        co_return std::move(*refusal);
    // One co_await per statement, never inside ?: (see "GCC 12 and coroutines" in README).
    http_response res;
    if (route_.id == route_id::logout)
        res = co_await logout(*who);
    else if (user_route)
        res = co_await handle_user_route(a_, req_, route_, peer_, *who);
    else if (command_route)
        res = co_await handle_command_route(a_, req_, route_, peer_, *who);
    else if (is_log_route(route_.id))
        res = co_await handle_log_route(a_, req_, route_, *who);
    else if (route_.id == route_id::servers && reading)
        res = co_await list_servers();
    else if (route_.id == route_id::servers)
        res = co_await create_server(*who);
    else if (route_.id == route_id::server && reading)
        res = co_await get_server();
    else if (route_.id == route_id::server)
        res = co_await delete_server(*who);
    else if (route_.id == route_id::server_api_key)
        res = co_await rotate_key(*who);
    else if (route_.id == route_id::server_metrics)
        res = co_await metrics();
    else
        res = error(status::not_found, "no such route");
    co_return res;
}

net::awaitable<http_response> request_context::login()
{
    auto fields = read_string_fields(req_.body(), {"username", "password"});
    if (!fields)
        co_return error(status::bad_request, fields.error().message);
    const std::string username = (*fields)["username"];
    const std::string password = (*fields)["password"];
    // The attempt counts (per user and per address) before anything is verified, so parallel
    // guesses are all counted before the first is checked (login_attempts.hpp).
    auto reserved = a_.logins.begin(username, peer_, login_attempts::clock::now());
    if (auto* wait = std::get_if<std::chrono::seconds>(&reserved)) {
        auto res = json(status::too_many_requests,
                        fmt::format(R"({{"error":"too many failed logins","retry_after":{}}})", wait->count()));
        res.set(http::field::retry_after, std::to_string(wait->count()));
        co_return res;
    }
    const auto ticket = std::get<login_attempts::ticket>(std::move(reserved));
    // The lookup is a storage read; only the argon2id verification runs in the password pool.
    auto found = co_await a_.store.read([&](storage& s) { return s.find_user(username); });
    if (!found) {
        a_.logins.abandoned(ticket);
        log::error("login lookup failed: {}", found.error().message());
        co_return error(status::service_unavailable, "storage unavailable");
    }
    // An unknown user is verified against a constant hash: as slow as a wrong password. (Made on a
    // pool thread the first time: hashing never runs on the io thread.)
    const std::string* stored = *found ? &(*found)->password_hash : nullptr;
    auto verified = co_await a_.passwords.run(
        [stored, &password] { return verify_password(stored ? *stored : dummy_password_hash(), password); });
    if (!verified) {
        a_.logins.abandoned(ticket); // never verified: not a guess
        auto res = error(status::service_unavailable, "too many logins in progress; try again shortly");
        res.set(http::field::retry_after, std::to_string(password_pool::retry_after_s));
        co_return res;
    }
    // A disabled user with the right password is refused like a wrong one: the answer must not
    // confirm a password that would work again once the user is enabled.
    if (!*verified || !*found || (*found)->disabled) {
        a_.logins.failed(ticket);
        log::warn("failed login for user '{}' from {}", make_valid_utf8(username.substr(0, 64)), peer_);
        co_return error(status::unauthorized, "invalid credentials");
    }
    a_.logins.succeeded(ticket);
    token_claims claims;
    claims.subject = (*found)->username;
    claims.issued_at_s = now_unix_ms() / 1000;
    claims.expires_at_s = claims.issued_at_s + a_.config.token_ttl_s;
    claims.generation = (*found)->token_generation;
    const auto token = issue_token(a_.token_secret, claims);
    log::info("user '{}' logged in from {}", claims.subject, peer_);
    co_return json(status::ok, fmt::format(R"({{"access_token":"{}","token_type":"bearer","expires_in":{}}})", token,
                                           a_.config.token_ttl_s));
}

net::awaitable<http_response> request_context::logout(const principal& who)
{
    user_change change;
    change.revoke_tokens = true;
    audit_record line;
    line.at_ms = now_unix_ms();
    line.actor = who.username;
    line.address = peer_;
    auto changed = co_await a_.store.write([&](storage& s) { return s.change_user(who.username, change, line); });
    if (!changed)
        co_return error(status::service_unavailable, "storage unavailable");
    // Every token of the user stops working now; its open sockets close within a second.
    a_.identities.check_soon();
    log::info("user '{}' logged out from {}: all of its tokens are revoked", who.username, peer_);
    http_response res{status::no_content, req_.version()};
    res.keep_alive(req_.keep_alive());
    co_return res;
}

net::awaitable<http_response> request_context::list_servers()
{
    auto servers = co_await a_.store.read([](storage& s) { return s.list_servers(); });
    if (!servers)
        co_return error(status::service_unavailable, "storage unavailable");
    std::string body = "[";
    for (const auto& s : *servers) {
        if (body.size() > 1)
            body += ',';
        const bool online = a_.agents.online(s.id);
        body += server_json(s, online, online ? a_.agents.last_seen_ms(s.id) : s.last_seen_ms);
    }
    body += ']';
    co_return json(status::ok, std::move(body));
}

net::awaitable<http_response> request_context::get_server()
{
    auto server = co_await a_.store.read([&](storage& s) { return s.find_server(route_.server_id); });
    if (!server)
        co_return error(status::service_unavailable, "storage unavailable");
    if (!*server)
        co_return error(status::not_found, "no such server");
    const bool online = a_.agents.online(route_.server_id);
    co_return json(status::ok,
                   server_json(**server, online, online ? a_.agents.last_seen_ms(route_.server_id) : (*server)->last_seen_ms));
}

net::awaitable<http_response> request_context::create_server(const principal& who)
{
    auto fields = read_string_fields(req_.body(), {"name"});
    if (!fields)
        co_return error(status::bad_request, fields.error().message);
    const std::string name = (*fields)["name"];
    if (auto problem = check_server_name(name))
        co_return error(status::bad_request, *problem);
    server_record rec;
    rec.id = uuid_v4();
    rec.name = name;
    rec.created_at_ms = now_unix_ms();
    const auto key = generate_api_key();
    const auto hash = hash_api_key(key);
    auto added = co_await a_.store.write([&](storage& s) { return s.add_server(rec, hash); });
    if (!added)
        co_return error(status::service_unavailable, "storage unavailable");
    log::info("user '{}' created server {} ('{}')", who.username, rec.id, rec.name);
    co_return json(status::created,
                   server_created_json(rec.id, rec.name, key, base64_encode(a_.command_keys.public_key)));
}

net::awaitable<http_response> request_context::delete_server(const principal& who)
{
    // Close live sockets first, so no new sample of this server is queued after the delete.
    a_.agents.close(route_.server_id, "server deleted");
    a_.hub.forget_server(route_.server_id);
    a_.logs.forget_server(route_.server_id);
    auto deleted = co_await a_.store.write([&](storage& s) { return s.delete_server(route_.server_id); });
    if (!deleted)
        co_return error(status::service_unavailable, "storage unavailable");
    if (!*deleted)
        co_return error(status::not_found, "no such server");
    log::info("user '{}' deleted server {}", who.username, route_.server_id);
    http_response res{status::no_content, req_.version()};
    res.keep_alive(req_.keep_alive());
    co_return res;
}

net::awaitable<http_response> request_context::rotate_key(const principal& who)
{
    const auto key = generate_api_key();
    const auto hash = hash_api_key(key);
    auto replaced = co_await a_.store.write([&](storage& s) { return s.replace_api_key_hash(route_.server_id, hash); });
    if (!replaced)
        co_return error(status::service_unavailable, "storage unavailable");
    if (!*replaced)
        co_return error(status::not_found, "no such server");
    // The old key stops working now, and so does the connection it opened.
    a_.agents.close(route_.server_id, "API key rotated");
    log::info("user '{}' rotated the API key of server {}", who.username, route_.server_id);
    std::string body = R"({"api_key":)";
    append_json_string(body, key);
    body += '}';
    co_return json(status::ok, std::move(body));
}

net::awaitable<http_response> request_context::metrics()
{
    auto query = parse_query(req_.target());
    if (!query)
        co_return error(status::bad_request, "malformed query string");
    const auto now_s = now_unix_ms() / 1000;
    std::int64_t to = now_s, from = now_s - 3600;
    constexpr std::int64_t max_unix_s = 253402300799; // 9999-12-31T23:59:59Z
    const auto to_param = query_int(*query, "to", 0, max_unix_s);
    if (!to_param)
        co_return error(status::bad_request, "'to' must be a Unix time in seconds");
    const auto from_param = query_int(*query, "from", 0, max_unix_s);
    if (!from_param)
        co_return error(status::bad_request, "'from' must be a Unix time in seconds");
    const auto limit_param = query_int(*query, "limit", 1, static_cast<std::int64_t>(max_samples_per_request));
    if (!limit_param)
        co_return error(status::bad_request, fmt::format("'limit' must be 1 to {}", max_samples_per_request));
    if (*to_param) {
        to = **to_param;
        from = to - 3600;
    }
    if (*from_param)
        from = **from_param;
    const auto limit = static_cast<std::size_t>(limit_param->value_or(max_samples_per_request));
    if (from > to)
        co_return error(status::bad_request, "'from' is after 'to'");
    const std::string id = route_.server_id;
    auto missing = co_await server_missing(a_, req_, id);
    if (missing)
        co_return std::move(*missing);
    // `to` covers its whole second. The body (up to 10,000 samples, about max_history_body_bytes)
    // is assembled on the reader thread; `truncated` says the client should ask again from the
    // last timestamp it got.
    auto body = co_await a_.store.read([&](storage& s) -> storage_result<std::string> {
        auto rows = s.samples_between(id, from * 1000, to * 1000 + 999, limit, max_history_body_bytes);
        if (!rows)
            return rows.error();
        std::string out = R"({"server_id":)";
        append_json_string(out, id);
        out += R"(,"samples":[)";
        std::size_t bytes = 0;
        for (std::size_t i = 0; i < rows->size(); ++i) {
            if (i)
                out += ',';
            out += (*rows)[i].data_json;
            bytes += (*rows)[i].data_json.size();
        }
        const bool cut = rows->size() == limit || bytes >= max_history_body_bytes;
        out += fmt::format(R"(],"truncated":{}}})", cut ? "true" : "false");
        return out;
    });
    if (!body)
        co_return error(status::service_unavailable, "storage unavailable");
    co_return json(status::ok, std::move(*body));
}

http_response request_context::health() const
{
    return json(status::ok, fmt::format(R"({{"status":"healthy","agents_connected":{},"frontends_connected":{}}})",
                                        a_.agents.count(), a_.hub.subscriber_count()));
}
} // namespace

http_response json_response(const http_request& req, status s, std::string body)
{
    http_response res{s, req.version()};
    res.set(http::field::server, "corvid-collector");
    res.set(http::field::content_type, "application/json");
    res.set(http::field::cache_control, "no-store");
    res.set("X-Content-Type-Options", "nosniff");
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

http_response error_response(const http_request& req, status s, std::string_view message)
{
    return json_response(req, s, error_body(message));
}

net::awaitable<std::optional<http_response>> server_missing(app& a, const http_request& req, const std::string& id)
{
    auto server = co_await a.store.read([&](storage& s) { return s.find_server(id); });
    if (!server)
        co_return error_response(req, status::service_unavailable, "storage unavailable");
    if (!*server)
        co_return error_response(req, status::not_found, "no such server");
    co_return std::nullopt;
}

net::awaitable<http_response> handle_rest(app& a, const http_request& req, const route_match& route,
                                          const std::string& peer_address)
{
    request_context ctx(a, req, route, peer_address);
    co_return co_await ctx.dispatch();
}

} // namespace corvid::collector
