#include "agent/docker/docker_json.hpp"

#include <doctest/doctest.h>
#include <fstream>
#include <sstream>

using namespace corvid::agent::docker;

namespace {
std::string fixture(const char* name)
{
    const std::string path = std::string(CORVID_SOURCE_DIR) + "/tests/fixtures/docker/" + name;
    std::ifstream in(path, std::ios::binary);
    REQUIRE_MESSAGE(in, "cannot open " << path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}
} // namespace

TEST_SUITE("docker_json")
{
    TEST_CASE("docker_json: podman's container list")
    {
        auto list = parse_container_list(fixture("podman_list.json"));
        REQUIRE(list.has_value());
        REQUIRE(list->containers.size() == 1);
        const auto& c = list->containers[0];
        CHECK(c.id == "810ba63fab086e83dde272c5507dd3f1bbce88fa57fe1c6a07a98226d5b64a0b");
        CHECK(c.name == "c1");
        CHECK(c.image == "localhost/bb:latest");
        CHECK(c.state == "running");
        CHECK(c.status == "Up Less than a second");
        CHECK_FALSE(list->truncated);
    }

    TEST_CASE("docker_json: Docker's container list, first name without the slash")
    {
        auto list = parse_container_list(fixture("docker_list.json"));
        REQUIRE(list.has_value());
        REQUIRE(list->containers.size() == 3);
        CHECK(list->containers[0].name == "web");
        CHECK(list->containers[0].image == "nginx:1.25");
        CHECK(list->containers[0].status == "Up 3 hours (healthy)");
        CHECK(list->containers[1].name == "backup-job");
        CHECK(list->containers[1].state == "exited");
        CHECK(list->containers[2].state == "paused");
        CHECK(list->containers[2].image == "postgres:16");
    }

    TEST_CASE("docker_json: untrusted lists: bad entries skipped, odd fields empty, strings cut")
    {
        const std::string long_name(1000, 'n');
        const std::string json = R"([
            {"Names":["/no-id"],"State":"running"},
            {"Id":"has/slash","Names":["/x"]},
            {"Id":42},
            "not an object",
            {"Id":"abc","Names":"not-an-array","Image":7,"State":null,"Status":["x"],"Extra":{"deep":[1,2,{"a":"b"}]}},
            {"Id":"def","Names":["/)" + long_name + R"("],"State":"running"}
        ])";
        auto list = parse_container_list(json);
        REQUIRE(list.has_value());
        REQUIRE(list->containers.size() == 2);
        CHECK((list->containers[0] == container_entry{"abc", "", "", "", ""}));
        CHECK(list->containers[1].id == "def");
        CHECK(list->containers[1].name.size() == max_name_bytes);
        CHECK(list->containers[1].state == "running");
    }

    TEST_CASE("docker_json: a list is bounded")
    {
        std::string json = "[";
        for (std::size_t i = 0; i < max_containers + 5; ++i)
            json += (i ? "," : "") + std::string(R"({"Id":"c)") + std::to_string(i) + R"(","State":"running"})";
        json += "]";
        auto list = parse_container_list(json);
        REQUIRE(list.has_value());
        CHECK(list->containers.size() == max_containers);
        CHECK(list->truncated);
    }

    TEST_CASE("docker_json: lists that are not lists fail with a message")
    {
        CHECK_FALSE(parse_container_list("").has_value());
        CHECK_FALSE(parse_container_list("{}").has_value());
        CHECK_FALSE(parse_container_list("[{\"Id\":\"a\"").has_value());
        CHECK_FALSE(parse_container_list("\x01\x02garbage").has_value());
        auto r = parse_container_list("{\"message\":\"page not found\"}");
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().message == "expected a JSON array of containers");
        CHECK(parse_container_list("[]").has_value());
    }

    TEST_CASE("docker_json: podman's one-shot stats (cgroup v1, no memory details)")
    {
        auto s = parse_stats(fixture("podman_stats.json"));
        REQUIRE(s.has_value());
        CHECK(s->cpu_total_ns == 36966855u);
        CHECK(s->system_cpu_ns == 10386900675255u);
        CHECK(s->online_cpus == 2u);
        CHECK(s->memory_bytes == 483328u);
        CHECK(s->memory_limit_bytes == 25276502016u);
        CHECK(s->rx_bytes == 472u);
        CHECK(s->tx_bytes == 916u);
    }

    TEST_CASE("docker_json: Docker's stats on cgroup v2: usage minus inactive_file, networks summed")
    {
        auto s = parse_stats(fixture("docker_stats_cgroup2.json"));
        REQUIRE(s.has_value());
        CHECK(s->cpu_total_ns == 1500000000u);
        CHECK(s->system_cpu_ns == 40000000000000u);
        CHECK(s->online_cpus == 4u);
        CHECK(s->memory_bytes == 52428800u - 10485760u);
        CHECK(s->memory_limit_bytes == 8323362816u);
        CHECK(s->rx_bytes == 5338u + 1000u);
        CHECK(s->tx_bytes == 648u + 2000u);
    }

    TEST_CASE("docker_json: Docker's stats on cgroup v1: total_inactive_file, cpus from percpu_usage")
    {
        auto s = parse_stats(fixture("docker_stats_cgroup1.json"));
        REQUIRE(s.has_value());
        CHECK(s->online_cpus == 8u);
        CHECK(s->memory_bytes == 104857600u - 25165824u);
        CHECK(s->rx_bytes == 100u);
    }

    TEST_CASE("docker_json: mistyped stats values are absent, the rest still read")
    {
        auto s = parse_stats(R"({
            "cpu_stats": {"cpu_usage": {"total_usage": "12", "percpu_usage": "x"}, "system_cpu_usage": -5, "online_cpus": 2.5},
            "memory_stats": {"usage": 1.5e3, "limit": 1024, "stats": {"inactive_file": "lots"}},
            "networks": {"eth0": {"rx_bytes": 10, "tx_bytes": 20}, "eth1": {"rx_bytes": 5}}
        })");
        REQUIRE(s.has_value());
        CHECK_FALSE(s->cpu_total_ns);
        CHECK_FALSE(s->system_cpu_ns);
        CHECK_FALSE(s->online_cpus);
        CHECK_FALSE(s->memory_bytes);
        CHECK(s->memory_limit_bytes == 1024u);
        CHECK_FALSE(s->rx_bytes); // eth1 has no tx_bytes: a partial sum would make a bogus rate
        CHECK_FALSE(s->tx_bytes);
    }

    TEST_CASE("docker_json: inactive_file larger than usage leaves usage, no networks, no rates")
    {
        auto s = parse_stats(R"({"memory_stats":{"usage":100,"stats":{"inactive_file":200}},"cpu_stats":null})");
        REQUIRE(s.has_value());
        CHECK(s->memory_bytes == 100u);
        CHECK_FALSE(s->rx_bytes);
        CHECK_FALSE(s->cpu_total_ns);
    }

    TEST_CASE("docker_json: stats that are not stats fail or come back empty, never crash")
    {
        CHECK_FALSE(parse_stats("").has_value());                 // podman's answer for a stopped container
        CHECK_FALSE(parse_stats("[]").has_value());
        CHECK_FALSE(parse_stats(R"({"cpu_stats":{"cpu_usage":{"total_usage":5)").has_value());
        auto huge = parse_stats(R"({"memory_stats":{"usage":99999999999999999999999,"limit":5}})");
        REQUIRE(huge.has_value()); // a number beyond 64 bits is a mistyped value: absent
        CHECK_FALSE(huge->memory_bytes);
        CHECK(huge->memory_limit_bytes == 5u);
        auto empty = parse_stats("{}");
        REQUIRE(empty.has_value());
        CHECK((*empty == stats_reading{}));
        auto overflow = parse_stats(
            R"({"networks":{"a":{"rx_bytes":18446744073709551615,"tx_bytes":1},"b":{"rx_bytes":1,"tx_bytes":1}}})");
        REQUIRE(overflow.has_value());
        CHECK_FALSE(overflow->rx_bytes);
    }

    TEST_CASE("docker_json: /version and error bodies")
    {
        auto v = parse_version_api(R"({"Version":"24.0.7","ApiVersion":"1.43","MinAPIVersion":"1.12"})");
        REQUIRE(v.has_value());
        CHECK(*v == "1.43");
        CHECK_FALSE(parse_version_api(R"({"Version":"24.0.7"})").has_value());
        CHECK_FALSE(parse_version_api("nope").has_value());
        auto e = parse_error_body(R"({"cause":"no such container","message":"no container","response":404})");
        REQUIRE(e.has_value());
        CHECK(e->message == "no container");
        CHECK(e->cause == "no such container");
        CHECK_FALSE(parse_error_body("Not Found").has_value());
        CHECK_FALSE(parse_error_body(R"({"message":""})").has_value());
    }
}
