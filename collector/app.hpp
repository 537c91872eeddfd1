#pragma once
// What every session and request handler of the collector shares: configuration, storage, the
// live hubs, the login limits, the password pool, the identity watch and the token secret. One
// instance, owned by main().
// io thread only (store's threads are internal to it).
#include <string>

#include "collector/auth/identity_watch.hpp"
#include "collector/auth/login_attempts.hpp"
#include "collector/auth/login_limiter.hpp"
#include "collector/auth/password_pool.hpp"
#include "collector/commands/command_tracker.hpp"
#include "collector/config.hpp"
#include "collector/live/agent_registry.hpp"
#include "collector/live/hub.hpp"
#include "collector/live/log_hub.hpp"
#include "collector/live/presence.hpp"
#include "collector/sessions/connection_group.hpp"
#include "collector/storage/store.hpp"
#include "common/signing.hpp"

namespace corvid::collector {

struct app {
    net::any_io_executor io;
    collector_config config;
    collector::store& store;
    collector::hub hub;
    agent_registry agents;
    login_attempts logins; // per user and per address, reserved before the hash runs
    std::string token_secret; // HS256 key, 32 bytes, from <data_dir>/jwt.key
    bool shutting_down = false; // the retention loops' cue to stop between slices
    command_tracker commands;
    signing_key_pair command_keys; // Ed25519, from <data_dir>/command_signing.key
    // The same sliding window as logins, counting each operator's dispatched commands.
    login_limiter command_rate{login_limiter::options{.max_failures = 30, .window = std::chrono::seconds(60)}};
    log_hub logs{}; // live log entries for logs sockets
    // argon2id for logins and password changes: its own threads, never the storage readers.
    password_pool passwords{};
    // Ends operator sockets whose user was deleted, disabled, demoted or logged out, or whose
    // token expired; one read of all users per second while sockets are open.
    identity_watch identities{io, [this] { return store.read([](storage& s) { return s.list_users(); }); }};
    // Every operator socket about a server, for status, closing at deletion and /health's count.
    collector::presence presence{};
    // Every connection coroutine; shutdown stops it (main).
    connection_group connections{io};
};

} // namespace corvid::collector
