#include "agent/metrics/sampler.hpp"

#include <array>
#include <cerrno>
#include <exception>
#include <filesystem>
#include <optional>
#include <set>
#include <string_view>
#include <sys/statvfs.h>
#include <utility>

#include "agent/metrics/cpu.hpp"
#include "agent/metrics/disk_io.hpp"
#include "agent/metrics/disk_usage.hpp"
#include "agent/metrics/load.hpp"
#include "agent/metrics/memory.hpp"
#include "agent/metrics/network.hpp"
#include "agent/metrics/sampler_core.hpp"
#include "agent/metrics/uptime.hpp"
#include "common/file_util.hpp"
#include "common/log.hpp"

namespace corvid::agent {
namespace {

namespace m = metrics;
using clock_type = std::chrono::steady_clock;

// /proc files stay far below this (a mounts file with 10,000 container mounts is ~2 MB); the
// bound keeps a strange one from taking the agent's memory.
constexpr std::size_t max_file_bytes = std::size_t{16} << 20;
constexpr auto slow_collector = std::chrono::milliseconds(100);

struct failure {
    std::string why; // one line for the operator
};
using outcome = boost::system::result<void, failure>;

template <class T> struct reading {
    T counters;
    clock_type::time_point at;
};

// What the collectors keep between samples. Each keeps its own previous reading and its time,
// so after a collector fails for a while its next rate spans the whole gap, correctly.
struct context {
    sampler_options options;
    sampler_hooks hooks;
    clock_type::time_point now; // this sample's time, read once so every rate uses the same one
    std::optional<m::proc_stat> cpu_prev;
    std::optional<reading<std::vector<m::disk_counters>>> disk_prev;
    std::optional<reading<std::vector<m::net_counters>>> net_prev;
    std::set<std::string> failing_mounts; // statvfs failed on the previous sample: logged already
};

boost::system::result<std::string, failure> read_text(const std::string& path)
{
    auto text = read_file(path, max_file_bytes);
    if (!text)
        return failure{"cannot read " + path + ": " + text.error().message()};
    return {boost::system::in_place_value, std::move(*text)};
}

failure unparsable(const std::string& path) { return failure{"cannot parse " + path}; }

double seconds_between(clock_type::time_point from, clock_type::time_point to)
{
    return std::chrono::duration<double>(to - from).count();
}

// Each collector reads and parses everything first and writes its section(s) of `out` last, so a
// collector that fails leaves its sections empty.

outcome collect_cpu(context& ctx, proto::sample_data& out)
{
    const auto path = ctx.options.paths.proc + "/stat";
    const auto text = read_text(path);
    if (!text)
        return text.error();
    auto stat = m::parse_proc_stat(*text);
    if (!stat)
        return unparsable(path);
    const auto& prev = ctx.cpu_prev ? *ctx.cpu_prev : *stat; // first sample: no time passed, all 0
    auto usage = m::cpu_usage(prev, *stat);
    const auto busy = m::busy_percent(prev.all, stat->all);
    ctx.cpu_prev = std::move(stat);
    out.cpu = std::move(usage);
    out.cpu_percent = busy;
    return {};
}

outcome collect_memory(context& ctx, proto::sample_data& out)
{
    const auto path = ctx.options.paths.proc + "/meminfo";
    const auto text = read_text(path);
    if (!text)
        return text.error();
    const auto info = m::parse_meminfo(*text);
    if (!info)
        return unparsable(path);
    const auto usage = m::memory_usage(*info);
    out.memory = usage;
    out.memory_percent = m::memory_percent(usage);
    return {};
}

outcome collect_disk_usage(context& ctx, proto::sample_data& out)
{
    const auto path = ctx.options.paths.proc + "/self/mounts";
    const auto text = read_text(path);
    if (!text)
        return text.error();
    const auto mounts = m::parse_mounts(*text);
    if (!mounts)
        return unparsable(path);
    // One unreachable mount (a stale network share, a permission) is not the collector failing:
    // it is left out and logged when it starts and stops failing.
    std::vector<proto::disk_usage> usages;
    std::set<std::string> failing;
    for (const auto& mount : m::select_reported_mounts(*mounts)) {
        const auto space = ctx.hooks.statvfs(mount.mount_point);
        const bool failed_before = ctx.failing_mounts.contains(mount.mount_point);
        if (!space) {
            if (!failed_before)
                log::warn("metrics: disk_usage: leaving out {}: statvfs: {}", mount.mount_point,
                          space.error().message());
            failing.insert(mount.mount_point);
            continue;
        }
        if (failed_before)
            log::info("metrics: disk_usage: {} is readable again", mount.mount_point);
        if (auto usage = m::disk_usage_of(mount, *space))
            usages.push_back(std::move(*usage));
    }
    ctx.failing_mounts = std::move(failing);
    out.disk_usage = std::move(usages);
    return {};
}

outcome collect_disk_io(context& ctx, proto::sample_data& out)
{
    const auto path = ctx.options.paths.proc + "/diskstats";
    const auto text = read_text(path);
    if (!text)
        return text.error();
    auto all = m::parse_diskstats(*text);
    if (!all)
        return unparsable(path);
    const auto block_dir = ctx.options.paths.sys + "/block";
    std::error_code ec;
    if (!std::filesystem::is_directory(block_dir, ec))
        return failure{"cannot tell disks from partitions: " + block_dir + " is not a readable directory"};
    const auto is_whole_disk = [&](std::string_view device) {
        const auto name = m::sys_block_name(device);
        std::error_code exists_ec;
        return !name.empty() && std::filesystem::exists(block_dir + "/" + name, exists_ec);
    };
    auto disks = m::select_disks(std::move(*all), is_whole_disk, ctx.options.disk_io_include);
    auto rates = ctx.disk_prev
                   ? m::disk_rates(ctx.disk_prev->counters, disks, seconds_between(ctx.disk_prev->at, ctx.now))
                   : m::disk_rates(disks, disks, 0);
    ctx.disk_prev = reading<std::vector<m::disk_counters>>{std::move(disks), ctx.now};
    out.disk_io = std::move(rates);
    return {};
}

outcome collect_network(context& ctx, proto::sample_data& out)
{
    const auto path = ctx.options.paths.proc + "/net/dev";
    const auto text = read_text(path);
    if (!text)
        return text.error();
    auto all = m::parse_net_dev(*text);
    if (!all)
        return unparsable(path);
    auto interfaces = m::select_interfaces(std::move(*all), ctx.options.network_include);
    auto rates = ctx.net_prev
                   ? m::network_rates(ctx.net_prev->counters, interfaces, seconds_between(ctx.net_prev->at, ctx.now))
                   : m::network_rates(interfaces, interfaces, 0);
    ctx.net_prev = reading<std::vector<m::net_counters>>{std::move(interfaces), ctx.now};
    out.network = std::move(rates);
    return {};
}

outcome collect_load(context& ctx, proto::sample_data& out)
{
    const auto path = ctx.options.paths.proc + "/loadavg";
    const auto text = read_text(path);
    if (!text)
        return text.error();
    const auto load = m::parse_loadavg(*text);
    if (!load)
        return unparsable(path);
    out.load = *load;
    return {};
}

outcome collect_uptime(context& ctx, proto::sample_data& out)
{
    const auto path = ctx.options.paths.proc + "/uptime";
    const auto text = read_text(path);
    if (!text)
        return text.error();
    const auto uptime = m::parse_uptime(*text);
    if (!uptime)
        return unparsable(path);
    out.uptime_s = *uptime;
    return {};
}

struct collector {
    std::string_view name;
    bool collector_toggles::*enabled;
    outcome (*run)(context&, proto::sample_data&);
};

// Every collector, in the order they run. Adding one: a function above, a toggle in
// collector_toggles, a line here.
constexpr std::array registry = {
    collector{"cpu", &collector_toggles::cpu, collect_cpu},
    collector{"memory", &collector_toggles::memory, collect_memory},
    collector{"disk_usage", &collector_toggles::disk_usage, collect_disk_usage},
    collector{"disk_io", &collector_toggles::disk_io, collect_disk_io},
    collector{"network", &collector_toggles::network, collect_network},
    collector{"load", &collector_toggles::load, collect_load},
    collector{"uptime", &collector_toggles::uptime, collect_uptime},
};

// A collector that throws has a bug; it is reported like any failure so the others still run.
outcome run_guarded(const collector& c, context& ctx, proto::sample_data& out)
{
    try {
        return c.run(ctx, out);
    } catch (const std::exception& e) {
        return failure{std::string("threw: ") + e.what()};
    }
}

} // namespace

sampler_hooks system_hooks()
{
    sampler_hooks hooks;
    hooks.statvfs = [](const std::string& mount_point) -> boost::system::result<m::fs_space> {
        struct statvfs st {};
        if (::statvfs(mount_point.c_str(), &st) != 0)
            return boost::system::error_code(errno, boost::system::system_category());
        // f_frsize is the unit of the block counts; a few old filesystems leave it 0.
        return m::fs_space{st.f_blocks, st.f_bfree, st.f_bavail, st.f_frsize != 0 ? st.f_frsize : st.f_bsize};
    };
    hooks.now = [] { return clock_type::now(); };
    return hooks;
}

struct sampler_core::state {
    context ctx;
    std::array<bool, registry.size()> failing{}; // logged as failing, not yet as recovered
};

sampler_core::sampler_core(sampler_options options, sampler_hooks hooks) : state_(std::make_unique<state>())
{
    auto real = system_hooks();
    state_->ctx.options = std::move(options);
    state_->ctx.hooks.statvfs = hooks.statvfs ? std::move(hooks.statvfs) : std::move(real.statvfs);
    state_->ctx.hooks.now = hooks.now ? std::move(hooks.now) : std::move(real.now);
}

sampler_core::~sampler_core() = default;

proto::sample_data sampler_core::sample(std::int64_t timestamp_ms)
{
    auto& s = *state_;
    proto::sample_data out;
    out.timestamp_ms = timestamp_ms;
    s.ctx.now = s.ctx.hooks.now();
    for (std::size_t i = 0; i < registry.size(); ++i) {
        const auto& c = registry[i];
        if (!(s.ctx.options.enabled.*c.enabled))
            continue;
        const auto started = clock_type::now();
        const auto result = run_guarded(c, s.ctx, out);
        const auto took = clock_type::now() - started;
        if (took > slow_collector)
            log::debug("metrics: {} collector took {} ms", c.name,
                       std::chrono::duration_cast<std::chrono::milliseconds>(took).count());
        if (!result) {
            if (!s.failing[i])
                log::warn("metrics: {} collector failing, its section stays empty: {}", c.name, result.error().why);
            s.failing[i] = true;
        } else if (s.failing[i]) {
            log::info("metrics: {} collector recovered", c.name);
            s.failing[i] = false;
        }
    }
    return out;
}

struct metrics_sampler::state {
    explicit state(sampler_options options) : core(std::move(options), system_hooks()) {}
    sampler_core core;
};

metrics_sampler::metrics_sampler(sampler_options options) : state_(std::make_unique<state>(std::move(options))) {}

metrics_sampler::~metrics_sampler() = default;

proto::sample_data metrics_sampler::sample(std::int64_t timestamp_ms) { return state_->core.sample(timestamp_ms); }

} // namespace corvid::agent
