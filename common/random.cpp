#include "common/random.hpp"

#include <sodium.h>
#include <stdexcept>

namespace corvid {

void init_crypto()
{
    if (sodium_init() < 0)
        throw std::runtime_error("libsodium failed to initialise");
}

std::string random_bytes(std::size_t n)
{
    std::string out(n, '\0');
    randombytes_buf(out.data(), n);
    return out;
}

std::string uuid_v4()
{
    auto b = random_bytes(16);
    b[6] = static_cast<char>((b[6] & 0x0F) | 0x40);
    b[8] = static_cast<char>((b[8] & 0x3F) | 0x80);
    const auto h = hex_encode(b);
    return h.substr(0, 8) + '-' + h.substr(8, 4) + '-' + h.substr(12, 4) + '-' + h.substr(16, 4) + '-' + h.substr(20);
}

bool is_uuid(std::string_view s)
{
    if (s.size() != 36)
        return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

namespace {
std::string encode(std::string_view bytes, int variant)
{
    std::string out(sodium_base64_encoded_len(bytes.size(), variant), '\0');
    sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), variant);
    out.resize(out.size() - 1); // drop the terminating NUL libsodium writes
    return out;
}

std::optional<std::string> decode(std::string_view text, int variant)
{
    std::string out(text.size() * 3 / 4 + 3, '\0');
    std::size_t len = 0;
    const char* end = nullptr;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                          &len, &end, variant) != 0
        || end != text.data() + text.size())
        return std::nullopt;
    out.resize(len);
    return out;
}
} // namespace

std::string base64url_encode(std::string_view bytes) { return encode(bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING); }
std::optional<std::string> base64url_decode(std::string_view t) { return decode(t, sodium_base64_VARIANT_URLSAFE_NO_PADDING); }
std::string base64_encode(std::string_view bytes) { return encode(bytes, sodium_base64_VARIANT_ORIGINAL); }
std::optional<std::string> base64_decode(std::string_view t) { return decode(t, sodium_base64_VARIANT_ORIGINAL); }

std::string hex_encode(std::string_view bytes)
{
    std::string out(bytes.size() * 2 + 1, '\0');
    sodium_bin2hex(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
    out.pop_back();
    return out;
}

} // namespace corvid
