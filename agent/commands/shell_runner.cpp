#include "agent/commands/shell_runner.hpp"

#include <linux/capability.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <memory>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/deadline.hpp"
#include "common/log.hpp"

namespace corvid::agent {

namespace {

using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::size_t chunk_bytes = 16 * 1024;   // largest streamed chunk; also the read size
constexpr auto flush_delay = 100ms;              // after a stream's first unflushed byte
constexpr auto drain_limit = 500ms;              // after the exit, for the pipes to close
constexpr auto close_limit = 200ms;              // after SIGKILL to leftovers, for the pipes to close
constexpr auto kill_limit = 5s;                  // after SIGKILL, for the shell to exit
constexpr auto poll_interval = 20ms;             // exit polling when there is no pidfd
constexpr auto max_wait = std::chrono::hours(24 * 365); // clamps configured times (no overflow)
constexpr const char* shell_path = "/bin/sh";
constexpr const char* env_path = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

bool exit_polling_forced = false; // detail::force_exit_polling (tests); io thread only

class unique_fd {
public:
    unique_fd() = default;
    explicit unique_fd(int fd) : fd_(fd) {}
    unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    unique_fd& operator=(unique_fd&& o) noexcept
    {
        reset(std::exchange(o.fd_, -1));
        return *this;
    }
    ~unique_fd() { reset(); }
    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }
    void reset(int fd = -1)
    {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = fd;
    }
    explicit operator bool() const { return fd_ >= 0; }

private:
    int fd_ = -1;
};

// The child dup2()s our descriptors onto 0, 1 and 2; one that already is 0..2 (the agent started
// with a closed stdio) could be clobbered or keep its close-on-exec flag, so move them above.
bool move_above_stdio(unique_fd& fd)
{
    if (fd.get() > 2)
        return true;
    int moved = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3);
    if (moved < 0)
        return false;
    fd.reset(moved);
    return true;
}

std::string errno_text(const char* what, int err)
{
    return fmt::format("{}: {}", what, std::strerror(err));
}

struct capability_masks {
    std::uint32_t effective[2] = {}, permitted[2] = {};
};

// This thread's capability sets, with the raw syscall (no libcap); nullopt if capget fails.
std::optional<capability_masks> capability_sets()
{
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    if (::syscall(SYS_capget, &header, data) != 0)
        return std::nullopt;
    capability_masks m;
    for (int i = 0; i < 2; ++i) {
        m.effective[i] = data[i].effective;
        m.permitted[i] = data[i].permitted;
    }
    return m;
}

bool holds_effective_capability(int cap)
{
    const auto sets = capability_sets();
    return sets && (sets->effective[cap / 32] >> (cap % 32) & 1u) != 0;
}

// ---- the child: between fork and execve only async-signal-safe calls ---------------------------

// Everything the child needs, prepared before the fork: the child allocates nothing.
struct child_plan {
    char* const* argv = nullptr;
    char* const* envp = nullptr;
    int null_fd = -1, out_fd = -1, err_fd = -1;
    int max_fd = 1024;         // for the close loop when close_range is missing
    pid_t parent = 0;
    bool drop_bounding = false; // empty the bounding set (needs CAP_SETPCAP; not for run_as root)
    bool switch_user = false;
    uid_t uid = 0;
    gid_t gid = 0;
    const gid_t* groups = nullptr;
    std::size_t group_count = 0;
};

void child_write(int fd, const char* s)
{
    std::size_t n = std::strlen(s);
    while (n > 0) {
        ssize_t w = ::write(fd, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= static_cast<std::size_t>(w);
    }
}

// "corvid-agent: <what> failed (errno N)\n" on `fd`, then _exit. No stdio, no strerror (neither
// is async-signal-safe).
[[noreturn]] void child_fail(int fd, const char* what, int err, int code)
{
    char digits[16];
    char* p = digits + sizeof digits;
    *--p = '\0';
    unsigned v = err < 0 ? 0u : static_cast<unsigned>(err);
    do {
        *--p = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v != 0 && p > digits);
    child_write(fd, "corvid-agent: ");
    child_write(fd, what);
    child_write(fd, " failed (errno ");
    child_write(fd, p);
    child_write(fd, ")\n");
    ::_exit(code);
}

[[noreturn]] void child_main(const child_plan& plan)
{
    int report_fd = plan.err_fd; // where failures go: the stderr pipe, wherever it is right now

    // Our own process group, so a timeout can signal everything the command starts. The parent
    // does the same (whichever runs first wins); a child outside its group must not run at all.
    if (::setpgid(0, 0) != 0)
        child_fail(report_fd, "setpgid", errno, 126);

    if (::dup2(plan.err_fd, STDERR_FILENO) < 0)
        child_fail(report_fd, "dup2 stderr", errno, 126);
    report_fd = STDERR_FILENO;
    if (::dup2(plan.null_fd, STDIN_FILENO) < 0 || ::dup2(plan.out_fd, STDOUT_FILENO) < 0)
        child_fail(report_fd, "dup2 stdin/stdout", errno, 126);

    // Everything else goes: descriptors of other threads' sockets, files opened without
    // O_CLOEXEC by libraries. close_range exists since Linux 5.9; the loop is the fallback.
    if (::syscall(SYS_close_range, 3u, ~0u, 0u) != 0) {
        for (int fd = 3; fd < plan.max_fd; ++fd)
            ::close(fd);
    }

    // Signals: the parent blocked all of them around fork() so no agent handler can run here;
    // reset every disposition (SIG_IGN survives execve, e.g. an ignored SIGPIPE) before
    // unblocking. Signals glibc reserves or that cannot be caught fail with EINVAL: fine.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig < NSIG; ++sig)
        ::sigaction(sig, &dfl, nullptr);

    if (::chdir("/") != 0)
        child_fail(report_fd, "chdir /", errno, 126);

    // Capabilities (issue 12.2): the command gets none, with or without a user switch. The run-as
    // drop-in gives the agent ambient CAP_SETUID/CAP_SETGID/CAP_KILL, which a child without
    // run_as used to keep across exec (and so could make itself root). Ambient first: clearing
    // it needs no privilege. EINVAL: a kernel without ambient capabilities, nothing to clear.
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        child_fail(report_fd, "clearing ambient capabilities", errno, 126);
    // The bounding set limits what any later exec can grant (a set-uid-root program, or a uid-0
    // exec). Emptying it needs CAP_SETPCAP, which only a root agent has: do it while we still
    // hold it. Caps are numbered 0..cap_last_cap; EINVAL marks the end.
    if (plan.drop_bounding) {
        for (int cap = 0; cap < 64; ++cap) {
            if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
                if (errno == EINVAL)
                    break;
                child_fail(report_fd, "emptying the capability bounding set", errno, 126);
            }
        }
    }

    // Raw syscalls: they change the credentials of this (the only) thread. glibc's wrappers
    // would try to synchronise the agent's other threads, which exist only in the parent.
    // Order matters: groups and gid while still root, uid last. Any failure ends the child:
    // the command never runs as root by accident.
    if (plan.switch_user) {
        if (::syscall(SYS_setgroups, plan.group_count, plan.groups) != 0)
            child_fail(report_fd, "setgroups", errno, 126);
        if (::syscall(SYS_setresgid, plan.gid, plan.gid, plan.gid) != 0)
            child_fail(report_fd, "setgid", errno, 126);
        if (::syscall(SYS_setresuid, plan.uid, plan.uid, plan.uid) != 0)
            child_fail(report_fd, "setuid", errno, 126);
    }
    // Leaving uid 0 clears the permitted and effective sets, but an agent that switches users by
    // capability (not root), or does not switch at all, keeps them: clear every set explicitly.
    // A uid-0 command (run_as = "root") regains its capabilities at exec from the bounding set,
    // left alone for it; nothing comes from the inheritable or ambient sets.
    __user_cap_header_struct cap_header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct no_caps[_LINUX_CAPABILITY_U32S_3] = {};
    if (::syscall(SYS_capset, &cap_header, no_caps) != 0)
        child_fail(report_fd, "clearing capabilities", errno, 126);
    if (plan.switch_user && plan.uid != 0 && ::syscall(SYS_setresuid, 0, 0, 0) == 0)
        child_fail(report_fd, "dropping root", EPERM, 126);

    // SIGKILL the shell if the agent dies, so a crash leaves no orphan running unsupervised.
    // Set after the credential change, which clears it. Caveats: the "parent" is the forking
    // thread (the io thread, which lives as long as the agent), not the process; it reaches
    // only the shell, not its children (they remain in the group, but nobody signals it); and
    // it is cleared again by exec of a set-uid binary.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        child_fail(report_fd, "prctl(PR_SET_PDEATHSIG)", errno, 126);
    if (::getppid() != plan.parent) // the agent died before prctl
        ::_exit(126);

    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);

    ::execve(shell_path, plan.argv, plan.envp);
    child_fail(report_fd, "execve /bin/sh", errno, errno == ENOENT ? 127 : 126);
}

// ---- the parent ---------------------------------------------------------------------------------

struct own_user {
    std::string name, home;
};

// The agent's own user, for HOME/USER when no run_as applies. Looked up once (NSS may block).
const own_user& agent_user()
{
    static const own_user user = [] {
        own_user u{"", "/"};
        long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
        std::vector<char> buf(size > 0 ? static_cast<std::size_t>(size) : 16384);
        passwd pw{};
        passwd* found = nullptr;
        if (::getpwuid_r(::geteuid(), &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
            u.name = pw.pw_name;
            u.home = pw.pw_dir;
        }
        return u;
    }();
    return user;
}

struct pipe_stream {
    pipe_stream(net::any_io_executor ex, int fd, std::string_view n) : name(n), pipe(ex, fd) {}
    std::string_view name;
    net::posix::stream_descriptor pipe;
    std::array<char, chunk_bytes> buf{};
    std::string pending;                // read, kept, not yet streamed
    clock::time_point first_pending{};  // when `pending` became non-empty
    bool done = false;                  // the reader has ended (EOF, error or cancelled)
};

// One running shell: its pipes, its exit, and the result being built. Shared by the supervising
// coroutine and the two pipe readers (detached, so cancelling the caller cannot cut them off
// mid-read; they end at EOF or when the supervisor cancels them).
class shell_process : public std::enable_shared_from_this<shell_process> {
public:
    shell_process(net::any_io_executor ex, pid_t pid, clock::time_point started, int out_fd, int err_fd,
                  int pidfd, shell_limits limits, output_sink sink)
        : ex_(ex), pid_(pid), started_(started), limits_(std::move(limits)), sink_(std::move(sink)),
          out_(ex, out_fd, "stdout"), err_(ex, err_fd, "stderr"), wake_(ex)
    {
        if (pidfd >= 0)
            pidfd_.emplace(ex, pidfd);
        result_.pid = pid;
    }

    ~shell_process()
    {
        // Only when the io_context is destroyed under a running command: kill what is left and
        // reap if it is already gone; otherwise a zombie stays until the agent exits.
        if (!reaped_) {
            ::kill(-pid_, SIGKILL);
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) != pid_)
                log::warn("shell: pid {} abandoned without being reaped", pid_);
        }
    }

    void start()
    {
        auto self = shared_from_this();
        for (pipe_stream* s : {&out_, &err_}) {
            net::co_spawn(ex_, read_pipe(self, *s), [self, s](std::exception_ptr e) {
                if (e)
                    log::error("shell: reading {} of pid {} failed", s->name, self->pid_);
                s->done = true;
                self->wake_.cancel();
            });
        }
        // Armed at once, before the reactor runs again: the pidfd becomes readable exactly once.
        if (pidfd_) {
            pidfd_->async_wait(net::posix::descriptor_base::wait_read, [self](boost::system::error_code ec) {
                if (ec == net::error::operation_aborted)
                    return;
                if (ec)
                    self->poll_for_exit_ = true; // fall back to polling rather than miss the exit
                self->exit_ready_ = true;
                self->wake_.cancel();
            });
        } else {
            poll_for_exit_ = true;
        }
    }

    net::awaitable<shell_result> supervise();

private:
    static net::awaitable<void> read_pipe(std::shared_ptr<shell_process> self, pipe_stream& s)
    {
        for (;;) {
            auto [ec, n] = co_await s.pipe.async_read_some(net::buffer(s.buf), use_tuple);
            if (n > 0)
                self->on_data(s, n);
            if (ec)
                break;
        }
    }

    bool has_exited() const { return exited_; }
    bool pipes_closed() const { return out_.done && err_.done; }
    net::awaitable<bool> wait_until(clock::time_point deadline, bool (shell_process::*done)() const);
    void poll_exit();
    void signal_group(int sig);
    void on_data(pipe_stream& s, std::size_t n);
    void emit(pipe_stream& s, std::size_t max_len, bool final);
    void flush_due(clock::time_point now);
    clock::time_point next_flush() const;
    void reap();

    net::any_io_executor ex_;
    pid_t pid_;
    clock::time_point started_;
    shell_limits limits_;
    output_sink sink_;
    pipe_stream out_, err_;
    std::optional<net::posix::stream_descriptor> pidfd_;
    net::steady_timer wake_; // a condition variable: readers and the pidfd cancel it
    bool exit_ready_ = false, poll_for_exit_ = false;
    bool exited_ = false, reaped_ = false, cancelled_ = false;
    clock::time_point exited_at_{};
    shell_result result_;
};

// Waits until (this->*done)(), the deadline, or the first cancellation of the awaiting coroutine
// (later ones are ignored: after the first we are cleaning up, which must finish). Streams due
// output on the way. Returns whether `done` became true.
net::awaitable<bool> shell_process::wait_until(clock::time_point deadline, bool (shell_process::*done)() const)
{
    for (;;) {
        poll_exit();
        auto now = clock::now();
        flush_due(now);
        if ((this->*done)())
            co_return true;
        // Checked on every round, not only after an aborted wait: the signal may have arrived
        // while no operation was pending, and then only the state remembers it.
        auto state = co_await net::this_coro::cancellation_state;
        if (state.cancelled() != net::cancellation_type::none) {
            co_await net::this_coro::reset_cancellation_state();
            if (!cancelled_) {
                cancelled_ = true;
                co_return false;
            }
        }
        if (now >= deadline)
            co_return false;
        auto next = std::min(deadline, next_flush());
        if (poll_for_exit_ && !exited_)
            next = std::min(next, now + poll_interval);
        wake_.expires_at(next);
        co_await wake_.async_wait(use_tuple); // expired, woken or cancelled: re-check everything
    }
}

// Notes the exit without reaping (WNOWAIT): until we reap, the shell's pid — and so its process
// group id — cannot be reused, which keeps kill(-pid) aimed at our group.
void shell_process::poll_exit()
{
    if (exited_ || !(exit_ready_ || poll_for_exit_))
        return;
    siginfo_t info{};
    int r = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
    if (r == 0 && info.si_pid == pid_) {
        exited_ = true;
        exited_at_ = clock::now();
    } else if (r != 0 && errno == ECHILD) {
        // Someone else reaped it (SIGCHLD ignored, or a waitpid(-1) elsewhere): status lost.
        exited_ = reaped_ = true;
        exited_at_ = clock::now();
        result_.error = "the exit status was lost (was SIGCHLD ignored?)";
    }
}

void shell_process::signal_group(int sig)
{
    if (!reaped_) // after the reap the group id may belong to someone else
        ::kill(-pid_, sig);
}

void shell_process::on_data(pipe_stream& s, std::size_t n)
{
    std::size_t room = limits_.output_cap_bytes - result_.output.size();
    std::size_t keep = std::min(n, room);
    if (keep < n)
        result_.truncated = true; // discarded, but still read: the child never blocks on a full pipe
    if (keep == 0)
        return;
    std::string_view data(s.buf.data(), keep);
    result_.output.append(data);
    if (!sink_)
        return;
    if (s.pending.empty()) {
        s.first_pending = clock::now();
        wake_.cancel(); // the supervisor recomputes its next wake-up (the flush deadline)
    }
    s.pending.append(data);
    while (s.pending.size() >= chunk_bytes)
        emit(s, chunk_bytes, false);
}

// Streams up to max_len bytes of s.pending. Unless final, an incomplete UTF-8 sequence at the end
// is held back for the next chunk — when something else is sent with it, so a lone partial
// sequence is not held forever.
void shell_process::emit(pipe_stream& s, std::size_t max_len, bool final)
{
    std::size_t n = std::min(max_len, s.pending.size());
    if (n == 0 || !sink_)
        return;
    if (!final) {
        std::size_t whole = detail::utf8_prefix_length(std::string_view(s.pending).substr(0, n));
        if (whole > 0)
            n = whole;
    }
    sink_(s.name, std::string_view(s.pending).substr(0, n));
    s.pending.erase(0, n);
    if (!s.pending.empty())
        s.first_pending = clock::now();
}

void shell_process::flush_due(clock::time_point now)
{
    for (pipe_stream* s : {&out_, &err_}) {
        if (!s->pending.empty() && now >= s->first_pending + flush_delay)
            emit(*s, s->pending.size(), false);
    }
}

clock::time_point shell_process::next_flush() const
{
    auto next = clock::time_point::max();
    for (const pipe_stream* s : {&out_, &err_}) {
        if (!s->pending.empty())
            next = std::min(next, s->first_pending + flush_delay);
    }
    return next;
}

void shell_process::reap()
{
    if (reaped_)
        return;
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r != pid_) {
        result_.error = "the shell could not be reaped";
        return;
    }
    reaped_ = true;
    if (WIFEXITED(status)) {
        result_.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        result_.signal = WTERMSIG(status);
        result_.exit_code = 128 + WTERMSIG(status);
    }
}

net::awaitable<shell_result> shell_process::supervise()
{
    // Our own coroutine thread (see run_shell): after a cancellation we keep awaiting, to kill
    // and reap; the caller's thread is not affected.
    auto self = shared_from_this(); // this frame must not outlive the object
    co_await net::this_coro::throw_if_cancelled(false);

    const auto timeout_at = started_ + std::min<clock::duration>(limits_.timeout, max_wait);
    bool exited = co_await wait_until(timeout_at, &shell_process::has_exited);
    if (!exited) {
        if (cancelled_) {
            signal_group(SIGKILL);
        } else {
            result_.timed_out = true;
            signal_group(SIGTERM);
            const auto grace_at = clock::now() + std::min<clock::duration>(limits_.kill_grace, max_wait);
            bool within_grace = co_await wait_until(grace_at, &shell_process::has_exited);
            exited = within_grace;
            if (!exited)
                signal_group(SIGKILL);
        }
        if (!exited) {
            const auto kill_at = clock::now() + kill_limit;
            bool after_kill = co_await wait_until(kill_at, &shell_process::has_exited);
            exited = after_kill;
        }
    }

    // The pipes normally close with the exit; whatever of the group still holds them after the
    // drain limit (a background process) is killed. This happens before the reap, while the
    // group id is still ours.
    if (exited && !pipes_closed()) {
        const auto drain_at = clock::now() + drain_limit;
        co_await wait_until(drain_at, &shell_process::pipes_closed);
    }
    if (!pipes_closed()) {
        signal_group(SIGKILL);
        const auto close_at = clock::now() + close_limit;
        bool closed = co_await wait_until(close_at, &shell_process::pipes_closed);
        if (!closed) {
            // Held by a process outside the group (or stuck): stop reading. The readers end
            // with operation_aborted at once.
            out_.pipe.cancel();
            err_.pipe.cancel();
            const auto stop_at = clock::now() + 1s;
            co_await wait_until(stop_at, &shell_process::pipes_closed);
        }
    }

    emit(out_, out_.pending.size(), true);
    emit(err_, err_.pending.size(), true);
    sink_ = nullptr; // a reader still running (it should not be) can no longer reach the caller

    result_.cancelled = cancelled_;
    if (exited) {
        result_.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(exited_at_ - started_).count();
        reap();
    } else {
        // Survived SIGKILL (stuck in the kernel). Reap it in the background whenever it ends.
        result_.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started_).count();
        result_.error = "the shell did not exit after SIGKILL";
        log::warn("shell: pid {} did not exit {} s after SIGKILL; reaping it in the background", pid_,
                  kill_limit.count());
        net::co_spawn(
            ex_,
            [self]() -> net::awaitable<void> {
                for (;;) {
                    const auto at = clock::now() + 1h;
                    bool gone = co_await self->wait_until(at, &shell_process::has_exited);
                    if (gone)
                        break;
                }
                self->reap();
            },
            net::detached);
    }
    co_return std::move(result_);
}

using spawn_result = boost::system::result<std::shared_ptr<shell_process>, std::string>;

spawn_result spawn_shell(net::any_io_executor ex, const std::string& command, shell_limits& limits, output_sink& sink)
{
    if (command.find('\0') != std::string::npos)
        return std::string("the command contains a NUL byte"); // execve would run a shorter one

    const bool switch_user = limits.run_as.has_value() && can_switch_user();
    const own_user& self_user = agent_user();
    const std::string& user = switch_user ? limits.run_as->name : self_user.name;
    const std::string& home = switch_user ? limits.run_as->home : self_user.home;

    // argv and envp, built before the fork (the child must not allocate).
    std::vector<std::string> env{env_path, "LANG=C.UTF-8", "HOME=" + (home.empty() ? std::string("/") : home)};
    if (!user.empty()) {
        env.push_back("USER=" + user);
        env.push_back("LOGNAME=" + user);
    }
    std::vector<char*> envp;
    for (auto& e : env)
        envp.push_back(e.data());
    envp.push_back(nullptr);
    std::string arg0 = shell_path, arg1 = "-c", arg2 = command;
    std::array<char*, 4> argv{arg0.data(), arg1.data(), arg2.data(), nullptr};

    unique_fd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!null_fd || !move_above_stdio(null_fd))
        return errno_text("open /dev/null", errno);
    int out_pipe[2], err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0)
        return errno_text("pipe", errno);
    unique_fd out_r(out_pipe[0]), out_w(out_pipe[1]);
    if (::pipe2(err_pipe, O_CLOEXEC) != 0)
        return errno_text("pipe", errno);
    unique_fd err_r(err_pipe[0]), err_w(err_pipe[1]);
    for (unique_fd* fd : {&out_r, &out_w, &err_r, &err_w}) {
        if (!move_above_stdio(*fd))
            return errno_text("fcntl", errno);
    }

    child_plan plan;
    plan.argv = argv.data();
    plan.envp = envp.data();
    plan.null_fd = null_fd.get();
    plan.out_fd = out_w.get();
    plan.err_fd = err_w.get();
    long open_max = ::sysconf(_SC_OPEN_MAX);
    plan.max_fd = static_cast<int>(std::clamp(open_max, 1024L, 1L << 20));
    plan.parent = ::getpid();
    // An explicit run_as = "root" means real root, bounding set and all (issue 12.2).
    const bool real_root = switch_user && limits.run_as->uid == 0;
    plan.drop_bounding = !real_root && holds_effective_capability(CAP_SETPCAP);
    if (switch_user) {
        plan.switch_user = true;
        plan.uid = limits.run_as->uid;
        plan.gid = limits.run_as->gid;
        plan.groups = limits.run_as->groups.data();
        plan.group_count = limits.run_as->groups.size();
    }

    // Block every signal across fork(): otherwise an agent handler (Asio's signal_set writes to
    // a pipe it shares with us) could run in the child before it resets the dispositions.
    sigset_t all, saved;
    ::sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &saved);
    pid_t pid = ::fork();
    if (pid == 0)
        child_main(plan);
    int fork_errno = errno;
    ::pthread_sigmask(SIG_SETMASK, &saved, nullptr);
    if (pid < 0)
        return errno_text("fork", fork_errno);
    const auto started = clock::now();

    // Also here: whichever of parent and child runs first, the group exists before we could
    // signal it. EACCES once the child has exec'd, which means it did this itself.
    ::setpgid(pid, pid);
    null_fd.reset();
    out_w.reset();
    err_w.reset();

    // Race-free: the pid cannot be reused while it is our unreaped child.
    int pidfd = exit_polling_forced ? -1 : static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0 && !exit_polling_forced)
        log::debug("shell: pidfd_open failed ({}); polling for the exit", std::strerror(errno));

    auto proc = std::make_shared<shell_process>(ex, pid, started, out_r.release(), err_r.release(), pidfd,
                                                std::move(limits), std::move(sink));
    proc->start();
    log::debug("shell: started pid {}{}", pid, switch_user ? fmt::format(" as {}", plan.uid) : std::string());
    return proc;
}

} // namespace

bool running_as_root()
{
    return ::geteuid() == 0;
}

bool can_switch_user()
{
    // A service started with AmbientCapabilities=CAP_SETUID CAP_SETGID switches users without
    // being root.
    return running_as_root() || (holds_effective_capability(CAP_SETUID) && holds_effective_capability(CAP_SETGID));
}

process_privilege current_privilege()
{
    process_privilege p;
    p.root = running_as_root();
    const auto sets = capability_sets();
    const auto bit = [](const std::uint32_t(&set)[2], int cap) { return (set[cap / 32] >> (cap % 32) & 1u) != 0; };
    if (sets)
        p.setuid_capability = bit(sets->effective, CAP_SETUID) || bit(sets->permitted, CAP_SETUID);
    // Ambient capabilities are also permitted, but ask anyway: that is how the drop-in grants them.
    p.setuid_capability = p.setuid_capability || ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_SETUID, 0, 0) == 1;
    return p;
}

boost::system::result<run_as_identity, std::string> resolve_run_as(const std::string& user)
{
    long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buf(size > 0 ? static_cast<std::size_t>(size) : 16384);
    passwd pw{};
    passwd* found = nullptr;
    int err = 0;
    while ((err = ::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found)) == ERANGE && buf.size() < (1u << 20))
        buf.resize(buf.size() * 2);
    if (err != 0)
        return {boost::system::in_place_error, fmt::format("run_as: cannot look up user '{}': {}", user, std::strerror(err))};
    if (found == nullptr)
        return {boost::system::in_place_error, fmt::format("run_as: no such user '{}'", user)};

    run_as_identity id;
    id.name = pw.pw_name;
    id.uid = pw.pw_uid;
    id.gid = pw.pw_gid;
    id.home = pw.pw_dir != nullptr ? pw.pw_dir : "/";
    int count = 32;
    for (int attempt = 0; attempt < 8; ++attempt) {
        id.groups.resize(static_cast<std::size_t>(count));
        int n = count;
        if (::getgrouplist(pw.pw_name, pw.pw_gid, id.groups.data(), &n) >= 0) {
            id.groups.resize(static_cast<std::size_t>(n));
            return id;
        }
        count = std::max(n, count * 2); // n is the number needed
    }
    return {boost::system::in_place_error, fmt::format("run_as: cannot list the groups of user '{}'", user)};
}

net::awaitable<shell_result> run_shell(std::string command, shell_limits limits, output_sink sink)
{
    auto ex = co_await net::this_coro::executor;
    auto state = co_await net::this_coro::cancellation_state;
    if (state.cancelled() != net::cancellation_type::none) {
        shell_result refused; // already cancelled: co_await below would throw after the fork
        refused.cancelled = true;
        refused.error = "cancelled before start";
        co_return refused;
    }

    auto spawned = spawn_shell(ex, command, limits, sink);
    if (!spawned) {
        shell_result failed;
        failed.error = spawned.error();
        log::warn("shell: cannot start a command: {}", failed.error);
        co_return failed;
    }
    // Supervise in a coroutine thread of its own: the caller's cancellation reaches it as a
    // signal (co_spawn forwards it) while our clean-up awaits stay immune to it.
    std::shared_ptr<shell_process> proc = *spawned;
    auto task = proc->supervise();
    auto supervised = net::co_spawn(ex, std::move(task), net::use_awaitable);
    shell_result result = co_await std::move(supervised);
    co_return result;
}

namespace detail {

std::size_t utf8_prefix_length(std::string_view data)
{
    // Look back over at most 3 continuation bytes for the lead byte of the last sequence.
    std::size_t n = data.size();
    for (std::size_t back = 1; back <= 4 && back <= n; ++back) {
        auto c = static_cast<unsigned char>(data[n - back]);
        if ((c & 0xC0) == 0x80)
            continue; // a continuation byte
        std::size_t need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
        return back < need ? n - back : n;
    }
    return n;
}

void force_exit_polling(bool on)
{
    exit_polling_forced = on;
}

} // namespace detail

} // namespace corvid::agent
