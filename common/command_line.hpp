#pragma once
// The command-line grammar both daemons share: `--flag value`, `--flag=value`, `--switch`, and
// (where the program takes them) bare words such as sub-commands. What each flag means stays with
// the program; this only splits argv and refuses unknown flags and missing values.
// Pure; start-up only.
#include <boost/system/result.hpp>
#include <fmt/format.h>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace corvid {

template <class Id> struct flag_spec {
    std::string_view name; // "--config"
    Id id;
    bool takes_value;
};

template <class Id> struct parsed_flag {
    std::string name;
    Id id;
    std::string value;
};

template <class Id> struct parsed_command_line {
    std::vector<parsed_flag<Id>> flags;
    std::vector<std::string> words; // arguments that are not flags, in order
};

struct command_line_error {
    std::string flag;    // the argument at fault
    std::string message; // one line for the operator
};

// argv[0] is skipped. With allow_words false a bare word is an error ("unexpected argument").
template <class Id>
boost::system::result<parsed_command_line<Id>, command_line_error>
parse_command_line(int argc, const char* const* argv, std::span<const flag_spec<Id>> specs, bool allow_words)
{
    parsed_command_line<Id> out;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (!arg.starts_with("--") || arg == "--") {
            if (!allow_words || arg == "--")
                return command_line_error{std::string(arg), fmt::format("unexpected argument \"{}\"; see --help", arg)};
            out.words.emplace_back(arg);
            continue;
        }
        const auto eq = arg.find('=');
        const std::string name(arg.substr(0, eq));
        const flag_spec<Id>* spec = nullptr;
        for (const auto& s : specs)
            if (s.name == name)
                spec = &s;
        if (!spec)
            return command_line_error{name, fmt::format("unknown flag {}; see --help", name)};
        parsed_flag<Id> f{name, spec->id, {}};
        if (spec->takes_value) {
            if (eq != std::string_view::npos)
                f.value = arg.substr(eq + 1);
            // A following "--x" is taken as a forgotten value rather than a value that starts with "--".
            else if (i + 1 < argc && !std::string_view(argv[i + 1]).starts_with("--"))
                f.value = argv[++i];
            else
                return command_line_error{name, fmt::format("{} needs a value", name)};
        } else if (eq != std::string_view::npos) {
            return command_line_error{name, fmt::format("{} takes no value", name)};
        }
        out.flags.push_back(std::move(f));
    }
    return out;
}

} // namespace corvid
