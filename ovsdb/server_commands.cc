// ovsdb-server's control-socket commands.
#include <string>
#include <vector>

#include "ovsdb/server.h"

namespace spate::ovsdb {

using Args = std::vector<std::string>;

void RegisterServerCommands(common::UnixctlServer& unixctl, OvsdbServer& server,
                            common::EventLoop& loop) {
  unixctl.SetExitHandler([&loop]() { loop.Stop(); });
  unixctl.SetMemoryReporter([&server]() { return server.MemoryReport(); });
  unixctl.Register("ovsdb-server/compact", "", 0, 1, [&server](const Args& args) -> Result<std::string> {
    Status s = server.Compact(args.empty() ? "" : args[0]);
    if (!s.ok()) return Error("ovsdb error", s.error().details());
    return std::string();
  });
  unixctl.Register("ovsdb-server/list-dbs", "", 0, 0, [&server](const Args&) -> Result<std::string> {
    std::string out;
    for (const std::string& name : server.DatabaseNames()) out += name + "\n";
    return out;
  });
  unixctl.Register("ovsdb-server/add-db", "DB", 1, 1, [&server](const Args& args) -> Result<std::string> {
    Status s = server.AddDatabase(args[0]);
    if (!s.ok()) return Error("ovsdb error", s.error().ToString());
    return std::string();
  });
  unixctl.Register("ovsdb-server/remove-db", "DB", 1, 1,
                   [&server](const Args& args) -> Result<std::string> {
                     Status s = server.RemoveDatabase(args[0]);
                     if (!s.ok()) return Error("ovsdb error", s.error().details());
                     return std::string();
                   });
}

}  // namespace spate::ovsdb
