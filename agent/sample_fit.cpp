#include "agent/sample_fit.hpp"

#include <algorithm>
#include <type_traits>

#include "proto/codec.hpp"

namespace corvid::agent {
namespace {

// One cuttable list: its name for the log, its encoded size, and how to halve it.
struct list_view {
    const char* name;
    std::size_t bytes;
    void (*halve)(proto::sample_data&);
};

template <class T> std::size_t encoded_bytes(const std::vector<T>& items)
{
    // An estimate is enough to choose which list to cut first: a sample with only this list.
    proto::sample_data probe;
    if constexpr (std::is_same_v<T, proto::disk_usage>)
        probe.disk_usage = items;
    else if constexpr (std::is_same_v<T, proto::disk_io>)
        probe.disk_io = items;
    else if constexpr (std::is_same_v<T, proto::network_interface>)
        probe.network = items;
    else if constexpr (std::is_same_v<T, proto::container_stats>)
        probe.containers = items;
    return proto::encode_sample_data(probe).size();
}

template <class T> void halve(std::vector<T>& v) { v.resize(v.size() / 2); }

std::vector<list_view> cuttable_lists(const proto::sample_data& s)
{
    std::vector<list_view> lists;
    if (s.cpu && !s.cpu->cores.empty())
        lists.push_back({"cpu.cores", s.cpu->cores.size() * 8,
                         [](proto::sample_data& d) { halve(d.cpu->cores); }});
    if (!s.disk_usage.empty())
        lists.push_back({"disk_usage", encoded_bytes(s.disk_usage),
                         [](proto::sample_data& d) { halve(d.disk_usage); }});
    if (!s.disk_io.empty())
        lists.push_back({"disk_io", encoded_bytes(s.disk_io),
                         [](proto::sample_data& d) { halve(d.disk_io); }});
    if (!s.network.empty())
        lists.push_back({"network", encoded_bytes(s.network),
                         [](proto::sample_data& d) { halve(d.network); }});
    if (s.containers && !s.containers->empty())
        lists.push_back({"containers", encoded_bytes(*s.containers),
                         [](proto::sample_data& d) { halve(*d.containers); }});
    return lists;
}

} // namespace

std::size_t max_sample_data_bytes() { return proto::max_sample_frame_bytes - 256; }

std::vector<std::string> fit_sample(proto::sample_data& s, std::size_t max_bytes)
{
    std::vector<std::string> cut;
    while (proto::encode_sample_data(s).size() > max_bytes) {
        auto lists = cuttable_lists(s);
        if (lists.empty())
            break; // nothing left to cut: the headline numbers alone are far below any real limit
        const auto& longest =
            *std::max_element(lists.begin(), lists.end(), [](const auto& a, const auto& b) { return a.bytes < b.bytes; });
        longest.halve(s);
        if (std::find(cut.begin(), cut.end(), longest.name) == cut.end())
            cut.emplace_back(longest.name);
    }
    return cut;
}

} // namespace corvid::agent
