#include "collector/data_dir.hpp"

#include <cerrno>
#include <cstring>
#include <sys/stat.h>

#include "collector/storage/sqlite_storage.hpp"
#include "collector/auth/jwt.hpp"
#include "common/file_util.hpp"
#include "common/log.hpp"

namespace corvid::collector {

std::string database_path(const collector_config& cfg) { return cfg.data_dir + "/corvid.db"; }
std::string token_secret_path(const collector_config& cfg) { return cfg.data_dir + "/jwt.key"; }
std::string command_key_path(const collector_config& cfg) { return cfg.data_dir + "/command_signing.key"; }

boost::system::result<signing_key_pair> load_command_keys(const collector_config& cfg)
{
    if (auto ec = make_directories(cfg.data_dir, 0750))
        return ec;
    const auto path = command_key_path(cfg);
    auto secret = load_or_create_secret(path, signing_secret_key_bytes,
                                        [] { return generate_signing_key_pair().secret_key; });
    if (!secret)
        return secret.error();
    auto pair = signing_key_pair_from_secret(*secret);
    if (!pair) {
        log::error("{} does not hold an Ed25519 secret key; restore it from a backup (agents trust its public key)",
                   path);
        return make_error_code(secret_errc::wrong_size);
    }
    return std::move(*pair);
}

namespace {
// The database holds password hashes, API key hashes, command output and logs: owner only, like
// the key files beside it (issue 12.10). A new one is made so by the umask main() sets (SQLite
// gives the -wal and -shm files the database's mode); files an older Corvid made 0640 are
// tightened here. By path only, never by opening the files: closing any descriptor of a
// database file drops every POSIX lock this process holds on it, SQLite's included.
void make_database_private(const std::string& path)
{
    for (const std::string& p : {path, path + "-wal", path + "-shm"}) {
        struct stat st {};
        if (::stat(p.c_str(), &st) != 0 || (st.st_mode & 077) == 0)
            continue;
        if (::chmod(p.c_str(), st.st_mode & 0700) != 0)
            log::warn("cannot make {} private (mode {:o}): {}", p, st.st_mode & 0777, std::strerror(errno));
    }
}
} // namespace

boost::system::result<std::unique_ptr<storage>> open_database(const collector_config& cfg, bool migrate)
{
    if (auto ec = make_directories(cfg.data_dir, 0750))
        return ec;
    make_database_private(database_path(cfg));
    sqlite_options o;
    o.path = database_path(cfg);
    o.full_sync = cfg.sqlite_synchronous == "full";
    o.migrate = migrate;
    return open_sqlite_storage(o);
}

} // namespace corvid::collector
