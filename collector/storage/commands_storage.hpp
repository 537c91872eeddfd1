#pragma once
// Storage of dispatched commands (shell and Docker actions), their outcomes, and the append-only
// audit log of who did what. Part of the storage interface (storage.hpp; its threading rule holds).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/storage/audit_record.hpp"
#include "collector/storage/storage_error.hpp"

namespace corvid::collector {

// One command or Docker action an operator dispatched, and what became of it (README, "Commands").
struct command_record {
    std::string id;        // uuid, also the wire's command_id
    std::string server_id;
    std::string kind;      // "shell" or "docker"
    std::string command;   // the exact command line, or "<action> <container>"
    std::uint32_t timeout_s = 0;
    std::string issued_by; // username
    std::string client_address;
    std::string status;    // pending, running, completed, failed, timed_out, denied, lost
    std::optional<std::int64_t> exit_code, duration_ms;
    std::string output;    // empty in listings (list_commands); whole in find_command
    bool truncated = false;
    std::optional<std::string> error;  // the agent's refusal code, or why it failed
    std::string output_sha256;         // hex SHA-256 of `output`, once finished
    std::int64_t created_at_ms = 0;
    std::optional<std::int64_t> finished_at_ms;
};

class commands_storage {
public:
    virtual ~commands_storage() = default;

    // The command (status pending) and its audit line, in one transaction.
    virtual storage_result<void> add_command(const command_record& c, const audit_record& a) = 0;
    virtual storage_result<bool> set_command_status(std::string_view id, std::string_view status) = 0;
    // Stores the outcome (status, exit code, output, …, finished_at) and appends `a`, in one
    // transaction. false: no such command, or it already has a final status other than lost (a
    // result that arrives after the command was declared lost still replaces "lost").
    virtual storage_result<bool> finish_command(const command_record& outcome, const audit_record& a) = 0;
    virtual storage_result<std::optional<command_record>> find_command(std::string_view id) = 0;
    // Newest first, without output.
    virtual storage_result<std::vector<command_record>> list_commands(std::string_view server_id,
                                                                      std::size_t limit) = 0;
    // Commands left pending or running by a previous run of the collector become lost, each with
    // an audit line. Returns how many.
    virtual storage_result<std::size_t> mark_unfinished_commands_lost(std::int64_t now_ms) = 0;
    // Retention: deletes at most max_rows finished commands (and their output) created before
    // cutoff_ms, oldest first; the audit log keeps their record. Returns how many it deleted.
    virtual storage_result<std::size_t> delete_commands_before(std::int64_t cutoff_ms, std::size_t max_rows) = 0;
    // Appends one audit line on its own (e.g. a refused attempt worth keeping).
    virtual storage_result<void> append_audit(const audit_record& a) = 0;
    // Newest first; only ids below before_id when given.
    virtual storage_result<std::vector<audit_record>> list_audit(std::optional<std::int64_t> before_id,
                                                                 std::size_t limit) = 0;
};

} // namespace corvid::collector
