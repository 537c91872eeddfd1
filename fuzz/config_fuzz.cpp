// Fuzz target: the agent's and the collector's TOML configuration (agent/config.hpp,
// collector/config.hpp). Invariants: an error always names a message; a file that applies
// without error applies again, onto the result, without error (applying is idempotent in kind).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/config.hpp"
#include "collector/config.hpp"
#include "fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size > 64 * 1024)
        return 0; // config files are small; keeps toml++'s work per input bounded
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    corvid::agent::agent_config agent;
    if (auto e = corvid::agent::apply_agent_toml(agent, text, "fuzz.toml")) {
        FUZZ_CHECK(!e->message.empty());
    } else {
        FUZZ_CHECK(agent.interval_s >= 1 && agent.interval_s <= 60);
        corvid::agent::agent_config again = agent;
        FUZZ_CHECK(!corvid::agent::apply_agent_toml(again, text, "fuzz.toml"));
    }

    corvid::collector::collector_config collector;
    if (auto e = corvid::collector::apply_collector_toml(collector, text, "fuzz.toml")) {
        FUZZ_CHECK(!e->message.empty());
    } else {
        corvid::collector::collector_config again = collector;
        FUZZ_CHECK(!corvid::collector::apply_collector_toml(again, text, "fuzz.toml"));
    }
    return 0;
}
