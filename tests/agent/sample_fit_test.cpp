#include "agent/sample_fit.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "proto/codec.hpp"

namespace corvid::agent {
namespace {

// A large container host: 64 cores, a few filesystems and disks, and per container a veth
// interface, as Docker makes them.
proto::sample_data container_host(std::size_t containers)
{
    proto::sample_data s;
    s.timestamp_ms = 1'767'225'600'000;
    s.cpu_percent = 37.5;
    s.memory_percent = 61.2;
    s.load = {{12.3, 11.8, 10.9}};
    s.cpu = proto::cpu_stats{20.1, 9.4, 1.2, 0.0, std::vector<double>(64, 37.5)};
    for (const char* mount : {"/", "/boot", "/var/lib/docker", "/srv"})
        s.disk_usage.push_back({mount, "/dev/nvme0n1p2", "ext4", 1'000'000'000'000, 420'000'000'000, 42.0});
    s.disk_io = {{"nvme0n1", 1.5e6, 7.25e6}, {"nvme1n1", 2.0e5, 1.0e6}};
    s.network.push_back({"eth0", 1.2e7, 3.4e6, 912'345'678'901, 123'456'789'012});
    std::vector<proto::container_stats> list;
    for (std::size_t i = 0; i < containers; ++i) {
        s.network.push_back({fmt::format("veth{:07x}", i * 7919), 1.5e4, 2.5e3, 1'234'567'890, 234'567'890});
        list.push_back({fmt::format("{:064x}", i * 104729 + 1), fmt::format("shop-worker-{}", i),
                        "registry.example.com/shop/worker:2026.11.3", "running", "Up 3 days", 2.5,
                        268'435'456, 1'073'741'824, 1.5e4, 2.5e3, false});
    }
    s.containers = std::move(list);
    return s;
}

} // namespace

TEST_SUITE("sample_fit")
{
    TEST_CASE("sample_fit: a sample that fits is left as it is")
    {
        auto s = container_host(40);
        const auto before = s;
        CHECK(proto::encode_sample_data(s).size() < max_sample_data_bytes());
        CHECK(fit_sample(s, max_sample_data_bytes()).empty());
        CHECK(s == before);
    }

    // Issue 12.8: the collector now refuses metrics messages over max_sample_frame_bytes with 1009,
    // so an agent must never spool one (acks are cumulative: it would stop the stream for good).
    TEST_CASE("sample_fit: issue 12.8 a host with 1,500 containers cuts its longest lists and keeps the headline")
    {
        auto s = container_host(1500);
        REQUIRE(proto::encode_sample_data(s).size() > max_sample_data_bytes());
        const auto cut = fit_sample(s, max_sample_data_bytes());
        CHECK(proto::encode_sample_data(s).size() <= max_sample_data_bytes());
        CHECK(std::find(cut.begin(), cut.end(), "containers") != cut.end());
        CHECK(s.cpu_percent == 37.5);
        CHECK(s.memory_percent == 61.2);
        CHECK(s.disk_usage.size() == 4); // short lists are not touched
        CHECK(s.cpu->cores.size() == 64);
        CHECK(s.containers->size() >= 300); // halved a few times, not emptied
        // The frame with its envelope fits the collector's limit.
        const auto frame = fmt::format(R"({{"type":"metrics","server_id":"{}","seq":{},"data":{}}})",
                                       "0b9f1c2e-7d4a-4c1e-9a51-3f6e2d8b7c10", UINT64_MAX, proto::encode_sample_data(s));
        CHECK(frame.size() <= proto::max_sample_frame_bytes);
    }

    TEST_CASE("sample_fit: with nothing left to cut it stops instead of looping")
    {
        auto s = container_host(0);
        s.network.clear();
        s.disk_io.clear();
        s.disk_usage.clear();
        s.cpu->cores.clear();
        CHECK(fit_sample(s, 10).empty());
        CHECK(s.cpu_percent == 37.5);
    }
}

} // namespace corvid::agent
