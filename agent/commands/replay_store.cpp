#include "agent/commands/replay_store.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <charconv>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include "common/file_util.hpp"
#include "common/on_thread.hpp"

namespace corvid::agent {
namespace {

constexpr std::string_view magic = "corvid-command-ids v1 ";
// command_guard keeps at most 4096 ids; ids longer than 4 KiB would not fit a command frame's
// purpose anyway. A larger file is not ours.
constexpr std::size_t max_file_bytes = 32 << 20;

// A decimal number without sign or leading zeros, ended by `end`; advances `text` past `end`.
std::optional<std::uint64_t> take_number(std::string_view& text, char end)
{
    const auto stop = text.find(end);
    if (stop == std::string_view::npos || stop == 0 || stop > 19 || (stop > 1 && text[0] == '0'))
        return std::nullopt;
    std::uint64_t v = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + stop, v);
    if (ec != std::errc{} || ptr != text.data() + stop)
        return std::nullopt;
    text.remove_prefix(stop + 1);
    return v;
}

boost::system::error_code last_error() { return {errno, boost::system::system_category()}; }

// The rename is durable only once the directory is synced: without it a power cut could bring
// back the previous file, and with it an id the agent already acted on.
boost::system::error_code sync_directory_of(const std::string& path)
{
    const auto slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return last_error();
    boost::system::error_code ec;
    if (::fsync(fd) != 0)
        ec = last_error();
    ::close(fd);
    return ec;
}

} // namespace

std::string encode_command_ids(const remembered_ids& ids)
{
    std::string out = fmt::format("{}{}\n", magic, ids.size());
    for (const auto& [id, expires_ms] : ids)
        fmt::format_to(std::back_inserter(out), "{} {} {}\n", expires_ms, id.size(), id);
    return out;
}

boost::system::result<remembered_ids, std::string> parse_command_ids(std::string_view text)
{
    using bad = boost::system::result<remembered_ids, std::string>;
    if (!text.starts_with(magic))
        return bad(boost::system::in_place_error, "it does not start with \"corvid-command-ids v1\"");
    text.remove_prefix(magic.size());
    const auto count = take_number(text, '\n');
    if (!count)
        return bad(boost::system::in_place_error, "its header has no valid count");
    remembered_ids ids;
    for (std::uint64_t i = 0; i < *count; ++i) {
        const auto expires = take_number(text, ' ');
        const auto length = expires ? take_number(text, ' ') : std::nullopt;
        if (!expires || !length || *length == 0 || *expires > static_cast<std::uint64_t>(INT64_MAX) ||
            text.size() <= *length || text[*length] != '\n')
            return bad(boost::system::in_place_error, fmt::format("entry {} of {} is malformed", i + 1, *count));
        const auto [it, fresh] = ids.emplace(std::string(text.substr(0, *length)), static_cast<std::int64_t>(*expires));
        if (!fresh)
            return bad(boost::system::in_place_error, fmt::format("entry {} repeats an id", i + 1));
        text.remove_prefix(*length + 1);
    }
    if (!text.empty())
        return bad(boost::system::in_place_error, fmt::format("it has {} bytes after its {} entries", text.size(), *count));
    return ids;
}

boost::system::error_code write_command_ids(const std::string& path, const remembered_ids& ids)
{
    if (auto ec = write_file_atomic(path, encode_command_ids(ids), 0600, true))
        return ec;
    return sync_directory_of(path);
}

replay_store::replay_store(std::string path) : path_(std::move(path)) {}

replay_store::~replay_store()
{
    pool_.join();
}

replay_store::loaded replay_store::load() const
{
    loaded out;
    auto text = read_file(path_, max_file_bytes);
    if (!text) {
        if (text.error() != boost::system::errc::no_such_file_or_directory)
            out.unreadable = fmt::format("cannot read it: {}", text.error().message());
        return out;
    }
    auto ids = parse_command_ids(*text);
    if (!ids)
        out.unreadable = std::move(ids.error());
    else
        out.ids = std::move(*ids);
    return out;
}

net::awaitable<boost::system::error_code> replay_store::save(remembered_ids ids)
{
    auto on_thread = [this, ids = std::move(ids)] { return write_command_ids(path_, ids); };
    auto ec = co_await run_on(pool_, std::move(on_thread));
    co_return ec;
}

} // namespace corvid::agent
