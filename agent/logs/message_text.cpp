#include "agent/logs/message_text.hpp"

#include "common/json_text.hpp"

namespace corvid::agent::logs {
namespace {
constexpr std::string_view replacement = "\xEF\xBF\xBD";
constexpr std::size_t max_utf8_sequence = 4;
} // namespace

message_text clean_message(std::string_view raw, std::size_t max_bytes)
{
    if (raw.ends_with('\r'))
        raw.remove_suffix(1);
    // Repairing never makes text shorter, so bytes beyond max_bytes can only matter when they
    // finish a character that starts before the cut: a few bytes more are enough to look at.
    const auto taken = raw.substr(0, max_bytes + max_utf8_sequence - 1);
    message_text out;
    out.text.reserve(taken.size());
    for (std::size_t i = 0; i < taken.size();) {
        const auto n = utf8_sequence_length(taken, i);
        if (n == 0 || taken[i] == '\0') {
            out.text.append(replacement);
            ++i;
        } else {
            out.text.append(taken.substr(i, n));
            i += n;
        }
    }
    out.truncated = taken.size() < raw.size();
    if (out.text.size() > max_bytes) {
        std::size_t cut = max_bytes;
        while (cut > 0 && (static_cast<unsigned char>(out.text[cut]) & 0xC0) == 0x80)
            --cut;
        out.text.resize(cut);
        out.truncated = true;
    }
    return out;
}

} // namespace corvid::agent::logs
