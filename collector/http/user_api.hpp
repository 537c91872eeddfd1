#pragma once
// The admin's REST routes for operators' accounts (README, "REST API"):
//   GET    /api/v1/users                → 200 [{"username","role","disabled"}]
//   POST   /api/v1/users {"username","password","role"}      → 201 {"username","role"}; 409 taken
//   PATCH  /api/v1/users/{username} {"role"?,"disabled"?,"password"?} → 200 {"username","role","disabled"}
//   DELETE /api/v1/users/{username}     → 204
// Unknown user 404; a body that breaks the rules (names.hpp, check_new_password, the three roles)
// 400; deleting, disabling or demoting the last enabled admin 409. Every change is audited
// (storage::change_user) with the admin as actor, revokes tokens as change_user says, and asks
// the identity watch to re-check open sockets at once. Password hashing runs in app::passwords;
// when that is full the answer is 503 with Retry-After.
// The admin role is checked by their route table rows (routes.cpp).
// io thread only.
#include <boost/asio/awaitable.hpp>

#include "collector/app.hpp"
#include "collector/http/rest_api.hpp"

namespace corvid::collector {

// The request bodies of this file, as the handlers decode them (and the OpenAPI examples must).
struct new_user_body {
    std::string username, password; // check_user_name, check_new_password
    role new_role = role::viewer;
};
boost::system::result<new_user_body, body_error> read_new_user_body(std::string_view body);
struct user_patch_body {
    std::optional<role> new_role;
    std::optional<bool> disabled;
    std::optional<std::string> password; // check_new_password
};
boost::system::result<user_patch_body, body_error> read_user_patch_body(std::string_view body);

net::awaitable<http_response> list_users(rest_call& c);  // GET    /api/v1/users
net::awaitable<http_response> create_user(rest_call& c); // POST   /api/v1/users
net::awaitable<http_response> patch_user(rest_call& c);  // PATCH  /api/v1/users/{username}
net::awaitable<http_response> delete_user(rest_call& c); // DELETE /api/v1/users/{username}

} // namespace corvid::collector
