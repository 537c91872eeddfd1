// Fuzz target: the Docker Engine API answers the agent parses (agent/docker/docker_json.hpp).
// The daemon is untrusted. Invariants: the container list keeps its bound and every string its
// byte limit; every entry has an id; stats values are in range (a CPU count of 0 is no count).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/docker/docker_api.hpp"
#include "agent/docker/docker_json.hpp"
#include "fuzz/fuzz_check.hpp"
#include "proto/codec.hpp"

namespace docker = corvid::agent::docker;

// docker_json.cpp calls this one function of docker_api.cpp, which otherwise pulls in Asio and
// the unix-socket client; the same one-line definition keeps Asio out of this target.
bool corvid::agent::docker::valid_container_id(std::string_view id) { return corvid::proto::is_container_ref(id); }

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    if (auto list = docker::parse_container_list(text)) {
        FUZZ_CHECK(list->containers.size() <= docker::max_containers);
        for (const auto& c : list->containers) {
            FUZZ_CHECK(!c.id.empty() && c.id.size() <= docker::max_id_bytes);
            FUZZ_CHECK(c.name.size() <= docker::max_name_bytes);
            FUZZ_CHECK(c.image.size() <= docker::max_image_bytes);
            FUZZ_CHECK(c.state.size() <= docker::max_state_bytes);
            FUZZ_CHECK(c.status.size() <= docker::max_status_bytes);
        }
    }
    if (auto st = docker::parse_stats(text); st && st->online_cpus)
        FUZZ_CHECK(*st->online_cpus > 0 && *st->online_cpus < 65536);
    (void)docker::parse_version_api(text);
    (void)docker::parse_error_body(text);
    return 0;
}
