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

class user_request {
public:
    explicit user_request(rest_call& c) : a_(c.a), req_(c.req), route_(c.path), peer_(c.peer), who_(*c.who) {}

    net::awaitable<http_response> list();
    net::awaitable<http_response> create();
    net::awaitable<http_response> patch();
    net::awaitable<http_response> remove();

private:
    http_response json(status s, std::string body) const { return json_response(req_, s, std::move(body)); }
    http_response error(status s, std::string_view m) const { return error_response(req_, s, m); }
    http_response busy() const;
    audit_record audit_base() const;
    // hash_password in the pool: nullopt when the pool is full (answer busy()).
    net::awaitable<std::optional<std::string>> hash(const std::string& password);

    // The answer to a change_user outcome other than done, or nothing.
    std::optional<http_response> refusal(const storage_result<user_change_result>& r) const;
    // Stores `change` of the route's user with its audit line, then has open sockets checked
    // against it at once rather than at the next poll.
    net::awaitable<storage_result<user_change_result>> commit(const user_change& change);

    app& a_;
    const http_request& req_;
    const path_params& route_;
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
        return storage_failure(req_, r.error());
    switch (r->status) {
    case user_change_status::done: return std::nullopt;
    case user_change_status::not_found: return error(status::not_found, "no such user");
    case user_change_status::last_admin: return error(status::conflict, last_admin_message);
    }
    return error(status::internal_server_error, "unexpected outcome");
}

net::awaitable<http_response> user_request::list()
{
    auto users = co_await a_.store.read([](storage& s) { return s.list_users(); });
    if (!users)
        co_return storage_failure(req_, users.error());
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
    auto body = read_new_user_body(req_.body());
    if (!body)
        co_return error(status::bad_request, body.error().message);
    user_record user;
    user.username = std::move(body->username);
    const std::string password = std::move(body->password);
    user.role = body->new_role;
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
        co_return storage_failure(req_, added.error());
    log::info("user '{}' created user '{}' with role {}", who_.username, user.username, role_name(user.role));
    co_return json(status::created, user_json(user, false));
}

net::awaitable<http_response> user_request::patch()
{
    auto body = read_user_patch_body(req_.body());
    if (!body)
        co_return error(status::bad_request, body.error().message);
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
    co_return no_content(req_);
}
} // namespace

boost::system::result<new_user_body, body_error> read_new_user_body(std::string_view body)
{
    auto fields = read_string_fields(body, {"username", "password", "role"});
    if (!fields)
        return fields.error();
    new_user_body out;
    out.username = std::move((*fields)["username"]);
    out.password = std::move((*fields)["password"]);
    if (auto problem = check_user_name(out.username))
        return body_error{std::move(*problem)};
    if (auto problem = check_new_password(out.password))
        return body_error{std::move(*problem)};
    const auto r = role_from_name((*fields)["role"]);
    if (!r)
        return body_error{"field 'role' must be admin, operator or viewer"};
    out.new_role = *r;
    return out;
}

// {"role"?,"disabled"?,"password"?}: at least one, each of its type; other fields are ignored.
boost::system::result<user_patch_body, body_error> read_user_patch_body(std::string_view body)
{
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    simdjson::dom::object obj;
    if (parser.parse(body.data(), body.size(), true).get(root))
        return body_error{"the body is not valid JSON"};
    if (root.get_object().get(obj))
        return body_error{"the body must be a JSON object"};
    user_patch_body out;
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
    if (out.password) {
        if (auto problem = check_new_password(*out.password))
            return body_error{std::move(*problem)};
    }
    return out;
}

net::awaitable<http_response> list_users(rest_call& c)
{
    return handle_with<user_request, &user_request::list>(c);
}

net::awaitable<http_response> create_user(rest_call& c)
{
    return handle_with<user_request, &user_request::create>(c);
}

net::awaitable<http_response> patch_user(rest_call& c)
{
    return handle_with<user_request, &user_request::patch>(c);
}

net::awaitable<http_response> delete_user(rest_call& c)
{
    return handle_with<user_request, &user_request::remove>(c);
}

} // namespace corvid::collector
