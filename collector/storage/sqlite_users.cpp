// Users in SQLite (the users table), and their audit lines (user.*).
#include "collector/storage/sqlite_storage_impl.hpp"

#include <fmt/format.h>
#include <utility>

#include "common/log.hpp"

namespace corvid::collector::sqlite {

// In the order read_user reads them.
#define CORVID_USER_COLUMNS "username, password_hash, role, created_at, disabled, token_generation"

storage_result<user_record> sqlite_storage::read_user(sqlite3_stmt* s)
{
    user_record u;
    u.username = column_text(s, 0);
    u.password_hash = column_text(s, 1);
    const auto r = role_from_name(column_text(s, 2));
    if (!r) {
        // The CHECK constraint keeps this out; only a hand-edited file gets here.
        log::error("storage: user row in {} has an unknown role", db_.path());
        return make_error_code(storage_errc::corrupt);
    }
    u.role = *r;
    u.created_at_ms = sqlite3_column_int64(s, 3);
    u.disabled = sqlite3_column_int64(s, 4) != 0;
    u.token_generation = sqlite3_column_int64(s, 5);
    return u;
}

storage_result<void> sqlite_storage::add_user(const user_record& user)
{
    static constexpr sql_statement sql{"add user", "INSERT INTO users (" CORVID_USER_COLUMNS
                                                   ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)"};
    return without_count(db_.run(sql, user.username, user.password_hash, role_name(user.role), user.created_at_ms,
                                 user.disabled, user.token_generation));
}

storage_result<std::optional<user_record>> sqlite_storage::find_user(std::string_view username)
{
    static constexpr sql_statement sql{"find user", "SELECT " CORVID_USER_COLUMNS " FROM users WHERE username = ?1"};
    return db_.query_one(sql, [this](sqlite3_stmt* s) { return read_user(s); }, username);
}

storage_result<std::vector<user_record>> sqlite_storage::list_users()
{
    static constexpr sql_statement sql{"list users", "SELECT " CORVID_USER_COLUMNS " FROM users ORDER BY username"};
    return db_.query_rows(sql, [this](sqlite3_stmt* s) { return read_user(s); });
}

storage_result<std::size_t> sqlite_storage::count_users()
{
    static constexpr sql_statement sql{"count users", "SELECT count(*) FROM users"};
    auto n = db_.query_one(sql, &read_first_integer);
    if (!n)
        return n.error();
    return static_cast<std::size_t>(n->value_or(0));
}

storage_result<void> sqlite_storage::create_user(const user_record& user, const audit_record& audit)
{
    auto r = db_.in_transaction([&]() -> storage_result<int> {
        if (auto added = add_user(user); !added)
            return added.error();
        audit_record line = audit;
        line.action = "user.created";
        line.detail = fmt::format("{} ({})", user.username, role_name(user.role));
        return insert_audit(line);
    });
    return without_count(r);
}

storage_result<user_change_result> sqlite_storage::change_user(std::string_view username, const user_change& change,
                                                               const audit_record& audit)
{
    return db_.in_transaction([&] { return apply_user_change(username, change, audit); });
}

storage_result<user_change_result> sqlite_storage::apply_user_change(std::string_view username,
                                                                     const user_change& change,
                                                                     const audit_record& audit)
{
    static constexpr sql_statement count_enabled_admins{
        "count admins", "SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0"};
    static constexpr sql_statement delete_user{"delete user", "DELETE FROM users WHERE username = ?1"};
    static constexpr sql_statement update_user{
        "update user",
        "UPDATE users SET password_hash = ?2, role = ?3, disabled = ?4, token_generation = ?5 WHERE username = ?1"};

    auto found = find_user(username);
    if (!found)
        return found.error();
    if (!*found)
        return user_change_result{user_change_status::not_found, std::nullopt};
    const user_record before = std::move(**found);
    user_record after = before;
    if (!change.remove) {
        if (change.role)
            after.role = *change.role;
        if (change.disabled)
            after.disabled = *change.disabled;
        if (change.password_hash)
            after.password_hash = *change.password_hash;
    }

    // The last enabled admin stays: without one, no one could manage users over the API again.
    const bool was_admin = before.role == role::admin && !before.disabled;
    const bool stays_admin = !change.remove && after.role == role::admin && !after.disabled;
    if (was_admin && !stays_admin) {
        auto admins = db_.query_one(count_enabled_admins, &read_first_integer);
        if (!admins)
            return admins.error();
        if (admins->value_or(0) <= 1)
            return user_change_result{user_change_status::last_admin, before};
    }

    std::vector<std::pair<std::string_view, std::string>> actions; // audit action, detail
    if (change.remove) {
        if (auto r = db_.run(delete_user, username); !r)
            return r.error();
        actions.emplace_back("user.deleted", before.username);
    } else {
        const bool password_changed = change.password_hash.has_value();
        const bool role_changed = after.role != before.role;
        const bool disabled_now = after.disabled && !before.disabled;
        if (before.disabled != after.disabled)
            actions.emplace_back(after.disabled ? "user.disabled" : "user.enabled", before.username);
        if (role_changed)
            actions.emplace_back("user.role_changed", fmt::format("{}: {} -> {}", before.username,
                                                                  role_name(before.role), role_name(after.role)));
        if (password_changed)
            actions.emplace_back("user.password_changed", before.username);
        if (change.revoke_tokens)
            actions.emplace_back("user.logout", before.username);
        if (actions.empty())
            return user_change_result{user_change_status::done, before};
        if (password_changed || role_changed || disabled_now || change.revoke_tokens)
            ++after.token_generation;
        if (auto r = db_.run(update_user, username, after.password_hash, role_name(after.role), after.disabled,
                             after.token_generation);
            !r)
            return r.error();
    }
    for (auto& [action, detail] : actions) {
        audit_record line = audit;
        line.action = std::string(action);
        line.detail = std::move(detail);
        if (auto a = insert_audit(line); !a)
            return a.error();
    }
    return user_change_result{user_change_status::done, std::move(after)}; // for a delete, as it was
}

} // namespace corvid::collector::sqlite
