#include "collector/cli.hpp"

#include <cstdio>
#include <iostream>
#include <pwd.h>
#include <termios.h>
#include <unistd.h>

#include "collector/auth/api_key.hpp"
#include "collector/auth/password.hpp"
#include "collector/data_dir.hpp"
#include "collector/names.hpp"
#include "common/json_text.hpp"
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

// Who changed a user, for the audit log: the Unix account that ran the command.
audit_record cli_audit()
{
    audit_record a;
    a.at_ms = now_unix_ms();
    const passwd* pw = ::getpwuid(::geteuid());
    a.actor = "cli:" + (pw && pw->pw_name ? std::string(pw->pw_name) : std::to_string(::geteuid()));
    return a;
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
    if (auto problem = check_new_password(password)) {
        std::fprintf(stderr, "corvid-collector: %s\n", problem->c_str());
        return 2;
    }
    auto db = open_or_report(inv);
    if (!db)
        return 1;
    user_record user{inv.name, hash_password(password), *role, now_unix_ms()};
    auto added = db->create_user(user, cli_audit());
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

int run_user_list(const collector_invocation& inv)
{
    auto db = open_or_report(inv);
    if (!db)
        return 1;
    auto users = db->list_users();
    if (!users) {
        std::fprintf(stderr, "corvid-collector: listing the users failed: %s\n", users.error().message().c_str());
        return 1;
    }
    std::string out = "[";
    for (const auto& u : *users) {
        if (out.size() > 1)
            out += ',';
        out += R"({"username":)";
        append_json_string(out, u.username);
        out += R"(,"role":)";
        append_json_string(out, role_name(u.role));
        out += u.disabled ? R"(,"disabled":true})" : R"(,"disabled":false})";
    }
    out += ']';
    std::printf("%s\n", out.c_str());
    return 0;
}

int run_user_change(const collector_invocation& inv)
{
    user_change change;
    std::string_view done;
    switch (inv.command) {
    case command_kind::user_delete:
        change.remove = true;
        done = "deleted";
        break;
    case command_kind::user_disable:
        change.disabled = true;
        done = "disabled";
        break;
    case command_kind::user_enable:
        change.disabled = false;
        done = "enabled";
        break;
    case command_kind::user_role:
        change.role = role_from_name(inv.role);
        done = "given its role";
        break;
    case command_kind::user_passwd: {
        const auto password = read_password();
        if (auto problem = check_new_password(password)) {
            std::fprintf(stderr, "corvid-collector: %s\n", problem->c_str());
            return 2;
        }
        change.password_hash = hash_password(password);
        done = "given a new password";
        break;
    }
    default: return 2;
    }
    auto db = open_or_report(inv);
    if (!db)
        return 1;
    auto changed = db->change_user(inv.name, change, cli_audit());
    if (!changed) {
        std::fprintf(stderr, "corvid-collector: changing the user failed: %s\n", changed.error().message().c_str());
        return 1;
    }
    switch (changed->status) {
    case user_change_status::not_found:
        std::fprintf(stderr, "corvid-collector: no user '%s'\n", inv.name.c_str());
        return 1;
    case user_change_status::last_admin:
        std::fprintf(stderr, "corvid-collector: '%s' is the last enabled admin; make another user admin first\n",
                     inv.name.c_str());
        return 1;
    case user_change_status::done: break;
    }
    std::fprintf(stderr, "user '%s' %.*s\n", inv.name.c_str(), static_cast<int>(done.size()), done.data());
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
