// ovs-vsctl: options, the command chain, commit and the cur_cfg wait (see
// vsctl.h).
#include "tools/vsctl/vsctl.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "common/event_loop.h"
#include "ovsdb/idl.h"
#include "ovsdb/idl_txn.h"

#ifndef SPATE_VSCTL_VERSION
#define SPATE_VSCTL_VERSION "unknown"
#endif

namespace spate::vsctl {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

Error Usage(std::string details) { return Error("usage", std::move(details)); }

// Options every command may carry, with whether they take a value.
constexpr std::pair<std::string_view, bool> kLocalOptions[] = {
    {"--if-exists", false}, {"--may-exist", false}, {"--with-iface", false},
    {"--all", false},       {"--id", true},         {"--columns", true},
    {"--real", false},      {"--fake", false},
};

bool IsLocalOption(std::string_view name, bool* takes_value) {
  for (auto [option, value] : kLocalOptions) {
    if (option == name) {
      *takes_value = value;
      return true;
    }
  }
  return false;
}

// Splits "--name=value" into name and value.
std::pair<std::string, std::optional<std::string>> SplitOption(const std::string& arg) {
  size_t eq = arg.find('=');
  if (eq == std::string::npos || arg.rfind("--", 0) != 0) return {arg, std::nullopt};
  return {arg.substr(0, eq), arg.substr(eq + 1)};
}

Status AddLocalOption(ParsedCommand* cmd, const std::string& name, std::optional<std::string> value,
                      bool takes_value) {
  if (cmd->options.count(name)) return Usage("'" + name + "' option specified multiple times");
  if (takes_value && !value) return Usage("'" + name + "' option requires an argument");
  if (!takes_value && value) return Usage("'" + name + "' option does not accept an argument");
  cmd->options[name] = value.value_or("");
  return Status::Ok();
}

Result<milliseconds> ParseTimeout(const std::string& text) {
  int64_t seconds = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || seconds < 0 ||
      seconds > 86400 * 365) {
    return Usage("value " + text + " on -t or --timeout is invalid");
  }
  return milliseconds(seconds * 1000);
}

// Applies one global option (`value` from "=..." or the next argument).
// Returns false if `name` is not a global option.
Result<bool> GlobalOption(VsctlOptions* o, const std::string& name,
                          const std::function<Result<std::string>()>& value) {
  auto take = [&](auto apply) -> Result<bool> {
    Result<std::string> v = value();
    if (!v) return v.error();
    if (Status s = apply(*v); !s) return s.error();
    return true;
  };
  if (name == "--db") return take([&](const std::string& v) { o->db = v; return Status::Ok(); });
  if (name == "-t" || name == "--timeout") {
    return take([&](const std::string& v) -> Status {
      Result<milliseconds> t = ParseTimeout(v);
      if (!t) return t.error();
      o->timeout = *t;
      return Status::Ok();
    });
  }
  if (name == "-f" || name == "--format") {
    return take([&](const std::string& v) -> Status {
      Result<ovsdb::TableFormat> f = ovsdb::ParseTableFormat(v);
      if (!f) return f.error();
      o->output.format = *f;
      return Status::Ok();
    });
  }
  if (name == "-d" || name == "--data") {
    return take([&](const std::string& v) -> Status {
      if (v == "string") o->output.data = DataFormat::kString;
      else if (v == "bare") o->output.data = DataFormat::kBare;
      else if (v == "json") o->output.data = DataFormat::kJson;
      else return Usage("unknown data format \"" + v + "\"");
      return Status::Ok();
    });
  }
  if (name == "--bare") {
    o->output.format = ovsdb::TableFormat::kList;
    o->output.data = DataFormat::kBare;
    o->output.headings = false;
  } else if (name == "--no-headings") {
    o->output.headings = false;
  } else if (name == "--pretty") {
    o->output.pretty = true;
  } else if (name == "--no-wait") {
    o->wait = false;
  } else if (name == "--dry-run") {
    o->dry_run = true;
  } else if (name == "-h" || name == "--help") {
    o->help = true;
  } else if (name == "-V" || name == "--version") {
    o->version = true;
  } else if (name.rfind("-v", 0) == 0 || name.rfind("--verbose", 0) == 0 || name == "--no-syslog") {
    // Logging options are accepted for compatibility; this tool logs nothing.
  } else {
    return false;
  }
  return true;
}

Status CheckCommand(const ParsedCommand& cmd) {
  const CommandSpec* spec = FindCommand(cmd.name);
  if (!spec) return Usage("unknown command '" + cmd.name + "'; use --help for help");
  int n = static_cast<int>(cmd.args.size());
  if (n < spec->min_args) {
    return Usage("'" + cmd.name + "' command requires at least " +
                 std::to_string(spec->min_args) + " arguments");
  }
  if (spec->max_args >= 0 && n > spec->max_args) {
    bool option_like = std::any_of(cmd.args.begin(), cmd.args.end(),
                                   [](const std::string& a) { return a.rfind('-', 0) == 0; });
    return Usage("'" + cmd.name + "' command takes at most " + std::to_string(spec->max_args) +
                 " arguments" +
                 (option_like ? " (note that options must precede command names and follow a "
                                "\"--\" argument)"
                              : ""));
  }
  for (const auto& [name, value] : cmd.options) {
    std::string accepted = "," + std::string(spec->options) + ",";
    if (accepted.find("," + name + ",") == std::string::npos &&
        accepted.find("," + name + "=,") == std::string::npos) {
      return Usage("'" + cmd.name + "' command has no '" + name + "' option");
    }
  }
  return Status::Ok();
}

// Parses the "--"-separated chain starting at args[i]; `first` holds the
// local options given among the global ones.
Result<std::vector<ParsedCommand>> ParseChain(const std::vector<std::string>& args, size_t i,
                                              ParsedCommand first) {
  std::vector<ParsedCommand> out;
  ParsedCommand cur = std::move(first);
  auto finish = [&]() -> Status {
    if (cur.name.empty()) {
      if (!cur.options.empty()) return Usage("missing command name (use --help for help)");
    } else {
      if (Status s = CheckCommand(cur); !s) return s;
      out.push_back(std::move(cur));
    }
    cur = ParsedCommand();
    return Status::Ok();
  };
  for (; i < args.size(); i++) {
    const std::string& arg = args[i];
    if (arg == "--") {
      if (Status s = finish(); !s) return s.error();
      continue;
    }
    if (cur.name.empty() && arg.rfind("--", 0) == 0) {
      auto [name, value] = SplitOption(arg);
      bool takes_value = false;
      if (!IsLocalOption(name, &takes_value)) return Usage("unrecognized option '" + name + "'");
      if (Status s = AddLocalOption(&cur, name, value, takes_value); !s) return s.error();
      continue;
    }
    if (cur.name.empty()) {
      cur.name = arg;
    } else {
      cur.args.push_back(arg);
    }
  }
  if (Status s = finish(); !s) return s.error();
  if (out.empty()) return Usage("missing command name (use --help for help)");
  return out;
}

}  // namespace

std::string DefaultVswitchDb() {
  const char* rundir = std::getenv("OVS_RUNDIR");
  return std::string("unix:") + (rundir && *rundir ? rundir : "/var/run/openvswitch") +
         "/db.sock";
}

Result<VsctlOptions> ParseVsctlArgs(const std::vector<std::string>& args) {
  VsctlOptions o;
  ParsedCommand first;
  size_t i = 0;
  for (; i < args.size() && args[i] != "--" && args[i].size() > 1 && args[i][0] == '-'; i++) {
    auto [name, inline_value] = SplitOption(args[i]);
    if (name.size() > 2 && name[1] != '-' && (name[1] == 't' || name[1] == 'f' || name[1] == 'd')) {
      inline_value = name.substr(2);  // "-t5", "-fjson".
      name = name.substr(0, 2);
    }
    auto value = [&, name = name, inline_value = inline_value]() -> Result<std::string> {
      if (inline_value) return *inline_value;
      if (i + 1 < args.size()) return args[++i];
      return Usage("option '" + name + "' requires an argument");
    };
    Result<bool> global = GlobalOption(&o, name, value);
    if (!global) return global.error();
    if (*global) continue;
    bool takes_value = false;
    if (!IsLocalOption(name, &takes_value)) return Usage("unrecognized option '" + name + "'");
    if (Status s = AddLocalOption(&first, name, inline_value, takes_value); !s) return s.error();
  }
  if (o.db.empty()) o.db = DefaultVswitchDb();
  if (o.help || o.version) return o;
  Result<std::vector<ParsedCommand>> chain = ParseChain(args, i, std::move(first));
  if (!chain) return chain.error();
  o.commands = std::move(*chain);
  return o;
}

std::string VsctlUsage() {
  std::string text =
      "ovs-vsctl: ovs-vswitchd management utility\n"
      "usage: ovs-vsctl [OPTIONS] COMMAND [ARG...]\n";
  std::string_view group;
  for (const CommandSpec& spec : AllCommands()) {
    if (spec.group != group) {
      group = spec.group;
      text += "\n" + std::string(group) + ":\n";
    }
    text += "  " + std::string(spec.usage) + "\n";
  }
  text +=
      "\nOptions:\n"
      "  --db=DATABASE               connect to DATABASE\n"
      "                              (default: unix:$OVS_RUNDIR/db.sock)\n"
      "  --no-wait                   do not wait for ovs-vswitchd to reconfigure\n"
      "  -t, --timeout=SECS          wait at most SECS seconds (0 = forever, the default)\n"
      "  --dry-run                   do not commit changes to database\n"
      "  -f, --format=FORMAT         list/find output: table, list, csv, json, html\n"
      "  -d, --data=FORMAT           cell data: string, bare, json\n"
      "  --bare                      --format=list --data=bare --no-headings\n"
      "  --no-headings               omit column headings\n"
      "  --pretty                    indent json output\n"
      "  -h, --help                  display this help message\n"
      "  -V, --version               display version information\n"
      "\nCommand options: --if-exists, --may-exist, --with-iface, --all, --id=@NAME,\n"
      "--columns=COL[,COL]...; chain commands with \"--\" (one transaction).\n";
  return text;
}

std::string VsctlVersion() { return std::string("ovs-vsctl (Spate) ") + SPATE_VSCTL_VERSION; }

std::string ErrorText(const Error& error) {
  if (error.tag() == kExitStatus2) return "";
  if (error.tag() == "constraint violation") return error.ToString();
  return error.details().empty() ? error.tag() : error.details();
}

int ExitStatus(const Error& error) {
  if (error.tag() == kExitStatus2) return 2;
  if (error.tag() == kWaitTimedOut) return 142;
  return 1;
}

}  // namespace spate::vsctl
