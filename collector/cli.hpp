#pragma once
// The collector's administrative sub-commands. They open the SQLite file directly (WAL lets them
// run while the server is serving) and print for the operator. Blocking; run from main only.
#include "collector/config.hpp"

namespace corvid::collector {

// `user add NAME --role R`: the password is read from stdin (not echoed on a terminal).
int run_user_add(const collector_invocation& inv);
// `server add NAME`: prints one JSON line {"id","name","api_key"}; the key is shown only here.
int run_server_add(const collector_invocation& inv);

} // namespace corvid::collector
