#pragma once
// The names operators give users and servers, checked by the same rules wherever a name comes in
// (`user add NAME`, `server add NAME`, POST /api/v1/servers), and the one JSON reply that hands
// out a new server's API key. Pure functions, safe on any thread.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace corvid::collector {

constexpr std::size_t max_user_name = 64;    // ASCII only, so bytes and characters agree
constexpr std::size_t max_server_name = 128; // characters, not bytes

// 1 to 64 of A-Z a-z 0-9 . _ -; returns the problem, for the operator, or nothing.
std::optional<std::string> check_user_name(std::string_view name);

// 1 to 128 characters of well-formed UTF-8, none of them a control character (C0, DEL, C1), and
// no space at either end; returns the problem, for the operator, or nothing.
std::optional<std::string> check_server_name(std::string_view name);

// {"id":…,"name":…,"api_key":…,"collector_public_key":…}: what `server add` prints and
// POST /api/v1/servers returns: everything an agent's config needs. The API key is shown only
// here; the collector keeps its hash alone. The public key (base64) verifies signed commands.
std::string server_created_json(std::string_view id, std::string_view name, std::string_view api_key,
                                std::string_view collector_public_key);

} // namespace corvid::collector
