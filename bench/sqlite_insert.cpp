// corvid-bench-sqlite: the write limit the collector's throughput is compared with. Inserts N
// realistic sample rows (bench/sample.hpp, encoded with proto::encode_sample_data as the collector
// stores them) in transactions of B rows, on a fresh file in WAL mode with synchronous=NORMAL:
//   storage  through sqlite_storage::insert_samples, the collector's own write path;
//   raw      the same rows through the bare SQLite C API (same schema, one prepared statement),
//            to show what the storage layer costs; with --raw-schema rowid the samples table is
//            an ordinary rowid table with a unique (server_id, ts) index instead of the
//            collector's WITHOUT ROWID table, and --raw-page-size sets PRAGMA page_size, to show
//            what the clustered layout costs with rows this size (they spill to overflow pages).
// Rows rotate over S servers with increasing timestamps, as S agents streaming at once would
// produce them, R consecutive rows of one server at a time (default 1). Only the inserts are
// timed; encoding happens between transactions.
//   corvid-bench-sqlite --rows N --batch B [--servers S] [--mode storage|raw|both]
//                       [--run-length R] [--raw-schema same|rowid] [--raw-page-size BYTES]
//                       [--dir D] [--json]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <sqlite3.h>
#include <string>
#include <string_view>
#include <vector>

#include "bench/sample.hpp"
#include "collector/storage/sqlite_storage.hpp"
#include "common/random.hpp"
#include "common/time_format.hpp"
#include "proto/codec.hpp"

namespace {
using namespace corvid;
using namespace corvid::collector;
using clock_type = std::chrono::steady_clock;

struct options {
    std::size_t rows = 100000, batch = 1000, servers = 100, raw_page_size = 0;
    std::size_t run_length = 1; // consecutive rows of one server before the next server's
    std::string mode = "both", raw_schema = "same", dir;
    bool json = false;
};

[[noreturn]] void usage()
{
    std::fprintf(stderr, "usage: corvid-bench-sqlite --rows N --batch B [--servers S] [--mode storage|raw|both] "
                         "[--run-length R] [--raw-schema same|rowid] [--raw-page-size BYTES] [--dir D] [--json]\n");
    std::exit(2);
}

struct outcome {
    std::string mode;
    double insert_s = 0, encode_s = 0;
    std::size_t rows = 0, bytes = 0;
    std::uintmax_t file_bytes = 0;
};

// Calls insert(batch) for consecutive batches of rows; times only the inserts.
outcome run(const options& o, const std::vector<std::string>& server_ids,
            const std::function<bool(const std::vector<sample_row>&)>& insert)
{
    outcome out;
    const std::int64_t base_ms = now_unix_ms() - 86400000;
    std::vector<sample_row> batch;
    for (std::size_t start = 0; start < o.rows; start += o.batch) {
        const auto t0 = clock_type::now();
        batch.clear();
        for (std::size_t i = start; i < std::min(o.rows, start + o.batch); ++i) {
            sample_row r;
            // Runs of `run_length` rows per server, the servers in turn; timestamps increase per server.
            const std::size_t n = server_ids.size(), len = o.run_length;
            const std::size_t round = i / (len * n), server = (i / len) % n;
            r.server_id = server_ids[server];
            r.timestamp_ms = base_ms + static_cast<std::int64_t>(round * len + i % len) * 1000;
            const auto data = bench::realistic_sample(r.timestamp_ms, i);
            r.cpu_percent = data.cpu_percent;
            r.memory_percent = data.memory_percent;
            r.load1 = (*data.load)[0];
            r.data_json = proto::encode_sample_data(data);
            out.bytes += r.data_json.size();
            batch.push_back(std::move(r));
        }
        const auto t1 = clock_type::now();
        if (!insert(batch)) {
            std::fprintf(stderr, "insert failed at row %zu\n", start);
            std::exit(1);
        }
        const auto t2 = clock_type::now();
        out.encode_s += std::chrono::duration<double>(t1 - t0).count();
        out.insert_s += std::chrono::duration<double>(t2 - t1).count();
        out.rows += batch.size();
    }
    return out;
}

outcome run_storage(const options& o, const std::vector<std::string>& ids, const std::string& path)
{
    sqlite_options so;
    so.path = path;
    auto db = open_sqlite_storage(so);
    if (!db) {
        std::fprintf(stderr, "cannot open %s: %s\n", path.c_str(), db.error().message().c_str());
        std::exit(1);
    }
    auto out = run(o, ids, [&](const std::vector<sample_row>& rows) { return bool((*db)->insert_samples(rows)); });
    out.mode = "storage";
    return out;
}

bool exec(sqlite3* db, const char* sql)
{
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::fprintf(stderr, "sqlite: %s: %s\n", sql, err ? err : "?");
        sqlite3_free(err);
        return false;
    }
    return true;
}

outcome run_raw(const options& o, const std::vector<std::string>& ids, const std::string& path)
{
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr)
        != SQLITE_OK) {
        std::fprintf(stderr, "cannot open %s\n", path.c_str());
        std::exit(1);
    }
    // "same": the samples table as collector/storage/sqlite_schema.cpp creates it (schema v1).
    const bool same = o.raw_schema == "same";
    const char* table = same ? "CREATE TABLE samples (server_id TEXT NOT NULL, ts INTEGER NOT NULL, cpu_percent REAL,"
                               " memory_percent REAL, load1 REAL, data TEXT NOT NULL, PRIMARY KEY (server_id, ts))"
                               " WITHOUT ROWID"
                             : "CREATE TABLE samples (server_id TEXT NOT NULL, ts INTEGER NOT NULL, cpu_percent REAL,"
                               " memory_percent REAL, load1 REAL, data TEXT NOT NULL)";
    const std::string page_size = "PRAGMA page_size = " + std::to_string(o.raw_page_size);
    const bool ok = (o.raw_page_size == 0 || exec(db, page_size.c_str())) && exec(db, "PRAGMA journal_mode = WAL")
                    && exec(db, "PRAGMA synchronous = NORMAL")
                    && exec(db, table)
                    && (same || exec(db, "CREATE UNIQUE INDEX samples_key ON samples (server_id, ts)"))
                    && exec(db, "CREATE INDEX samples_by_ts ON samples (ts)");
    sqlite3_stmt* insert = nullptr;
    if (!ok
        || sqlite3_prepare_v2(db,
                              "INSERT OR IGNORE INTO samples (server_id, ts, cpu_percent, memory_percent, load1, data)"
                              " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                              -1, &insert, nullptr)
               != SQLITE_OK)
        std::exit(1);
    const auto opt_real = [&](int i, const std::optional<double>& v) {
        if (v)
            sqlite3_bind_double(insert, i, *v);
        else
            sqlite3_bind_null(insert, i);
    };
    auto out = run(o, ids, [&](const std::vector<sample_row>& rows) {
        if (!exec(db, "BEGIN IMMEDIATE"))
            return false;
        for (const auto& r : rows) {
            sqlite3_bind_text(insert, 1, r.server_id.data(), static_cast<int>(r.server_id.size()), SQLITE_STATIC);
            sqlite3_bind_int64(insert, 2, r.timestamp_ms);
            opt_real(3, r.cpu_percent);
            opt_real(4, r.memory_percent);
            opt_real(5, r.load1);
            sqlite3_bind_text(insert, 6, r.data_json.data(), static_cast<int>(r.data_json.size()), SQLITE_STATIC);
            if (sqlite3_step(insert) != SQLITE_DONE)
                return false;
            sqlite3_reset(insert);
        }
        return exec(db, "COMMIT");
    });
    sqlite3_finalize(insert);
    sqlite3_close(db);
    out.mode = o.raw_schema == "same" ? "raw" : "raw-rowid";
    if (o.raw_page_size)
        out.mode += "-page" + std::to_string(o.raw_page_size);
    return out;
}

std::uintmax_t db_bytes(const std::string& path)
{
    std::uintmax_t total = 0;
    for (const char* suffix : {"", "-wal"}) {
        std::error_code ec;
        const auto n = std::filesystem::file_size(path + suffix, ec);
        if (!ec)
            total += n;
    }
    return total;
}
} // namespace

int main(int argc, char** argv)
{
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--json") {
            o.json = true;
            continue;
        }
        if (i + 1 >= argc)
            usage();
        const char* value = argv[++i];
        if (arg == "--rows")
            o.rows = std::strtoull(value, nullptr, 10);
        else if (arg == "--batch")
            o.batch = std::strtoull(value, nullptr, 10);
        else if (arg == "--servers")
            o.servers = std::strtoull(value, nullptr, 10);
        else if (arg == "--mode")
            o.mode = value;
        else if (arg == "--run-length")
            o.run_length = std::strtoull(value, nullptr, 10);
        else if (arg == "--raw-page-size")
            o.raw_page_size = std::strtoull(value, nullptr, 10);
        else if (arg == "--raw-schema")
            o.raw_schema = value;
        else if (arg == "--dir")
            o.dir = value;
        else
            usage();
    }
    if (o.rows == 0 || o.batch == 0 || o.servers == 0 || o.run_length == 0
        || (o.mode != "storage" && o.mode != "raw" && o.mode != "both")
        || (o.raw_schema != "same" && o.raw_schema != "rowid"))
        usage();

    init_crypto();
    std::string dir = o.dir;
    bool remove_dir = false;
    if (dir.empty()) {
        std::string templ = (std::filesystem::temp_directory_path() / "corvid-bench-sqlite-XXXXXX").string();
        if (!::mkdtemp(templ.data())) {
            std::perror("mkdtemp");
            return 1;
        }
        dir = templ;
        remove_dir = true;
    }
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < o.servers; ++i)
        ids.push_back(uuid_v4());

    std::vector<outcome> results;
    if (o.mode != "raw") {
        const auto path = dir + "/storage.db";
        results.push_back(run_storage(o, ids, path));
        results.back().file_bytes = db_bytes(path);
    }
    if (o.mode != "storage") {
        const auto path = dir + "/raw.db";
        results.push_back(run_raw(o, ids, path));
        results.back().file_bytes = db_bytes(path);
    }
    if (remove_dir)
        std::filesystem::remove_all(dir);

    for (const auto& r : results) {
        const double rate = static_cast<double>(r.rows) / r.insert_s;
        const double row_bytes = static_cast<double>(r.bytes) / static_cast<double>(r.rows);
        if (o.json)
            std::printf("{\"mode\":\"%s\",\"rows\":%zu,\"batch\":%zu,\"servers\":%zu,\"insert_s\":%.3f,"
                        "\"rows_per_s\":%.0f,\"encode_us_per_row\":%.2f,\"json_bytes_per_row\":%.0f,"
                        "\"file_bytes\":%ju}\n",
                        r.mode.c_str(), r.rows, o.batch, o.servers, r.insert_s, rate,
                        r.encode_s * 1e6 / static_cast<double>(r.rows), row_bytes, r.file_bytes);
        else
            std::printf("%-8s %zu rows in batches of %zu over %zu servers: %.3f s of inserts, %.0f rows/s "
                        "(data JSON %.0f B/row, encode %.2f us/row, file %.1f MiB)\n",
                        r.mode.c_str(), r.rows, o.batch, o.servers, r.insert_s, rate, row_bytes,
                        r.encode_s * 1e6 / static_cast<double>(r.rows),
                        static_cast<double>(r.file_bytes) / 1048576.0);
    }
    return 0;
}
