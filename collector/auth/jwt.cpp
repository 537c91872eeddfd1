#include "collector/auth/jwt.hpp"

#include <cerrno>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <limits>
#include <optional>
#include <simdjson.h>
#include <sodium.h>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file_util.hpp"
#include "common/json_text.hpp"
#include "common/log.hpp"
#include "common/random.hpp"

namespace corvid::collector {

void throw_exception_from_error(const jwt_error& e, const boost::source_location&)
{
    throw std::runtime_error("jwt: " + e.message);
}

namespace {

// The only header we write; verify_token accepts any header whose "alg" is HS256.
constexpr std::string_view header_json = R"({"alg":"HS256","typ":"JWT"})";

void check_secret(std::string_view secret)
{
    if (secret.size() != jwt_secret_bytes)
        throw std::invalid_argument("jwt secret must be 32 bytes");
}

std::string mac_of(std::string_view secret, std::string_view signing_input)
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256(mac, reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(),
                           reinterpret_cast<const unsigned char*>(secret.data()));
    return std::string(reinterpret_cast<const char*>(mac), sizeof mac);
}

// Strict base64url: only the canonical encoding (the one we would write) is accepted, so one token
// has exactly one spelling.
std::optional<std::string> decode_part(std::string_view text)
{
    if (text.empty())
        return std::nullopt;
    auto bytes = base64url_decode(text);
    if (!bytes || base64url_encode(*bytes) != text)
        return std::nullopt;
    return bytes;
}

jwt_error error(jwt_errc code, std::string message) { return {code, std::move(message)}; }

// t lies in the future by more than the allowed clock skew (saturating, so no overflow).
bool too_far_ahead(std::int64_t t, std::int64_t now_s)
{
    constexpr auto max = std::numeric_limits<std::int64_t>::max();
    const std::int64_t limit = now_s > max - jwt_clock_skew_s ? max : now_s + jwt_clock_skew_s;
    return t > limit;
}

std::optional<jwt_error> check_header(simdjson::dom::parser& parser, std::string_view json)
{
    const simdjson::padded_string padded(json);
    simdjson::dom::object header;
    if (parser.parse(padded).get_object().get(header))
        return error(jwt_errc::malformed, "header is not a JSON object");
    bool have_alg = false;
    for (const auto field : header) {
        if (field.key == "crit")
            return error(jwt_errc::bad_algorithm, "critical header extensions are not supported");
        if (field.key != "alg")
            continue;
        if (have_alg)
            return error(jwt_errc::malformed, "header has \"alg\" twice");
        have_alg = true;
        std::string_view alg;
        if (field.value.get_string().get(alg) || alg != "HS256")
            return error(jwt_errc::bad_algorithm, "algorithm is not HS256");
    }
    if (!have_alg)
        return error(jwt_errc::bad_algorithm, "header has no \"alg\"");
    return std::nullopt;
}

boost::system::result<token_claims, jwt_error> read_claims(simdjson::dom::parser& parser, std::string_view json,
                                                           std::int64_t now_s)
{
    const simdjson::padded_string padded(json);
    simdjson::dom::object payload;
    if (parser.parse(padded).get_object().get(payload))
        return error(jwt_errc::malformed, "payload is not a JSON object");

    std::optional<std::int64_t> exp, iat, nbf, gen;
    std::optional<std::string> sub;
    for (const auto field : payload) {
        std::optional<std::int64_t>* number = field.key == "exp" ? &exp
                                            : field.key == "iat" ? &iat
                                            : field.key == "nbf" ? &nbf
                                            : field.key == "gen" ? &gen
                                                                 : nullptr;
        if (number) {
            if (number->has_value())
                return error(jwt_errc::malformed, fmt::format("claim \"{}\" appears twice", field.key));
            std::int64_t v = 0;
            if (field.value.get_int64().get(v))
                return error(jwt_errc::malformed, fmt::format("claim \"{}\" is not an integer", field.key));
            *number = v;
        } else if (field.key == "sub") {
            if (sub)
                return error(jwt_errc::malformed, "claim \"sub\" appears twice");
            std::string_view s;
            if (field.value.get_string().get(s))
                return error(jwt_errc::malformed, "claim \"sub\" is not a string");
            sub.emplace(s);
        }
    }
    if (!exp)
        return error(jwt_errc::missing_claim, "no \"exp\" claim");
    if (!sub || sub->empty())
        return error(jwt_errc::missing_claim, "no \"sub\" claim");
    if (now_s >= *exp)
        return error(jwt_errc::expired, "token has expired");
    if (nbf && too_far_ahead(*nbf, now_s))
        return error(jwt_errc::not_yet_valid, "token is not valid yet (nbf)");
    if (iat && too_far_ahead(*iat, now_s))
        return error(jwt_errc::not_yet_valid, "token was issued in the future (iat)");
    if (gen && *gen < 0)
        return error(jwt_errc::malformed, "claim \"gen\" is negative");
    return token_claims{std::move(*sub), iat.value_or(0), *exp, gen.value_or(0)};
}

} // namespace

std::string issue_token(std::string_view secret, const token_claims& claims)
{
    check_secret(secret);
    std::string payload = "{\"sub\":";
    append_json_string(payload, claims.subject);
    payload += fmt::format(",\"iat\":{},\"exp\":{},\"gen\":{}}}", claims.issued_at_s, claims.expires_at_s,
                           claims.generation);

    std::string token = base64url_encode(header_json);
    token += '.';
    token += base64url_encode(payload);
    const std::string mac = mac_of(secret, token);
    token += '.';
    token += base64url_encode(mac);
    return token;
}

boost::system::result<token_claims, jwt_error> verify_token(std::string_view secret, std::string_view token,
                                                            std::int64_t now_s)
{
    check_secret(secret);
    if (token.empty() || token.size() > max_token_bytes)
        return error(jwt_errc::malformed, "token is empty or too long");
    const auto dot1 = token.find('.');
    const auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
        return error(jwt_errc::malformed, "token does not have three parts");
    const auto header_text = token.substr(0, dot1);
    const auto payload_text = token.substr(dot1 + 1, dot2 - dot1 - 1);
    const auto signature_text = token.substr(dot2 + 1);

    // The header first, so an "alg":"none" token (often sent with an empty signature) is named
    // for what it is.
    const auto header = decode_part(header_text);
    if (!header)
        return error(jwt_errc::malformed, "header is not base64url");
    simdjson::dom::parser parser;
    if (auto e = check_header(parser, *header))
        return *e;

    // Nothing in the payload is looked at until the signature over header and payload holds.
    const auto signature = decode_part(signature_text);
    if (!signature || payload_text.empty())
        return error(jwt_errc::malformed, "signature or payload is missing or not base64url");
    if (signature->size() != crypto_auth_hmacsha256_BYTES)
        return error(jwt_errc::bad_signature, "signature has the wrong length");
    const auto signing_input = token.substr(0, dot2);
    if (crypto_auth_hmacsha256_verify(reinterpret_cast<const unsigned char*>(signature->data()),
                                      reinterpret_cast<const unsigned char*>(signing_input.data()),
                                      signing_input.size(), reinterpret_cast<const unsigned char*>(secret.data()))
        != 0)
        return error(jwt_errc::bad_signature, "signature does not match");

    const auto payload = decode_part(payload_text);
    if (!payload)
        return error(jwt_errc::malformed, "payload is not base64url");
    return read_claims(parser, *payload, now_s);
}

namespace {

class secret_category_impl final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "corvid.secret"; }
    std::string message(int ev) const override
    {
        switch (static_cast<secret_errc>(ev)) {
        case secret_errc::wrong_size: return "secret file does not hold exactly 32 bytes";
        }
        return "unknown secret error";
    }
};

boost::system::error_code last_error() { return {errno, boost::system::system_category()}; }

// Creates `path` (which must not exist) holding `bytes`, mode 0600, synced to disk.
boost::system::error_code write_new_file(const std::string& path, std::string_view bytes)
{
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return last_error();
    boost::system::error_code ec;
    std::size_t done = 0;
    while (!ec && done < bytes.size()) {
        const auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno != EINTR)
            ec = last_error();
        else if (n > 0)
            done += static_cast<std::size_t>(n);
    }
    if (!ec && ::fsync(fd) != 0)
        ec = last_error();
    ::close(fd);
    if (ec)
        ::unlink(path.c_str());
    return ec;
}

// The new directory entry must survive a crash too, or a restart would mint a new secret.
void sync_directory_of(const std::string& path)
{
    auto dir = std::filesystem::path(path).parent_path().string();
    if (dir.empty())
        dir = ".";
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

enum class create_outcome { created, lost_race };

boost::system::result<create_outcome> create_secret_file(const std::string& path, std::string_view secret)
{
    const std::string tmp = path + ".tmp-" + hex_encode(random_bytes(8));
    if (auto ec = write_new_file(tmp, secret))
        return ec;
    // link() never replaces an existing name: if another starter got there first we use its file.
    const int rc = ::link(tmp.c_str(), path.c_str());
    const int link_errno = errno;
    ::unlink(tmp.c_str());
    if (rc == 0) {
        sync_directory_of(path);
        return create_outcome::created;
    }
    if (link_errno == EEXIST)
        return create_outcome::lost_race;
    if (link_errno == EPERM || link_errno == EOPNOTSUPP) {
        // A file system without hard links: O_EXCL on the final name still picks one winner,
        // though a racing reader could see the file before its bytes (and report wrong_size).
        auto ec = write_new_file(path, secret);
        if (ec == boost::system::error_code(EEXIST, boost::system::system_category()))
            return create_outcome::lost_race;
        if (ec)
            return ec;
        sync_directory_of(path);
        return create_outcome::created;
    }
    return boost::system::error_code(link_errno, boost::system::system_category());
}

} // namespace

const boost::system::error_category& secret_category()
{
    static const secret_category_impl instance;
    return instance;
}

boost::system::error_code make_error_code(secret_errc e) { return {static_cast<int>(e), secret_category()}; }

boost::system::result<std::string> load_or_create_secret(const std::string& path, std::size_t size,
                                                         const std::function<std::string()>& generate)
{
    const boost::system::error_code not_found(ENOENT, boost::system::system_category());
    // Two rounds at most: read, else create; if creating loses a race, read the winner's file.
    for (int round = 0; round < 2; ++round) {
        auto existing = read_file(path, size + 1);
        if (existing) {
            if (existing->size() != size) {
                log::error("auth: {} does not hold a {}-byte secret; remove it to make a new one", path,
                           size);
                return make_error_code(secret_errc::wrong_size);
            }
            if (readable_by_group_or_others(path))
                log::warn("auth: {} may be read by group or others; it should have mode 0600", path);
            return std::move(*existing);
        }
        if (existing.error() == boost::system::error_code(EFBIG, boost::system::system_category())) {
            log::error("auth: {} is larger than a {}-byte secret; remove it to make a new one", path,
                       size);
            return make_error_code(secret_errc::wrong_size);
        }
        if (existing.error() != not_found) {
            log::error("auth: cannot read {}: {}", path, existing.error().message());
            return existing.error();
        }
        std::string secret = generate ? generate() : random_bytes(size);
        auto created = create_secret_file(path, secret);
        if (!created) {
            log::error("auth: cannot create {}: {}", path, created.error().message());
            return created.error();
        }
        if (*created == create_outcome::created) {
            log::info("auth: created a new secret in {}", path);
            return secret;
        }
    }
    log::error("auth: {} appeared and vanished while starting; giving up", path);
    return not_found;
}

} // namespace corvid::collector
