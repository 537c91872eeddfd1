#include "agent/logs/log_level.hpp"

#include <doctest/doctest.h>
#include <string>

using corvid::agent::logs::level_of_line;
using corvid::agent::logs::level_of_priority;

TEST_SUITE("logs.level")
{
    TEST_CASE("logs level_of_line: the first level word near the start of the line")
    {
        struct row {
            const char* line;
            const char* level;
        };
        const row table[] = {
            {"2026/01/01 12:00:00 [error] 123#0: *1 open() failed", "ERROR"},     // nginx
            {"2026/01/01 12:00:00 [warn] 123#0: conflicting server name", "WARN"},
            {"2026/01/01 12:00:00 [crit] 123#0: SSL_do_handshake() failed", "CRIT"},
            {"2026/01/01 12:00:00 [emerg] 123#0: bind() failed", "CRIT"},
            {"[Thu Jan 01 12:00:00 2026] [alert] [client 1.2.3.4] x", "CRIT"},    // apache
            {"ts=2026-01-01T12:00:00Z level=warn msg=\"disk almost full\"", "WARN"}, // logfmt
            {"ts=2026-01-01T12:00:00Z level=debug msg=\"error budget ok\"", "DEBUG"}, // first word wins
            {"{\"level\":\"error\",\"msg\":\"x\"}", "ERROR"},                      // JSON
            {"2026-01-01 12:00:00,123 - app.db - WARNING - slow query", "WARN"},   // Python
            {"2026-01-01 12:00:00.123  INFO 1234 --- [main] o.s.Application", "INFO"}, // Spring
            {"2026-01-01 12:00:00 FATAL out of memory", "CRIT"},
            {"2026-01-01 12:00:00 CRITICAL disk failure", "CRIT"},
            {"panic: runtime error: index out of range", "CRIT"},
            {"ERR connection refused", "ERROR"},
            {"<Notice> something changed", "NOTICE"},
            {"TRACE entering f()", "DEBUG"},
            {"E1122 12:00:00.000000    1234 server.go:42] failed", "ERROR"},    // glog
            {"W1122 12:00:00.000000    1234 server.go:42] slow", "WARN"},
            {"F1122 12:00:00.000000    1234 server.go:42] dying", "CRIT"},
            {"I1122 12:00:00.000000    1234 server.go:42] hello", "INFO"},
            {"12 errors found, information follows", "INFO"},                     // not whole words
            {"GET /index.html 200", "INFO"},
            {"", "INFO"},
        };
        for (const auto& r : table) {
            CAPTURE(r.line);
            CHECK(level_of_line(r.line) == r.level);
        }
    }

    TEST_CASE("logs level_of_line: only the start of the line is looked at, and a cut word does not count")
    {
        const std::string pad(75, '.');
        CHECK(level_of_line(pad + " error") == "INFO");          // starts at 76, cut at 80
        CHECK(level_of_line(pad + " err") == "ERROR");           // ends at 79: whole
        CHECK(level_of_line(std::string(100, '.') + " error") == "INFO");
    }

    TEST_CASE("logs level_of_priority: syslog priorities to levels")
    {
        const char* expected[] = {"CRIT", "CRIT", "CRIT", "ERROR", "WARN", "NOTICE", "INFO", "DEBUG"};
        for (int p = 0; p < 8; ++p) {
            CAPTURE(p);
            CHECK(level_of_priority(p) == expected[p]);
        }
        CHECK(level_of_priority(-1) == "INFO");
        CHECK(level_of_priority(8) == "INFO");
    }
}
