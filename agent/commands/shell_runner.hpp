#pragma once
// Runs one operator command as `/bin/sh -c command` in a child process, safely: its own process
// group, stdin from /dev/null, a minimal environment (nothing inherited from the agent), cwd `/`,
// every other descriptor closed, signals reset, the configured `run_as` user when the agent can
// switch users, and no capability: the ambient, inheritable, permitted and effective sets are
// cleared before exec, and the bounding set emptied whenever the agent may (root), except for
// an explicit run_as root, which means real root (issue 12.2). A timeout sends SIGTERM to the whole group and SIGKILL after a grace period;
// output is capped, coalesced into chunks for streaming, and the child is always reaped.
// Threading: io thread only; the executor must be single-threaded (the agent's io_context).
// Nothing here blocks: pipes and the exit are watched by the reactor (a pidfd).
// The caller must not set SIGCHLD to SIG_IGN nor reap children with waitpid(-1): both steal the
// exit status (and would make group signals racy).
#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "agent/commands/privilege.hpp"

namespace corvid::agent {

namespace net = boost::asio;

// A user to run commands as, resolved once at config time (never in the child: NSS lookups are
// not async-signal-safe).
struct run_as_identity {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups; // supplementary groups, from getgrouplist (includes gid)
    std::string home;
};

// Looks a user up (getpwnam_r + getgrouplist). The error is one line for the config loader,
// e.g. "run_as: no such user 'x'". Blocking (NSS): call at start-up, not on the io thread.
boost::system::result<run_as_identity, std::string> resolve_run_as(const std::string& user);

bool running_as_root(); // effective uid 0
// Root, or CAP_SETUID and CAP_SETGID in the effective set (the packaged run-as drop-in gives the
// unprivileged service user exactly these, plus CAP_KILL): run_as is applied only then.
bool can_switch_user();

// This process's uid 0 and CAP_SETUID (effective, permitted or ambient).
process_privilege current_privilege();

struct shell_limits {
    std::chrono::seconds timeout{60};
    std::chrono::milliseconds kill_grace{3000}; // SIGTERM to the group, SIGKILL after this
    std::size_t output_cap_bytes = 1 << 20;     // stdout+stderr kept in `output` and streamed
    std::optional<run_as_identity> run_as;      // applied only when can_switch_user()
};

struct shell_result {
    int exit_code = -1;        // the exit status; 128+N when killed by signal N (as sh reports it)
    std::optional<int> signal; // the signal that ended the shell, if any
    bool timed_out = false;    // the timeout passed and the group was signalled
    bool truncated = false;    // more than output_cap_bytes was written; the rest was discarded
    bool cancelled = false;    // the awaiting coroutine was cancelled; the group was SIGKILLed
    std::string output;        // stdout and stderr in the order the agent read them, <= cap
    std::int64_t duration_ms = 0; // from the fork to the exit being seen
    pid_t pid = 0;             // the shell's pid, which is also its process group id
    // Non-empty when the command could not be run at all (no fork, no pipes, a NUL byte in the
    // command) or its end could not be observed. A failure inside the child after the fork
    // (setuid, exec) is reported like sh does: a line on stderr and exit code 126 or 127.
    std::string error;
};

// Receives coalesced output while the command runs: `stream` is "stdout" or "stderr", `data` at
// most 16 KiB, raw bytes (usually not cut inside a UTF-8 sequence). A stream is flushed when
// 16 KiB is buffered or 100 ms after its first unflushed byte, and finally when the command
// ends: at most ~10 chunks per second per stream plus size-triggered ones. Only bytes kept in
// `output` are streamed (the sum of all chunks equals output.size()). Called on the io thread,
// never after run_shell has returned; it must not throw and should be quick. May be empty.
using output_sink = std::function<void(std::string_view stream, std::string_view data)>;

// Runs `/bin/sh -c command` and returns when the shell has exited and been reaped (or, if it
// survives SIGKILL — a process stuck in the kernel — after 5 s with `error` set; it is then
// reaped in the background).
// Bounds: timeout, then kill_grace, then 5 s for the kill to take; after the exit, 500 ms for
// processes left behind that still hold the output pipes, which are then SIGKILLed.
// Cancellation (terminal, e.g. `co_await (run_shell(...) || timer)` or agent shutdown): SIGKILL
// to the group at once, then the same reaping; the result has `cancelled` set. Background
// processes that closed their output are left running after a normal exit; processes that moved
// to another process group or session are out of reach.
net::awaitable<shell_result> run_shell(std::string command, shell_limits limits, output_sink sink);

namespace detail {
// The length of the longest prefix of `data` that does not end inside a UTF-8 sequence: an
// incomplete multi-byte sequence at the end (at most 3 bytes) is cut off; anything else,
// invalid bytes included, is kept.
std::size_t utf8_prefix_length(std::string_view data);
// Tests only: watch for the exit by polling waitid every 20 ms instead of with a pidfd (the path
// taken on kernels or sandboxes without pidfd_open).
void force_exit_polling(bool on);
} // namespace detail

} // namespace corvid::agent
