#pragma once
// What the storage tests share: makers of the records they store and helpers for the log queries
// they run, over the storage interface only. Single-threaded use.
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "collector/storage/storage.hpp"

namespace corvid::test {

inline const std::string srv_a = "0b8f6f2e-6c4b-4a8e-9d2a-3f1e5c7b9a10";
inline const std::string srv_b = "7d3f1c9a-2b4e-4f6a-9c8d-1e2f3a4b5c6d";
constexpr std::int64_t t0 = 1'767'225'605'000; // 2026-01-01T00:00:05Z

inline collector::server_record make_server(std::string id, std::string name, bool enabled = true)
{
    collector::server_record s;
    s.id = std::move(id);
    s.name = std::move(name);
    s.enabled = enabled;
    s.created_at_ms = 1700000000000;
    return s;
}

inline collector::sample_row make_sample(std::string server, std::int64_t ts, std::string data = "{}")
{
    collector::sample_row r;
    r.server_id = std::move(server);
    r.timestamp_ms = ts;
    r.cpu_percent = 12.5;
    r.memory_percent = 40.0;
    r.data_json = std::move(data);
    return r;
}

inline collector::command_record make_command(std::string id, std::string server, std::int64_t created)
{
    collector::command_record c;
    c.id = std::move(id);
    c.server_id = std::move(server);
    c.kind = "shell";
    c.command = "uptime";
    c.timeout_s = 30;
    c.issued_by = "alice";
    c.client_address = "127.0.0.1";
    c.status = "pending";
    c.created_at_ms = created;
    return c;
}

inline collector::audit_record audit_for(const collector::command_record& c, std::string action, std::int64_t at)
{
    collector::audit_record a;
    a.at_ms = at;
    a.actor = c.issued_by;
    a.address = c.client_address;
    a.action = std::move(action);
    a.server_id = c.server_id;
    a.command_id = c.id;
    a.detail = c.command;
    return a;
}

inline collector::log_record entry(std::int64_t ts, int level, std::string message,
                                  std::string source = "/var/log/syslog")
{
    collector::log_record r;
    r.timestamp_ms = ts;
    r.level = level;
    r.source = std::move(source);
    r.message = std::move(message);
    return r;
}

inline collector::log_insert insert_ok(collector::storage& db, const std::string& server, std::uint64_t seq,
                                       const std::vector<collector::log_record>& entries)
{
    auto r = db.insert_log_batch(server, seq, entries);
    REQUIRE(r.has_value());
    return *r;
}

inline std::vector<collector::log_record> query(collector::storage& db, const std::string& server,
                                                const collector::log_filter& f = {}, std::size_t limit = 1000,
                                                std::optional<collector::log_cursor> after = std::nullopt)
{
    auto page = db.query_logs(server, f, after, limit);
    REQUIRE(page.has_value());
    return page->entries;
}

inline std::vector<std::string> messages(const std::vector<collector::log_record>& rows)
{
    std::vector<std::string> out;
    for (const auto& r : rows)
        out.push_back(r.message);
    return out;
}

inline collector::log_filter searching(std::string text)
{
    collector::log_filter f;
    f.search = std::move(text);
    return f;
}

// Syslog-like lines: a daemon, a pid, a few words from a small vocabulary.
inline std::string log_line(std::mt19937& rng)
{
    static const char* daemons[] = {"sshd", "nginx", "kernel", "systemd", "cron", "postgres"};
    static const char* words[] = {"connection", "refused", "timeout", "accepted", "publickey", "for", "user",
                                  "session", "opened", "closed", "error", "disk", "full", "retrying", "upstream",
                                  "request", "GET", "/api/v1/health", "200", "503", "10.0.0.7", "port", "ssh2"};
    std::string s = daemons[rng() % std::size(daemons)];
    s += "[" + std::to_string(100 + rng() % 90000) + "]:";
    for (unsigned n = 6 + rng() % 20; n > 0; --n) {
        s += ' ';
        s += words[rng() % std::size(words)];
    }
    return s;
}

// `batches` batches (seq 1, 2, ...) of `per_batch` syslog-like INFO lines for srv_a, their
// timestamps one millisecond apart from t0.
inline void insert_log_lines(collector::storage& db, std::mt19937& rng, int batches, int per_batch)
{
    for (int b = 0; b < batches; ++b) {
        std::vector<collector::log_record> batch;
        for (int i = 0; i < per_batch; ++i)
            batch.push_back(entry(t0 + b * per_batch + i, 1, log_line(rng)));
        insert_ok(db, srv_a, static_cast<std::uint64_t>(b + 1), batch);
    }
}

} // namespace corvid::test
