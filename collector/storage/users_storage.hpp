#pragma once
// Storage of operator accounts: who may sign in, with which role, and the token generation that
// revokes their tokens. Part of the storage interface (storage.hpp; its threading rule holds).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/auth/role.hpp"
#include "collector/storage/audit_record.hpp"
#include "collector/storage/storage_error.hpp"

namespace corvid::collector {

struct user_record {
    std::string username;
    std::string password_hash; // libsodium crypto_pwhash_str (argon2id) string
    collector::role role = role::viewer;
    std::int64_t created_at_ms = 0;
    bool disabled = false; // a disabled user cannot log in, and its tokens and sockets stop working
    // Tokens carry the generation they were issued under ("gen", jwt.hpp) and are valid only while
    // it equals this one: change_user moves it on to revoke every token the user holds.
    std::int64_t token_generation = 0;
};

// What change_user does to one user. Empty fields are kept as they are.
struct user_change {
    std::optional<collector::role> role;
    std::optional<bool> disabled;
    std::optional<std::string> password_hash; // a new hash_password() string
    bool revoke_tokens = false;               // logout: only the token generation moves on
    bool remove = false;                      // delete the user; the other fields are ignored
};

enum class user_change_status {
    done,
    not_found,
    last_admin, // refused: it would leave no enabled admin (delete, disable or demote the last one)
};

struct user_change_result {
    user_change_status status = user_change_status::not_found;
    std::optional<user_record> user; // after the change; as it was, for a delete
};

class users_storage {
public:
    virtual ~users_storage() = default;

    virtual storage_result<void> add_user(const user_record& user) = 0;
    virtual storage_result<std::optional<user_record>> find_user(std::string_view username) = 0;
    virtual storage_result<std::size_t> count_users() = 0;
    // Every user, by name. The table is small (operators, not customers): one read serves the
    // periodic check of every open operator socket (identity_watch.hpp).
    virtual storage_result<std::vector<user_record>> list_users() = 0;
    // add_user and its audit line (action user.created), in one transaction.
    virtual storage_result<void> create_user(const user_record& user, const audit_record& audit) = 0;
    // Applies `change` to `username` and appends one audit line per effective change, in one
    // transaction (BEGIN IMMEDIATE, so the last-admin check holds against other processes too).
    // `audit` gives at_ms, actor and address; action and detail are filled in per change:
    //   user.deleted, user.disabled, user.enabled, user.password_changed, user.role_changed
    //   (detail "NAME: OLD -> NEW"), user.logout; detail is the user's name otherwise.
    // The token generation moves on (revoking every token of the user) on a password change, a
    // role change (up or down: the web UI learns a user's role at sign-in), a disable and a
    // logout. A change that changes nothing (e.g. disabling a disabled user) writes nothing.
    // Refused with last_admin when the user is the last enabled admin and would be deleted,
    // disabled or demoted.
    virtual storage_result<user_change_result> change_user(std::string_view username, const user_change& change,
                                                           const audit_record& audit) = 0;
};

} // namespace corvid::collector
