#pragma once
// The collector's storage interface: one interface per domain (users, servers and their API keys,
// samples, commands and the audit log, logs, gaps), and `storage`, which is all of them and is
// what callers hold. SQLite (sqlite_storage.hpp) is the embedded default; a later backend
// (PostgreSQL) implements the same interface so several collectors can share a store, and must
// pass the conformance suite (tests/storage/conformance, README.md in this folder).
// Threading: one storage object is one database connection and is used by one thread at a time.
// Every call blocks: never call one on the io thread (see store.hpp for the async front).
#include "collector/storage/commands_storage.hpp"
#include "collector/storage/gaps_storage.hpp"
#include "collector/storage/logs_storage.hpp"
#include "collector/storage/samples_storage.hpp"
#include "collector/storage/servers_storage.hpp"
#include "collector/storage/storage_error.hpp"
#include "collector/storage/users_storage.hpp"

namespace corvid::collector {

class storage : public users_storage,
                public servers_storage,
                public samples_storage,
                public commands_storage,
                public logs_storage,
                public gaps_storage {
public:
    ~storage() override = default;
};

} // namespace corvid::collector
