#include "collector/http/user_api.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <fmt/format.h>
#include <simdjson.h>

#include "collector/auth/password.hpp"
#include "collector/http/json_body.hpp"
#include "collector/names.hpp"
#include "common/json_text.hpp"
#include "common/log.hpp"
#include "common/time_format.hpp"

namespace corvid::collector {
namespace http = boost::beast::http;
using status = http::status;

namespace {
constexpr std::string_view last_admin_message =
    "this would leave no enabled admin; make another user admin first";

std::string user_json(const user_record& u, bool with_disabled = true)
{
    std::string out = R"({"username":)";
    append_json_string(out, u.username);
    out += R"(,"role":)";
    append_json_string(out, role_name(u.role));
    if (with_disabled)
        out += fmt::format(R"(,"disabled":{})", u.disabled ? "true" : "false");
    out += '}';
    return out;
}

struct patch_body {
    std::optional<role> new_role;
    std::optional<bool> disabled;
    std::optional<std::string> password;
};

// {"role"?,"disabled"?,"password"?}: at least one, each of its type; other fields are ignored.
boost::system::result<patch_body, body_error> read_patch(std::string_view body)
{
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    simdjson::dom::object obj;
    if (parser.parse(body.data(), body.size(), true).get(root))
        return body_error{"the body is not valid JSON"};
    if (root.get_object().get(obj))
        return body_error{"the body must be a JSON object"};
    patch_body out;
    simdjson::dom::element v;
    if (!obj.at_key("role").get(v)) {
        std::string_view text;
        if (v.get_string().get(text) || !role_from_name(text))
            return body_error{"field 'role' must be admin, operator or viewer"};
        out.new_role = role_from_name(text);
    }
    if (!obj.at_key("disabled").get(v)) {
        bool b = false;
        if (v.get_bool().get(b))
            return body_error{"field 'disabled' must be true or false"};
        out.disabled = b;
    }
    if (!obj.at_key("password").get(v)) {
        std::string_view text;
        if (v.get_string().get(text))
            return body_error{"field 'password' must be a string"};
        out.password.emplace(text);
    }
    if (!out.new_role && !out.disabled && !out.password)
        return body_error{"nothing to change: give 'role', 'disabled' or 'password'"};
    return out;
}

class user_request {
public:
    user_request(app& a, const http_request& req, const route_match& route, const std::string& peer,
                 const principal& who)
        : a_(a), req_(req), route_(route), peer_(peer), who_(who)
    {
    }

    net::awaitable<http_response> dispatch();

private:
    http_response json(status s, std::string body) const { return json_response(req_, s, std::move(body)); }
    http_response error(status s, std::string_view m) const { return error_response(req_, s, m); }
    http_response busy() const;
    audit_record audit_base() const;
    // hash_password in the pool: nullopt when the pool is full (answer busy()).
    net::awaitable<std::optional<std::string>> hash(const std::string& password);

    net::awaitable<http_response> list();
    net::awaitable<http_response> create();
    net::awaitable<http_response> patch();
    net::awaitable<http_response> remove();
    // The answer to a change_user outcome other than done, or nothing.
    std::optional<http_response> refusal(const storage_result<user_change_result>& r) const;
    // Stores `change` of the route's user with its audit line, then has open sockets checked
    // against it at once rather than at the next poll.
    net::awaitable<storage_result<user_change_result>> commit(const user_change& change);

    app& a_;
    const http_request& req_;
    const route_match& route_;
    const std::string& peer_;
    const principal& who_;
};

http_response user_request::busy() const
{
    auto res = error(status::service_unavailable, "too many password operations in progress; try again shortly");
    res.set(http::field::retry_after, std::to_string(password_pool::retry_after_s));
    return res;
}

audit_record user_request::audit_base() const
{
    audit_record a;
    a.at_ms = now_unix_ms();
    a.actor = who_.username;
    a.address = peer_;
    return a;
}

net::awaitable<std::optional<std::string>> user_request::hash(const std::string& password)
{
    // hash_password throws bad_alloc when argon2's 64 MiB cannot be had: a 503 as well.
    auto hashed = co_await a_.passwords.run([&password]() -> std::optional<std::string> {
        try {
            return hash_password(password);
        } catch (const std::bad_alloc&) {
            return std::nullopt;
        }
    });
    if (!hashed || !*hashed)
        co_return std::nullopt;
    co_return std::move(**hashed);
}

net::awaitable<storage_result<user_change_result>> user_request::commit(const user_change& change)
{
    const auto audit = audit_base();
    const std::string& name = route_.username;
    auto changed = co_await a_.store.write([&](storage& s) { return s.change_user(name, change, audit); });
    a_.identities.check_soon();
    co_return changed;
}

std::optional<http_response> user_request::refusal(const storage_result<user_change_result>& r) const
{
    if (!r)
        return error(status::service_unavailable, "storage unavailable");
    switch (r->status) {
    case user_change_status::done: return std::nullopt;
    case user_change_status::not_found: return error(status::not_found, "no such user");
    case user_change_status::last_admin: return error(status::conflict, last_admin_message);
    }
    return error(status::internal_server_error, "unexpected outcome");
}

net::awaitable<http_response> user_request::dispatch()
{
    const auto verb = req_.method();
    http_response res;
    if (route_.id == route_id::users && verb == http::verb::get)
        res = co_await list();
    else if (route_.id == route_id::users)
        res = co_await create();
    else if (verb == http::verb::patch)
        res = co_await patch();
    else
        res = co_await remove();
    co_return res;
}

net::awaitable<http_response> user_request::list()
{
    auto users = co_await a_.store.read([](storage& s) { return s.list_users(); });
    if (!users)
        co_return error(status::service_unavailable, "storage unavailable");
    std::string body = "[";
    for (const auto& u : *users) {
        if (body.size() > 1)
            body += ',';
        body += user_json(u);
    }
    body += ']';
    co_return json(status::ok, std::move(body));
}

net::awaitable<http_response> user_request::create()
{
    auto fields = read_string_fields(req_.body(), {"username", "password", "role"});
    if (!fields)
        co_return error(status::bad_request, fields.error().message);
    user_record user;
    user.username = (*fields)["username"];
    const std::string password = (*fields)["password"];
    if (auto problem = check_user_name(user.username))
        co_return error(status::bad_request, *problem);
    if (auto problem = check_new_password(password))
        co_return error(status::bad_request, *problem);
    const auto r = role_from_name((*fields)["role"]);
    if (!r)
        co_return error(status::bad_request, "field 'role' must be admin, operator or viewer");
    user.role = *r;
    user.created_at_ms = now_unix_ms();
    auto hashed = co_await hash(password);
    if (!hashed)
        co_return busy();
    user.password_hash = std::move(*hashed);
    const auto audit = audit_base();
    auto added = co_await a_.store.write([&](storage& s) { return s.create_user(user, audit); });
    if (!added && added.error() == make_error_code(storage_errc::already_exists))
        co_return error(status::conflict, "a user of that name exists");
    if (!added)
        co_return error(status::service_unavailable, "storage unavailable");
    log::info("user '{}' created user '{}' with role {}", who_.username, user.username, role_name(user.role));
    co_return json(status::created, user_json(user, false));
}

net::awaitable<http_response> user_request::patch()
{
    auto body = read_patch(req_.body());
    if (!body)
        co_return error(status::bad_request, body.error().message);
    if (body->password) {
        if (auto problem = check_new_password(*body->password))
            co_return error(status::bad_request, *problem);
    }
    user_change change;
    change.role = body->new_role;
    change.disabled = body->disabled;
    if (body->password) {
        auto hashed = co_await hash(*body->password);
        if (!hashed)
            co_return busy();
        change.password_hash = std::move(*hashed);
    }
    const std::string& name = route_.username;
    auto changed = co_await commit(change);
    if (auto refused = refusal(changed))
        co_return std::move(*refused);
    log::info("user '{}' changed user '{}'", who_.username, name);
    co_return json(status::ok, user_json(*changed->user));
}

net::awaitable<http_response> user_request::remove()
{
    user_change change;
    change.remove = true;
    const std::string& name = route_.username;
    auto changed = co_await commit(change);
    if (auto refused = refusal(changed))
        co_return std::move(*refused);
    log::info("user '{}' deleted user '{}'", who_.username, name);
    http_response res{status::no_content, req_.version()};
    res.keep_alive(req_.keep_alive());
    co_return res;
}
} // namespace

bool is_user_route(route_id id) { return id == route_id::users || id == route_id::user; }

net::awaitable<http_response> handle_user_route(app& a, const http_request& req, const route_match& route,
                                                const std::string& peer, const principal& who)
{
    user_request r(a, req, route, peer, who);
    co_return co_await r.dispatch();
}

} // namespace corvid::collector
