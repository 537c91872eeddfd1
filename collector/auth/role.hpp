#pragma once
// An operator's role and its name as stored (users.role) and sent (the API, the CLI, tokens).
// Header-only; no threading concerns (pure functions over constants).
#include <optional>
#include <string_view>

namespace corvid::collector {

enum class role { viewer = 1, operator_ = 2, admin = 3 }; // ordered: a higher role may do all a lower may

constexpr std::optional<role> role_from_name(std::string_view name)
{
    if (name == "viewer")
        return role::viewer;
    if (name == "operator")
        return role::operator_;
    if (name == "admin")
        return role::admin;
    return std::nullopt;
}

constexpr std::string_view role_name(role r)
{
    switch (r) {
    case role::viewer: return "viewer";
    case role::operator_: return "operator";
    case role::admin: return "admin";
    }
    return "viewer"; // unreachable for valid enumerators; the least privilege is the safe answer
}

} // namespace corvid::collector
