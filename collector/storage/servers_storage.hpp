#pragma once
// Storage of the monitored servers and the hash of each one's agent API key. Part of the storage
// interface (storage.hpp; its threading rule holds).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/storage/storage_error.hpp"

namespace corvid::collector {

struct server_record {
    std::string id; // uuid v4
    std::string name;
    bool enabled = true;
    std::int64_t created_at_ms = 0;
    std::optional<std::int64_t> last_seen_ms;
    std::string hostname, agent_version; // as the agent last reported them
};

class servers_storage {
public:
    virtual ~servers_storage() = default;

    virtual storage_result<void> add_server(const server_record& server, std::string_view api_key_hash) = 0;
    virtual storage_result<std::vector<server_record>> list_servers() = 0;
    virtual storage_result<std::optional<server_record>> find_server(std::string_view id) = 0;
    // Only enabled servers are found by key.
    virtual storage_result<std::optional<server_record>> find_server_by_key_hash(std::string_view api_key_hash) = 0;
    // false: no such server.
    virtual storage_result<bool> replace_api_key_hash(std::string_view id, std::string_view api_key_hash) = 0;
    // Deletes the server, its samples, log entries and gaps. false: no such server.
    virtual storage_result<bool> delete_server(std::string_view id) = 0;
    virtual storage_result<void> record_agent_seen(std::string_view id, std::int64_t last_seen_ms,
                                                   std::string_view hostname, std::string_view agent_version) = 0;
};

} // namespace corvid::collector
