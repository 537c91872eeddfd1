#include "common/toml_reader.hpp"

#include <algorithm>
#include <sys/stat.h>

#include "common/file_util.hpp"
#include "common/log.hpp"

namespace corvid {
namespace {

std::size_t edit_distance(std::string_view a, std::string_view b)
{
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

} // namespace

std::optional<std::string> check_log_level(std::string_view v)
{
    log::level ignored{};
    if (!log::parse_level(v, ignored))
        return fmt::format("must be debug, info, notice, warn or error (got \"{}\")", v);
    return std::nullopt;
}

std::optional<std::string> check_not_empty(std::string_view v)
{
    if (v.empty())
        return "must not be empty";
    return std::nullopt;
}

std::string_view toml_type_name(const toml::node& n)
{
    switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
    }
    return "nothing";
}

// One edit for short keys, where two would turn most words into another.
std::string did_you_mean(std::string_view unknown, std::span<const std::string_view> known)
{
    for (const auto k : known)
        if (edit_distance(unknown, k) <= (k.size() >= 6 ? 2u : 1u))
            return fmt::format(" (did you mean \"{}\"?)", k);
    return {};
}

boost::system::result<toml::table, toml_error> toml_reader::parse(std::string_view text) const
{
    try {
        return toml::parse(text, source_);
    } catch (const toml::parse_error& e) {
        const auto& where = e.source().begin;
        return toml_error{"", fmt::format("{}:{}:{}: TOML syntax error: {}", source_, where.line, where.column,
                                          e.description())};
    }
}

toml_error toml_reader::at(const toml::source_region& where, const std::string& key, std::string_view problem) const
{
    std::string shown = key;
    for (char& c : shown)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            c = '?';
    if (where.begin)
        return {key, fmt::format("{}:{}:{}: {}: {}", source_, where.begin.line, where.begin.column, shown, problem)};
    return {key, fmt::format("{}: {}: {}", source_, shown, problem)};
}

toml_error toml_reader::wrong_type(const toml::node& n, const std::string& key, std::string_view expected) const
{
    return at(n.source(), key, fmt::format("expected {}, got {}", expected, toml_type_name(n)));
}

toml_error toml_reader::unknown(const toml::key& k, const std::string& full_key, bool is_table,
                                std::span<const std::string_view> known) const
{
    return at(k.source(), full_key, fmt::format("unknown {}{}", is_table ? "table" : "key", did_you_mean(k.str(), known)));
}

std::optional<toml_error> toml_reader::string(const toml::node& n, const std::string& key, std::string& out,
                                              value_check check) const
{
    const auto* v = n.as_string();
    if (!v)
        return wrong_type(n, key, "a string");
    if (check)
        if (auto problem = check(v->get()))
            return at(n.source(), key, *problem);
    out = v->get();
    return std::nullopt;
}

std::optional<toml_error> toml_reader::boolean(const toml::node& n, const std::string& key, bool& out) const
{
    const auto* v = n.as_boolean();
    if (!v)
        return wrong_type(n, key, "a boolean");
    out = v->get();
    return std::nullopt;
}

std::optional<toml_error> toml_reader::string_array(const toml::node& n, const std::string& key,
                                                    std::vector<std::string>& out, value_check check) const
{
    const auto* arr = n.as_array();
    if (!arr)
        return wrong_type(n, key, "an array of strings");
    std::vector<std::string> items;
    for (const auto& item : *arr) {
        const auto* s = item.as_string();
        if (!s)
            return wrong_type(item, key, "an array of strings");
        if (check)
            if (auto problem = check(s->get()))
                return at(item.source(), key, *problem);
        items.push_back(s->get());
    }
    out = std::move(items);
    return std::nullopt;
}

boost::system::result<std::optional<config_file>, toml_error>
read_config_file(const std::optional<std::string>& explicit_path, std::string_view default_path)
{
    if (explicit_path && explicit_path->empty())
        return toml_error{"--config", "--config needs a file name"};
    const std::string path = explicit_path ? *explicit_path : std::string(default_path);
    struct stat st {};
    if (!explicit_path && ::stat(path.c_str(), &st) != 0)
        return std::optional<config_file>{}; // no file at the default path: defaults, env and flags only
    auto text = read_file(path);
    if (!text)
        return toml_error{explicit_path ? "--config" : path,
                          fmt::format("cannot read config file {}: {}", path, text.error().message())};
    return std::optional<config_file>{config_file{path, std::move(*text)}};
}

} // namespace corvid
