#include "agent/logs/positions.hpp"

#include <fmt/format.h>
#include <iterator>

#include "common/json_text.hpp"
#include "proto/json_reader.hpp"

namespace corvid::agent::logs {
namespace {
namespace od = simdjson::ondemand;
using proto::detail::json_reader;
using proto::detail::path;

constexpr std::uint64_t snapshot_version = 1;

bool read_file_position(json_reader& r, od::value v, const path& p, file_position& out)
{
    static constexpr std::string_view names[] = {"path", "dev", "ino", "offset", "head_len", "head_crc", "skip"};
    constexpr std::uint64_t max_u32 = 0xFFFFFFFF;
    return r.read_object(v, p, {names, 0b0001111}, [&](std::size_t i, od::value fv, const path& fp) {
        std::uint64_t n = 0;
        switch (i) {
        case 0: return r.read_string(fv, fp, max_snapshot_text_bytes, out.path);
        case 1: return r.read_uint(fv, fp, out.id.dev);
        case 2: return r.read_uint(fv, fp, out.id.ino);
        case 3: return r.read_uint(fv, fp, out.offset);
        case 4:
        case 5:
            if (!r.read_uint(fv, fp, n, max_u32))
                return false;
            (i == 4 ? out.head_len : out.head_crc) = static_cast<std::uint32_t>(n);
            return true;
        default: return r.read_bool(fv, fp, out.skipping);
        }
    });
}

bool read_journal(json_reader& r, od::value v, const path& p, std::optional<std::string>& out)
{
    static constexpr std::string_view names[] = {"cursor"};
    std::string cursor;
    if (!r.read_object(v, p, {names, 0b1}, [&](std::size_t, od::value fv, const path& fp) {
            return r.read_string(fv, fp, max_snapshot_text_bytes, cursor);
        }))
        return false;
    out = std::move(cursor);
    return true;
}

} // namespace

std::string encode_positions(const positions& p)
{
    std::string out = fmt::format("{{\"version\":{},\"patterns\":[", snapshot_version);
    for (std::size_t i = 0; i < p.patterns.size(); ++i) {
        if (i)
            out.push_back(',');
        append_json_string(out, p.patterns[i]);
    }
    out.append("],\"files\":[");
    for (std::size_t i = 0; i < p.files.size(); ++i) {
        const auto& f = p.files[i];
        out.append(i ? ",{\"path\":" : "{\"path\":");
        append_json_string(out, f.path);
        fmt::format_to(std::back_inserter(out),
                       ",\"dev\":{},\"ino\":{},\"offset\":{},\"head_len\":{},\"head_crc\":{},\"skip\":{}}}", f.id.dev,
                       f.id.ino, f.offset, f.head_len, f.head_crc, f.skipping);
    }
    out.append("],\"journal\":");
    if (p.journal_cursor) {
        out.append("{\"cursor\":");
        append_json_string(out, *p.journal_cursor);
        out.push_back('}');
    } else
        out.append("null");
    out.push_back('}');
    return out;
}

boost::system::result<positions, std::string> decode_positions(std::string_view text)
{
    if (text.size() > max_snapshot_bytes)
        return fmt::format("{} bytes, more than the limit of {}", text.size(), max_snapshot_bytes);
    const simdjson::padded_string padded(text);
    od::parser parser;
    od::document doc;
    if (auto e = parser.iterate(padded).get(doc))
        return fmt::format("invalid JSON ({})", simdjson::error_message(e));
    od::object root;
    if (auto e = doc.get_object().get(root))
        return fmt::format("not a JSON object ({})", simdjson::error_message(e));

    json_reader r;
    positions out;
    std::uint64_t version = 0;
    static constexpr std::string_view names[] = {"version", "patterns", "files", "journal"};
    const path top{nullptr, ""};
    const bool ok = r.read_fields(root, top, {names, 0b0111}, [&](std::size_t i, od::value v, const path& p) {
        switch (i) {
        case 0:
            if (!r.read_uint(v, p, version))
                return false;
            if (version != snapshot_version)
                return r.fail(proto::decode_errc::invalid_value, p,
                              fmt::format("version {} is not {}", version, snapshot_version));
            return true;
        case 1:
            return r.read_array(v, p, max_snapshot_files, [&](od::value ev, const path& ep) {
                out.patterns.emplace_back();
                return r.read_string(ev, ep, max_snapshot_text_bytes, out.patterns.back());
            });
        case 2:
            return r.read_array(v, p, max_snapshot_files, [&](od::value ev, const path& ep) {
                out.files.emplace_back();
                return read_file_position(r, ev, ep, out.files.back());
            });
        default: return read_journal(r, v, p, out.journal_cursor);
        }
    });
    if (!ok)
        return r.error.message;
    // Anything but whitespace after the object leaves a valid location behind it.
    if (!doc.current_location().error())
        return std::string("content after the JSON object");
    return out;
}

} // namespace corvid::agent::logs
