#include "agent/outbox.hpp"

namespace corvid::agent {

outbox::outbox(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

std::uint64_t outbox::push(proto::sample_data data)
{
    if (items_.size() == capacity_) {
        items_.pop_front();
        ++dropped_;
        if (sent_ > 0)
            --sent_;
    }
    proto::metrics m;
    m.seq = next_seq_++;
    m.data = std::move(data);
    items_.push_back(std::move(m));
    return items_.back().seq;
}

const proto::metrics* outbox::next_unsent() const { return sent_ < items_.size() ? &items_[sent_] : nullptr; }

void outbox::mark_sent()
{
    if (sent_ < items_.size())
        ++sent_;
}

void outbox::acknowledge(std::uint64_t seq)
{
    while (!items_.empty() && items_.front().seq <= seq) {
        items_.pop_front();
        if (sent_ > 0)
            --sent_;
    }
}

void outbox::rewind() { sent_ = 0; }

} // namespace corvid::agent
