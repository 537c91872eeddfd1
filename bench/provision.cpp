// corvid-bench-provision: fills a collector data directory for load tests in one go: N servers
// with fresh API keys and one admin user, straight through the storage layer (the CLI's
// `server add`, one process per server, would take minutes for 10,000). The keys go to
// D/bench-keys.tsv ("server_id<TAB>api_key" per line, mode 0600) for corvid-loadgen.
//   corvid-bench-provision --data-dir D --servers N --user NAME --password P
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>

#include "collector/auth/api_key.hpp"
#include "collector/auth/password.hpp"
#include "collector/storage/sqlite_storage.hpp"
#include "common/file_util.hpp"
#include "common/random.hpp"
#include "common/time_format.hpp"

namespace {
using namespace corvid;
using namespace corvid::collector;

[[noreturn]] void usage()
{
    std::fprintf(stderr, "usage: corvid-bench-provision --data-dir D --servers N --user NAME --password P\n");
    std::exit(2);
}

bool write_all(int fd, std::string_view text)
{
    while (!text.empty()) {
        const auto n = ::write(fd, text.data(), text.size());
        if (n <= 0)
            return false;
        text.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}
} // namespace

int main(int argc, char** argv)
{
    std::string data_dir, user, password;
    long servers = -1;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (i + 1 >= argc)
            usage();
        const char* value = argv[++i];
        if (arg == "--data-dir")
            data_dir = value;
        else if (arg == "--servers")
            servers = std::strtol(value, nullptr, 10);
        else if (arg == "--user")
            user = value;
        else if (arg == "--password")
            password = value;
        else
            usage();
    }
    if (data_dir.empty() || servers < 1 || user.empty() || password.size() < 8)
        usage();

    init_crypto();
    ::umask(027);
    if (auto ec = make_directories(data_dir, 0750)) {
        std::fprintf(stderr, "cannot create %s: %s\n", data_dir.c_str(), ec.message().c_str());
        return 1;
    }
    sqlite_options options;
    options.path = data_dir + "/corvid.db";
    auto db = open_sqlite_storage(options);
    if (!db) {
        std::fprintf(stderr, "cannot open %s: %s\n", options.path.c_str(), db.error().message().c_str());
        return 1;
    }
    const std::string keys_path = data_dir + "/bench-keys.tsv";
    const int fd = ::open(keys_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        std::perror(keys_path.c_str());
        return 1;
    }

    const auto start = std::chrono::steady_clock::now();
    if (auto added = (*db)->add_user({user, hash_password(password), role::admin, now_unix_ms()}); !added) {
        std::fprintf(stderr, "adding user %s failed: %s\n", user.c_str(), added.error().message().c_str());
        return 1;
    }
    // One autocommit per server: the storage interface has no multi-statement transaction, and in
    // WAL mode with synchronous=NORMAL a commit does not fsync, so 10,000 of them take about a second.
    std::string lines;
    for (long i = 0; i < servers; ++i) {
        server_record server;
        server.id = uuid_v4();
        server.name = "bench-" + std::to_string(i);
        server.created_at_ms = now_unix_ms();
        const auto key = generate_api_key();
        if (auto added = (*db)->add_server(server, hash_api_key(key)); !added) {
            std::fprintf(stderr, "adding server %ld failed: %s\n", i, added.error().message().c_str());
            return 1;
        }
        lines += server.id;
        lines += '\t';
        lines += key;
        lines += '\n';
    }
    if (!write_all(fd, lines) || ::fsync(fd) != 0 || ::close(fd) != 0) {
        std::perror(keys_path.c_str());
        return 1;
    }
    const auto s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "provisioned %ld servers and user '%s' in %s in %.2f s; keys in %s\n", servers, user.c_str(),
                 data_dir.c_str(), s, keys_path.c_str());
    return 0;
}
