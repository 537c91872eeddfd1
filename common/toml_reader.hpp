#pragma once
// Reading a TOML config file with errors an operator can act on: every problem reads
// "file:line:column: key: problem", and an unknown key may come with a "did you mean" hint.
// Shared by the agent's and the collector's config; each keeps its own keys and value checks and
// turns a toml_error into its own config_error at its public boundary.
// Start-up code on the main thread; a reader holds no state but the source name, so it is cheap.
#include <boost/system/result.hpp>
#include <cstdint>
#include <fmt/format.h>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <toml++/toml.h>
#include <vector>

namespace corvid {

// A value check: the problem, in words that follow "key: ", or nothing when the value is fine.
using value_check = std::optional<std::string> (*)(std::string_view);

// Checks both programs apply to files, environment and flags alike.
std::optional<std::string> check_log_level(std::string_view v); // debug, info, notice, warn or error
std::optional<std::string> check_not_empty(std::string_view v);

// "a string", "an integer", "a table", …: the article is part of it, for "expected X, got Y".
std::string_view toml_type_name(const toml::node& n);

// " (did you mean \"k\"?)" for the first of `known` close enough to `unknown` to be a typo (at
// most 2 edits for keys of 6 or more characters, 1 for shorter ones), else "".
std::string did_you_mean(std::string_view unknown, std::span<const std::string_view> known);

struct toml_error {
    std::string key;     // the dotted key, as written ("" for a syntax error)
    std::string message; // one line: "file:line:column: key: problem"
};

class toml_reader {
public:
    // `source` names the file in messages; it must outlive the reader.
    explicit toml_reader(std::string_view source) : source_(source) {}

    // Parses a whole document; a syntax error becomes "file:line:column: TOML syntax error: …".
    boost::system::result<toml::table, toml_error> parse(std::string_view text) const;

    // The error for `key` at `where`. Control characters in the key are shown as '?', so the
    // message stays one line whatever a quoted key holds.
    toml_error at(const toml::source_region& where, const std::string& key, std::string_view problem) const;
    toml_error wrong_type(const toml::node& n, const std::string& key, std::string_view expected) const;
    // "unknown key" or "unknown table", with a suggestion from `known` if one is close.
    toml_error unknown(const toml::key& k, const std::string& full_key, bool is_table,
                       std::span<const std::string_view> known = {}) const;

    // Each reader below stores the value in `out` only when it has the right type and passes.
    std::optional<toml_error> string(const toml::node& n, const std::string& key, std::string& out,
                                     value_check check = nullptr) const;
    std::optional<toml_error> boolean(const toml::node& n, const std::string& key, bool& out) const;
    // An array of strings, each passing `check`; a bad item is reported at its own position.
    std::optional<toml_error> string_array(const toml::node& n, const std::string& key,
                                           std::vector<std::string>& out, value_check check = nullptr) const;

    template <class Int>
    std::optional<toml_error> integer(const toml::node& n, const std::string& key, Int& out, std::int64_t lo,
                                      std::int64_t hi) const
    {
        const auto* v = n.as_integer();
        if (!v)
            return wrong_type(n, key, "an integer");
        if (v->get() < lo || v->get() > hi)
            return at(n.source(), key, fmt::format("must be between {} and {} (got {})", lo, hi, v->get()));
        out = static_cast<Int>(v->get());
        return std::nullopt;
    }

private:
    std::string_view source_;
};

struct config_file {
    std::string path;
    std::string text;
};

// The configuration file a daemon reads: `explicit_path` (from --config) when given, and then it
// must be readable; otherwise `default_path` if it exists; otherwise none (nullopt).
boost::system::result<std::optional<config_file>, toml_error>
read_config_file(const std::optional<std::string>& explicit_path, std::string_view default_path);

} // namespace corvid
