#pragma once
// The command guard's remembered ids on disk (issue 12.3), so that restarting the agent does not
// reopen the replay window: a signed command captured on the link stays refused as `replayed`
// until it expires, across restarts. The command dispatcher records an id durably before the
// command goes any further; a failure to record refuses the command (fail closed).
//
// File: <state_dir>/command-ids, mode 0600, replaced atomically (temporary file, fsync, rename,
// fsync of the directory). Text, in this exact form (anything else makes the file unreadable):
//
//     corvid-command-ids v1 <count>\n
//     <expires_at_ms> <id_length> <id>\n        (count lines, any order)
//
// <expires_at_ms> is the command's expires_at in Unix milliseconds and <id_length> the id's
// length in bytes, both decimal without sign or leading zeros; the id follows as raw bytes (it is
// signed, but its bytes are not otherwise restricted, so its length and not a delimiter ends it).
// A missing file is an empty cache. A file that exists but cannot be read or parsed is not
// trusted at all: the agent refuses every command for command_guard::replay_window_ms after its
// start (see command_dispatcher), then the next command admitted rewrites the file.
// See also agent/commands/README.md.
//
// Threading: load() blocks (start-up only). save() runs on the store's own thread, one save at a
// time in the order called, and resumes the caller on its own executor.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "agent/commands/command_guard.hpp"

namespace corvid::agent {

namespace net = boost::asio;

std::string encode_command_ids(const remembered_ids& ids);
// The ids, or why the text is not a command-ids file (one line).
boost::system::result<remembered_ids, std::string> parse_command_ids(std::string_view text);

class replay_store {
public:
    explicit replay_store(std::string path);
    ~replay_store(); // waits for a save in progress
    replay_store(const replay_store&) = delete;
    replay_store& operator=(const replay_store&) = delete;

    struct loaded {
        remembered_ids ids;               // empty when the file is missing or unreadable
        std::optional<std::string> unreadable; // why the file that exists was not trusted
    };
    loaded load() const;

    // Replaces the file with `ids`; the error when it could not be made durable.
    net::awaitable<boost::system::error_code> save(remembered_ids ids);

    const std::string& path() const { return path_; }

private:
    std::string path_;
    net::thread_pool pool_{1};
};

// The blocking part of save(): write, fsync, rename, fsync the directory.
boost::system::error_code write_command_ids(const std::string& path, const remembered_ids& ids);

} // namespace corvid::agent
