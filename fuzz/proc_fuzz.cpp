// Fuzz target: the agent's /proc and /sys text parsers (agent/metrics/*.hpp) and what the sampler
// computes from their results. Each parser sees the whole input. Invariants: percentages are
// finite and within 0-100, memory used never exceeds total, rates are finite and >= 0, the
// load averages and uptime are what their headers promise.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/metrics/cpu.hpp"
#include "agent/metrics/disk_io.hpp"
#include "agent/metrics/disk_usage.hpp"
#include "agent/metrics/load.hpp"
#include "agent/metrics/memory.hpp"
#include "agent/metrics/network.hpp"
#include "agent/metrics/text_fields.hpp"
#include "agent/metrics/uptime.hpp"
#include "fuzz/fuzz_check.hpp"

namespace metrics = corvid::agent::metrics;

namespace {

bool is_percent(double v) { return std::isfinite(v) && v >= 0 && v <= 100; }
bool is_rate(double v) { return std::isfinite(v) && v >= 0; }

void check_cpu(const corvid::proto::cpu_stats& c)
{
    FUZZ_CHECK(is_percent(c.user) && is_percent(c.system) && is_percent(c.iowait) && is_percent(c.steal));
    for (double core : c.cores)
        FUZZ_CHECK(is_percent(core));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    if (auto st = metrics::parse_proc_stat(text)) {
        const auto same = metrics::cpu_usage(*st, *st); // first sample: all zeros, one entry per core
        check_cpu(same);
        FUZZ_CHECK(same.cores.size() == st->cores.size());
        // Against an earlier reading of zeros: every counter moved forward.
        metrics::proc_stat zero = *st;
        zero.all = {};
        for (auto& c : zero.cores)
            c.times = {};
        check_cpu(metrics::cpu_usage(zero, *st));
        check_cpu(metrics::cpu_usage(*st, zero)); // and backwards
        FUZZ_CHECK(is_percent(metrics::busy_percent(zero.all, st->all)));
    }

    if (auto mem = metrics::parse_meminfo(text)) {
        FUZZ_CHECK(mem->total > 0);
        const auto m = metrics::memory_usage(*mem);
        FUZZ_CHECK(m.used_bytes <= m.total_bytes);
        FUZZ_CHECK(m.available_bytes <= m.total_bytes);
        FUZZ_CHECK(m.swap_used_bytes <= m.swap_total_bytes);
        FUZZ_CHECK(is_percent(metrics::memory_percent(m)));
    }

    if (auto disks = metrics::parse_diskstats(text)) {
        auto picked = metrics::select_disks(*disks, [](std::string_view) { return true; }, {});
        FUZZ_CHECK(picked.size() <= disks->size());
        auto zero = *disks;
        for (auto& d : zero)
            d.sectors_read = d.sectors_written = 0;
        for (const auto& r : metrics::disk_rates(zero, *disks, 1.5))
            FUZZ_CHECK(is_rate(r.read_bytes_per_s) && is_rate(r.write_bytes_per_s));
        for (const auto& r : metrics::disk_rates(*disks, zero, 1.5))
            FUZZ_CHECK(is_rate(r.read_bytes_per_s) && is_rate(r.write_bytes_per_s));
        for (const auto& d : *disks)
            (void)metrics::sys_block_name(d.device);
    }

    if (auto nets = metrics::parse_net_dev(text)) {
        auto picked = metrics::select_interfaces(*nets, {});
        FUZZ_CHECK(picked.size() <= nets->size());
        auto zero = *nets;
        for (auto& n : zero)
            n.rx_bytes = n.tx_bytes = 0;
        for (const auto& r : metrics::network_rates(zero, *nets, 0.25))
            FUZZ_CHECK(is_rate(r.rx_bytes_per_s) && is_rate(r.tx_bytes_per_s));
        for (const auto& r : metrics::network_rates(*nets, zero, 0.25))
            FUZZ_CHECK(is_rate(r.rx_bytes_per_s) && is_rate(r.tx_bytes_per_s));
    }

    if (auto mounts = metrics::parse_mounts(text)) {
        FUZZ_CHECK(!mounts->empty());
        const auto reported = metrics::select_reported_mounts(*mounts);
        FUZZ_CHECK(reported.size() <= mounts->size());
        for (const auto& m : reported) {
            metrics::fs_space space;
            space.blocks = 1000;
            space.blocks_free = 400;
            space.blocks_available = 300;
            space.fragment_size = 4096;
            if (auto u = metrics::disk_usage_of(m, space)) {
                FUZZ_CHECK(u->used_bytes <= u->total_bytes);
                FUZZ_CHECK(is_percent(u->percent));
            }
        }
    }
    (void)metrics::unescape_mount_field(text);

    if (auto load = metrics::parse_loadavg(text))
        for (double v : *load)
            FUZZ_CHECK(std::isfinite(v) && v >= 0);
    (void)metrics::parse_uptime(text);

    // The strict token parsers everything above is built on.
    if (auto v = metrics::parse_double(text))
        FUZZ_CHECK(std::isfinite(*v));
    if (metrics::parse_u64(text)) {
        FUZZ_CHECK(!text.empty());
        for (char c : text)
            FUZZ_CHECK(c >= '0' && c <= '9');
    }
    return 0;
}
