#pragma once
// The collector's configuration and command line. TOML file (default /etc/corvid/collector.toml,
// or --config), then flags. Sub-commands beside `serve` (the default):
//   corvid-collector user add NAME --role admin|operator|viewer [--data-dir D]   (password on stdin)
//   corvid-collector user list | delete NAME | disable NAME | enable NAME | passwd NAME | role NAME ROLE
//   corvid-collector server add NAME [--data-dir D]                              (prints one JSON line)
// An invalid value is a config_error naming the key; main() prints it and exits with code 2.
#include <boost/system/result.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace corvid::collector {

struct collector_config {
    std::string listen = "127.0.0.1:8080";  // host:port; port 0 = the OS picks (printed at start)
    std::string data_dir = "/var/lib/corvid";
    std::string log_level = "info";
    std::int64_t token_ttl_s = 3600;          // lifetime of an operator's JWT
    std::string sqlite_synchronous = "normal"; // "normal" or "full": see README, Durability
    std::int64_t retention_days = 30;          // raw samples older than this are deleted
    std::int64_t log_retention_days = 7;       // log entries older than this are deleted
    std::int64_t log_max_mb = 1024;            // estimated disk use of log entries (index included)
                                               // beyond which the oldest are deleted
    std::size_t max_body_bytes = 64 * 1024;    // REST request bodies
    std::size_t write_queue_samples = 10000;   // bound of the storage write queue, in samples (log entries)
    std::size_t write_queue_mb = 64;           // and in MiB of sample JSON and log text
    std::size_t max_connections_per_address = 256; // concurrent, per source IP; more are closed at accept
    int login_max_failures = 5;                // per username within login_window_s
    int login_max_failures_per_address = 20;   // per source address (IPv6: per /64) within login_window_s
    std::int64_t login_window_s = 900;
    // PEM files; both set: serve https/wss (re-read on SIGHUP), both empty: plain http/ws.
    std::string tls_cert;                      // certificate chain, leaf first
    std::string tls_key;                       // its private key, unencrypted
};

enum class command_kind {
    serve,
    user_add,
    user_list,
    user_delete,
    user_disable,
    user_enable,
    user_passwd,
    user_role,
    server_add,
    version,
    help
};

struct collector_invocation {
    command_kind command = command_kind::serve;
    collector_config config;
    std::string config_path;  // the file that was read ("" if none)
    std::string name;         // user or server name for the add commands
    std::string role;         // for user add and user role: "admin", "operator" or "viewer"
    std::vector<std::string> warnings;
};

struct config_error {
    std::string key;
    std::string message;
};

std::optional<config_error> apply_collector_toml(collector_config& cfg, std::string_view toml_text,
                                                 std::string_view source);

// argv[0] is skipped.
boost::system::result<collector_invocation, config_error> load_collector_invocation(int argc,
                                                                                    const char* const* argv);

std::string collector_usage();

} // namespace corvid::collector
