#include "collector/sessions/connection_group.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <vector>

#include "common/deadline.hpp"
#include "common/log.hpp"

namespace corvid::collector {

connection_group::connection_group(net::any_io_executor ex) : ex_(ex), empty_(ex) {}

bool connection_group::spawn(net::awaitable<void> member)
{
    if (stopping_)
        return false;
    auto it = members_.emplace(members_.end());
    net::co_spawn(ex_, std::move(member),
                  net::bind_cancellation_slot(it->slot(), [this, it](std::exception_ptr e) {
                      if (e) {
                          try {
                              std::rethrow_exception(e);
                          } catch (const std::exception& ex) {
                              log::error("connection ended by an exception: {}", ex.what());
                          }
                      }
                      on_member_end(it);
                  }));
    return true;
}

void connection_group::on_member_end(std::list<net::cancellation_signal>::iterator it)
{
    members_.erase(it);
    if (stopping_ && members_.empty())
        empty_.cancel();
}

connection_group::stop_hook connection_group::on_stop(std::function<void()> hook)
{
    if (stopping_) {
        hook();
        return {};
    }
    const auto id = next_hook_++;
    hooks_->emplace(id, std::move(hook));
    return stop_hook(hooks_, id);
}

connection_group::stop_hook::stop_hook(stop_hook&& other) noexcept
    : hooks_(std::move(other.hooks_)), id_(std::exchange(other.id_, 0))
{
}

connection_group::stop_hook& connection_group::stop_hook::operator=(stop_hook&& other) noexcept
{
    if (this != &other) {
        if (auto table = hooks_.lock())
            table->erase(id_);
        hooks_ = std::move(other.hooks_);
        id_ = std::exchange(other.id_, 0);
    }
    return *this;
}

connection_group::stop_hook::~stop_hook()
{
    if (auto table = hooks_.lock())
        table->erase(id_);
}

net::awaitable<void> connection_group::stop(std::chrono::steady_clock::duration deadline)
{
    stopping_ = true;
    // By id, each looked up again: a hook may end members whose hooks come later.
    std::vector<std::uint64_t> ids;
    for (const auto& [id, hook] : *hooks_)
        ids.push_back(id);
    for (const auto id : ids) {
        auto found = hooks_->find(id);
        if (found == hooks_->end())
            continue;
        auto hook = std::move(found->second);
        hooks_->erase(found);
        hook();
    }
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (!members_.empty() && std::chrono::steady_clock::now() < until) {
        empty_.expires_at(until);
        co_await empty_.async_wait(use_tuple);
    }
    if (!members_.empty()) {
        log::warn("{} connections did not end within the shutdown deadline; cancelling them", members_.size());
        // The next one first: should a member end inside emit(), its entry is erased.
        for (auto it = members_.begin(); it != members_.end();) {
            auto member = it++;
            member->emit(net::cancellation_type::terminal);
        }
    }
}

} // namespace corvid::collector
