#pragma once
// SHA-256 certificate fingerprints as operators write them: the agent's tls_pin_sha256 accepts
// what `openssl x509 -noout -fingerprint -sha256` prints ("AB:CD:…") as well as bare hex, in any
// case. Pure string handling (no OpenSSL), so the config loader can check a pin without the
// networking library. Thread-safe (no state).
#include <optional>
#include <string>
#include <string_view>

namespace corvid {

// 64 lowercase hex digits, or nothing when `text` is not a SHA-256 fingerprint. Colons are
// ignored wherever they are; surrounding blanks are trimmed.
inline std::optional<std::string> normalize_sha256_fingerprint(std::string_view text)
{
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    std::string out;
    out.reserve(64);
    for (const char c : text) {
        if (c == ':')
            continue;
        if (c >= '0' && c <= '9')
            out.push_back(c);
        else if (c >= 'a' && c <= 'f')
            out.push_back(c);
        else if (c >= 'A' && c <= 'F')
            out.push_back(static_cast<char>(c - 'A' + 'a'));
        else
            return std::nullopt;
    }
    if (out.size() != 64)
        return std::nullopt;
    return out;
}

// "AB:CD:…", the way the openssl CLI prints a fingerprint, from hex digits (any case).
inline std::string format_sha256_fingerprint(std::string_view hex)
{
    std::string out;
    out.reserve(hex.size() * 3 / 2);
    for (std::size_t i = 0; i < hex.size(); ++i) {
        if (i > 0 && i % 2 == 0)
            out.push_back(':');
        const char c = hex[i];
        out.push_back(c >= 'a' && c <= 'f' ? static_cast<char>(c - 'a' + 'A') : c);
    }
    return out;
}

} // namespace corvid
