#include "collector/cli.hpp"

#include <cstdio>
#include <iostream>
#include <termios.h>
#include <unistd.h>

#include "collector/auth/api_key.hpp"
#include "collector/auth/password.hpp"
#include "collector/data_dir.hpp"
#include "collector/names.hpp"
#include "common/random.hpp"
#include "common/time_format.hpp"

namespace corvid::collector {
namespace {
std::string read_password()
{
    const bool tty = ::isatty(STDIN_FILENO);
    termios old_mode{};
    if (tty) {
        std::fprintf(stderr, "Password: ");
        ::tcgetattr(STDIN_FILENO, &old_mode);
        termios quiet = old_mode;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
    std::string password;
    std::getline(std::cin, password);
    if (tty) {
        ::tcsetattr(STDIN_FILENO, TCSANOW, &old_mode);
        std::fprintf(stderr, "\n");
    }
    if (!password.empty() && password.back() == '\r')
        password.pop_back();
    return password;
}

std::unique_ptr<storage> open_or_report(const collector_invocation& inv)
{
    auto db = open_database(inv.config, true);
    if (!db) {
        std::fprintf(stderr, "corvid-collector: cannot open %s: %s\n", database_path(inv.config).c_str(),
                     db.error().message().c_str());
        return nullptr;
    }
    return std::move(*db);
}
} // namespace

int run_user_add(const collector_invocation& inv)
{
    const auto role = role_from_name(inv.role);
    if (!role) {
        std::fprintf(stderr, "corvid-collector: --role must be admin, operator or viewer\n");
        return 2;
    }
    const auto password = read_password();
    if (password.size() < 8) {
        std::fprintf(stderr, "corvid-collector: the password must have at least 8 characters\n");
        return 2;
    }
    auto db = open_or_report(inv);
    if (!db)
        return 1;
    user_record user{inv.name, hash_password(password), *role, now_unix_ms()};
    auto added = db->add_user(user);
    if (!added) {
        if (added.error() == make_error_code(storage_errc::already_exists))
            std::fprintf(stderr, "corvid-collector: user '%s' already exists\n", inv.name.c_str());
        else
            std::fprintf(stderr, "corvid-collector: adding the user failed: %s\n", added.error().message().c_str());
        return 1;
    }
    std::fprintf(stderr, "user '%s' added with role %s\n", inv.name.c_str(), inv.role.c_str());
    return 0;
}

int run_server_add(const collector_invocation& inv)
{
    auto db = open_or_report(inv);
    if (!db)
        return 1;
    // The agent's config needs the collector's public key next to its API key: load (or make) it
    // first, so a failure leaves no server behind whose key was never shown.
    auto keys = load_command_keys(inv.config);
    if (!keys) {
        std::fprintf(stderr, "corvid-collector: cannot load the command signing key %s: %s\n",
                     command_key_path(inv.config).c_str(), keys.error().message().c_str());
        return 1;
    }
    server_record server;
    server.id = uuid_v4();
    server.name = inv.name;
    server.created_at_ms = now_unix_ms();
    const auto key = generate_api_key();
    auto added = db->add_server(server, hash_api_key(key));
    if (!added) {
        std::fprintf(stderr, "corvid-collector: adding the server failed: %s\n", added.error().message().c_str());
        return 1;
    }
    const auto line = server_created_json(server.id, server.name, key, base64_encode(keys->public_key));
    std::printf("%s\n", line.c_str());
    return 0;
}

} // namespace corvid::collector
