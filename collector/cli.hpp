#pragma once
// The collector's administrative sub-commands. They open the SQLite file directly (WAL lets them
// run while the server is serving) and print for the operator. Blocking; run from main only.
#include "collector/config.hpp"

namespace corvid::collector {

// `user add NAME --role R`: the password is read from stdin (not echoed on a terminal); audited as
// user.created with actor "cli:<unix user>".
int run_user_add(const collector_invocation& inv);
// `user list`: prints [{"username","role","disabled"}] (as GET /api/v1/users) on one line.
int run_user_list(const collector_invocation& inv);
// `user delete|disable|enable|passwd|role NAME [ROLE]`: the same change as the REST API
// (storage::change_user), audited with actor "cli:<unix user>". `passwd` reads the new password
// from stdin. A running collector notices within about a second (identity_watch.hpp) and closes
// the user's sockets; its tokens stop working at once. Exit 0 done, 1 no such user, the last
// enabled admin, or a storage error; 2 a bad password.
int run_user_change(const collector_invocation& inv);
// `server add NAME`: prints one JSON line {"id","name","api_key"}; the key is shown only here.
int run_server_add(const collector_invocation& inv);

} // namespace corvid::collector
