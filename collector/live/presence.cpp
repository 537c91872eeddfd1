#include "collector/live/presence.hpp"

#include "proto/codec.hpp"

namespace corvid::collector {

void presence::publish_status(const std::string& server_id, bool online, std::optional<std::int64_t> last_seen_ms)
{
    const auto live = watchers_.live(server_id);
    if (live.empty())
        return;
    auto msg = std::make_shared<const std::string>(proto::encode_status(online, last_seen_ms));
    for (const auto& w : live)
        w->deliver_status(msg);
}

void presence::forget_server(const std::string& server_id)
{
    const auto live = watchers_.live(server_id);
    watchers_.forget(server_id);
    for (const auto& w : live)
        w->close_server_deleted();
}

} // namespace corvid::collector
