// Test tool for spool_test's crash test: appends records to the spool in `dir` as fast as it can
// until it is killed, and after each append returns writes the seq (8 bytes, native order) to
// stdout, so the test knows which records were confirmed before the SIGKILL.
// Payload of seq n: "<n>:" then (n * 7919) % 3000 copies of 'a' + n % 26, and every 50th record
// 64 KiB more, so some writes are long enough to be caught in the middle.
// Usage: spool_writer DIR SEGMENT_BYTES SYNC(0|1)
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

#include "agent/spool.hpp"

int main(int argc, char** argv)
{
    if (argc != 4) {
        std::fprintf(stderr, "usage: spool_writer DIR SEGMENT_BYTES SYNC\n");
        return 2;
    }
    corvid::agent::spool_options o;
    o.dir = argv[1];
    o.max_bytes = std::uint64_t(1) << 30;
    o.segment_bytes = std::strtoull(argv[2], nullptr, 10);
    o.sync = argv[3][0] == '1';
    auto s = corvid::agent::spool::open(o, 0);
    if (!s) {
        std::fprintf(stderr, "spool_writer: open: %s\n", s.error().message().c_str());
        return 1;
    }
    for (;;) {
        const std::uint64_t n = s->last_seq() + 1;
        std::string payload = std::to_string(n) + ":";
        payload.append((n * 7919) % 3000 + (n % 50 == 0 ? 65536 : 0), static_cast<char>('a' + n % 26));
        auto seq = s->append(static_cast<std::int64_t>(n) * 1000, payload, 0);
        if (!seq || *seq != n) {
            std::fprintf(stderr, "spool_writer: append failed\n");
            return 1;
        }
        if (::write(1, &n, sizeof n) != sizeof n)
            return 1;
    }
}
