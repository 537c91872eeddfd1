#include "collector/sessions/log_session.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace corvid::collector {
namespace {
constexpr std::size_t max_history_bytes = 4 << 20;
} // namespace

log_session::log_session(app& a, std::unique_ptr<ws_connection> conn, std::string server_id)
    : frontend_socket(a, std::move(conn), std::move(server_id), "logs")
{
}

void log_session::deliver_logs(const std::vector<live_log_ptr>& entries)
{
    if (closing())
        return;
    bool queued = false;
    for (const auto& e : entries)
        if (filter_.matches(*e))
            queued = outbox_.push(e) || queued;
    if (queued || outbox_.dropped() > 0)
        wake();
}

net::awaitable<void> log_session::on_joined()
{
    // By static_pointer_cast: enable_shared_from_this lives in frontend_socket.
    app_.logs.join(server_id_, std::static_pointer_cast<log_session>(shared_from_this()));
    co_return;
}

void log_session::on_left() { app_.logs.leave(server_id_, this); }

net::awaitable<void> log_session::on_message(std::string_view text)
{
    auto msg = proto::decode_from_log_frontend(text);
    if (!msg) {
        send_error("invalid_message", msg.error().message);
        co_return;
    }
    if (std::holds_alternative<proto::ping>(*msg))
        send_pong();
    else if (auto* sub = std::get_if<proto::log_subscribe>(&*msg))
        co_await on_subscribe(*sub);
    else if (std::holds_alternative<proto::frontend_auth>(*msg))
        send_error("invalid_message", "already authenticated");
}

net::awaitable<void> log_session::on_subscribe(const proto::log_subscribe& sub)
{
    live_log_filter next;
    if (sub.level) {
        const auto level = proto::log_level_from_name(*sub.level);
        if (!level) {
            send_error("invalid_subscription", "level must be DEBUG, INFO, NOTICE, WARN, ERROR or CRIT");
            co_return;
        }
        next.min_level = static_cast<int>(*level);
    }
    if (sub.history && (*sub.history < 0 || *sub.history > proto::max_log_history)) {
        send_error("invalid_subscription", fmt::format("history must be between 0 and {}", proto::max_log_history));
        co_return;
    }
    // Empty means "no restriction", as absent does: what a cleared search box sends.
    if (sub.search && !sub.search->empty())
        next.search = log_search::parse(*sub.search);
    if (sub.source && !sub.source->empty())
        next.source = *sub.source;

    // What was queued matched the old filter; the history (if asked) covers what the new one wants.
    filter_ = std::move(next);
    outbox_.clear();
    history_.clear();
    const auto wanted = static_cast<std::size_t>(sub.history.value_or(0));
    if (wanted == 0)
        co_return;

    loading_history_ = true;
    const auto filter = filter_.storage_filter();
    const std::string id = server_id_;
    // Encoding up to 1000 entries runs on the reader thread with the query.
    auto loaded = co_await app_.store.read([&](storage& s) -> storage_result<std::vector<log_record>> {
        auto page = s.query_logs(id, filter, std::nullopt, wanted);
        if (!page)
            return page.error();
        return std::move(page->entries);
    });
    loading_history_ = false;
    if (!loaded) {
        send_error("internal_error", loaded.error() == storage_errc::timed_out
                                         ? "log history: the search took too long; narrow it (words of 3 or more "
                                           "characters use the index)"
                                         : "log history is unavailable right now");
        wake();
        co_return;
    }
    // Newest first from storage; keep what fits the byte bound, send oldest first.
    std::vector<std::shared_ptr<const std::string>> frames;
    std::size_t bytes = 0;
    std::int64_t max_id = 0;
    for (auto& r : *loaded) {
        const auto level = static_cast<proto::log_level>(std::clamp(r.level, 0, 5));
        auto frame = make_frame(proto::encode_frontend_log(proto::log_entry{
            r.timestamp_ms, std::string(proto::log_level_name(level)), std::move(r.source), std::move(r.message),
            r.truncated}));
        if (bytes + frame->size() > max_history_bytes && !frames.empty())
            break;
        bytes += frame->size();
        max_id = std::max(max_id, r.id);
        frames.push_back(std::move(frame));
    }
    history_.assign(frames.rbegin(), frames.rend());
    // Entries committed before the query ran are in it (if they match and are recent enough to
    // make the cut); entries committed later have larger ids. So a live entry with an id up to the
    // history's largest was either sent above or is older than all of it.
    outbox_.drop_up_to(max_id);
    wake();
}

frontend_socket::data_step log_session::next_data()
{
    if (loading_history_)
        return {};
    if (!history_.empty()) {
        auto frame = std::move(history_.front());
        history_.pop_front();
        return {std::move(frame), std::nullopt};
    }
    return {outbox_.pop(), std::nullopt};
}

} // namespace corvid::collector
