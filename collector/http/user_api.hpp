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
// The caller has authenticated the token and checked the admin role.
// io thread only.
#include <boost/asio/awaitable.hpp>

#include "collector/app.hpp"
#include "collector/http/rest_api.hpp"
#include "collector/operator_auth.hpp"

namespace corvid::collector {

bool is_user_route(route_id id);

net::awaitable<http_response> handle_user_route(app& a, const http_request& req, const route_match& route,
                                                const std::string& peer, const principal& who);

} // namespace corvid::collector
