#!/usr/bin/python3
"""Load and timing client for perf/northd-bench.sh: NB -> SB translation.

Standard library only (Debian's /usr/bin/python3). Speaks raw JSON-RPC
(RFC 7047) to the northbound and southbound ovsdb-servers over unix sockets.

  run KIND NB_SOCK SB_SOCK PID SWITCHES PORTS ADDS
      KIND "spate": our OVN_Northbound (Logical_Switch, Logical_Port with
      lswitch/macs/port_security) and southbound "OVN"; the SB reflects a
      change when the expected Bindings and Pipeline rows are there.
      KIND "ovn": OVN 23.03's schemas (Logical_Switch.ports ->
      Logical_Switch_Port with addresses/port_security); the NB transaction
      also increments NB_Global.nb_cfg and the SB reflects it when
      NB_Global.sb_cfg reaches that value (what `ovn-nbctl --wait=sb` does).
      Builds SWITCHES x PORTS ports (each with a MAC and port security) in one
      NB transaction, then adds ADDS single ports one at a time. Prints one
      JSON object per figure: {"metric", "value", "unit"}.
  report FILE   medians over the tagged lines in FILE and the ratio table.

Times run from sending the NB transaction until the SB shows its effect, so
they include the NB commit. Both daemons then write Logical_Port /
Logical_Switch_Port `up` (false) for every new port; the full build's daemon
CPU and RSS are read once every port has it (and the daemon is idle), so
that they include that follow-up transaction. Daemon CPU is the first field
of /proc/PID/schedstat (nanoseconds on CPU), read before sending and after
the daemon has gone idle again.
"""

import json
import os
import socket
import statistics
import sys
import time

TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "300"))
now = time.perf_counter


def cpu_ns(pid):
    with open("/proc/%d/schedstat" % pid) as f:
        return int(f.read().split()[0])


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def idle_cpu_ns(pid):
    """Daemon CPU once it has stopped using any for 100 ms."""
    last = cpu_ns(pid)
    deadline = now() + 10
    while now() < deadline:
        time.sleep(0.1)
        cur = cpu_ns(pid)
        if cur == last:
            return cur
        last = cur
    return last


class Rpc:
    """One JSON-RPC connection; notifications go to `on_notify`."""

    def __init__(self, path, on_notify=None):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buf = ""
        self.dec = json.JSONDecoder()
        self.next_id = 1
        self.replies = {}
        self.on_notify = on_notify

    def send(self, method, params):
        rid = self.next_id
        self.next_id += 1
        msg = json.dumps({"method": method, "params": params, "id": rid})
        self.sock.sendall(msg.encode())
        return rid

    def pump(self, timeout):
        """Reads what arrives within `timeout`; dispatches it."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1 << 20)
        except socket.timeout:
            return
        if not data:
            raise RuntimeError("connection closed")
        self.buf += data.decode()
        # A message ends with "}": do not re-parse a large incomplete one
        # after every chunk.
        if not data.rstrip().endswith(b"}"):
            return
        while True:
            self.buf = self.buf.lstrip()
            if not self.buf:
                return
            try:
                msg, end = self.dec.raw_decode(self.buf)
            except ValueError:
                return
            self.buf = self.buf[end:]
            if msg.get("method") == "echo":
                self.sock.sendall(json.dumps({"result": msg["params"], "error": None,
                                              "id": msg["id"]}).encode())
            elif msg.get("id") is not None and "method" not in msg:
                self.replies[msg["id"]] = msg
            elif self.on_notify:
                self.on_notify(msg)

    def wait(self, rid):
        deadline = now() + TIMEOUT
        while rid not in self.replies:
            if now() > deadline:
                raise RuntimeError("no reply")
            self.pump(1)
        msg = self.replies.pop(rid)
        if msg.get("error"):
            raise RuntimeError(str(msg["error"]))
        for r in msg["result"] if isinstance(msg["result"], list) else []:
            if isinstance(r, dict) and "error" in r:
                raise RuntimeError(str(r))
        return msg["result"]

    def call(self, method, params):
        return self.wait(self.send(method, params))


class Counter:
    """Row counts per table, from "update" notifications of one monitor;
    the last value seen of each (table, column), and how many rows of each
    table have a non-empty "up"."""

    def __init__(self):
        self.rows = {}
        self.values = {}
        self.up = {}

    def apply(self, updates):
        for table, rows in updates.items():
            t = self.rows.setdefault(table, set())
            up = self.up.setdefault(table, set())
            for uuid, change in rows.items():
                if change.get("new") is None:
                    t.discard(uuid)
                    up.discard(uuid)
                else:
                    t.add(uuid)
                    for k, v in change["new"].items():
                        self.values[(table, k)] = v
                    if change["new"].get("up", ["set", []]) != ["set", []]:
                        up.add(uuid)
                    elif "up" in change["new"]:
                        up.discard(uuid)

    def notify(self, msg):
        if msg.get("method") == "update":
            self.apply(msg["params"][1])

    def count(self, table):
        return len(self.rows.get(table, ()))

    def count_up(self, table):
        return len(self.up.get(table, ()))


def mac(s, p):
    return "0a:00:%02x:00:%02x:%02x" % (s & 255, (p >> 8) & 255, p & 255)


def spate_ops(switches, ports, first_port, sw_uuid=None):
    ops = []
    for s in range(switches):
        sw = ["uuid", sw_uuid] if sw_uuid else ["named-uuid", "s%d" % s]
        if not sw_uuid:
            ops.append({"op": "insert", "table": "Logical_Switch", "row": {"name": "sw%d" % s},
                        "uuid-name": "s%d" % s})
        for p in range(first_port, first_port + ports):
            m = mac(s, p)
            ops.append({"op": "insert", "table": "Logical_Port",
                        "row": {"name": "sw%d-p%d" % (s, p), "lswitch": sw, "macs": m,
                                "port_security": m}})
    return ["OVN_Northbound"] + ops


def ovn_ops(switches, ports, first_port, sw_uuid=None):
    ops = []
    for s in range(switches):
        names = []
        for p in range(first_port, first_port + ports):
            m = mac(s, p)
            name = "p%d_%d" % (s, p)
            names.append(["named-uuid", name])
            ops.append({"op": "insert", "table": "Logical_Switch_Port",
                        "row": {"name": "sw%d-p%d" % (s, p), "addresses": m,
                                "port_security": m}, "uuid-name": name})
        if sw_uuid:
            ops.append({"op": "mutate", "table": "Logical_Switch",
                        "where": [["_uuid", "==", ["uuid", sw_uuid]]],
                        "mutations": [["ports", "insert", ["set", names]]]})
        else:
            ops.append({"op": "insert", "table": "Logical_Switch",
                        "row": {"name": "sw%d" % s, "ports": ["set", names]}})
    ops.append({"op": "mutate", "table": "NB_Global", "where": [],
                "mutations": [["nb_cfg", "+=", 1]]})
    return ["OVN_Northbound"] + ops


class System:
    """How to drive and observe one kind of system."""

    def __init__(self, kind, nb_sock, sb_sock):
        self.kind = kind
        self.sb_rows = Counter()
        self.nb_vals = Counter()
        self.nb = Rpc(nb_sock, self.nb_vals.notify)
        self.sb = Rpc(sb_sock, self.sb_rows.notify)
        self.port_table = "Logical_Port" if kind == "spate" else "Logical_Switch_Port"
        if kind == "spate":
            r = self.sb.call("monitor", ["OVN", "sb", {"Bindings": {"columns": ["logical_port"]},
                                                       "Pipeline": {"columns": ["table_id"]}}])
            self.sb_rows.apply(r)
        else:
            rows = self.nb.call("transact", ["OVN_Northbound", {"op": "select", "table": "NB_Global",
                                                                "where": []}])
            if not rows[0]["rows"]:
                self.nb.call("transact", ["OVN_Northbound", {"op": "insert", "table": "NB_Global",
                                                             "row": {}}])
            r = self.nb.call("monitor", ["OVN_Northbound", "nb",
                                         {"NB_Global": {"columns": ["nb_cfg", "sb_cfg"]}}])
            self.nb_vals.apply(r)
            r = self.sb.call("monitor", ["OVN_Southbound", "sb",
                                         {"Port_Binding": {"columns": ["logical_port"]},
                                          "Logical_Flow": {"columns": ["table_id"]}}])
            self.sb_rows.apply(r)

    def ports(self):
        return self.sb_rows.count("Bindings" if self.kind == "spate" else "Port_Binding")

    def flows(self):
        return self.sb_rows.count("Pipeline" if self.kind == "spate" else "Logical_Flow")

    def switch_uuid(self, name):
        rows = self.nb.call("transact", ["OVN_Northbound", {"op": "select", "table": "Logical_Switch",
                                                            "where": [["name", "==", name]],
                                                            "columns": ["_uuid"]}])
        return rows[0]["rows"][0]["_uuid"][1]

    def settle(self, n_ports, since):
        """Waits until every port's `up` is written (the daemon's follow-up
        northbound transaction); returns seconds since `since`.  Monitors
        `up` only meanwhile, so that later measurements do not pay for it."""
        r = self.nb.call("monitor", ["OVN_Northbound", "up",
                                     {self.port_table: {"columns": ["up"]}}])
        self.nb_vals.apply(r)
        deadline = now() + TIMEOUT
        while self.nb_vals.count_up(self.port_table) < n_ports:
            if now() > deadline:
                raise RuntimeError("only %d of %d ports got `up`"
                                   % (self.nb_vals.count_up(self.port_table), n_ports))
            self.nb.pump(0.005)
            self.sb.pump(0.0005)
        settled = now() - since
        self.nb.call("monitor_cancel", ["up"])
        return settled

    def change(self, ops, n_ports, n_flows):
        """Sends `ops`; returns (commit seconds, reflected seconds)."""
        target = None
        if self.kind == "ovn":
            target = self.nb_vals.values.get(("NB_Global", "nb_cfg"), 0) + 1
        t0 = self.t0 = now()
        self.nb.call("transact", ops)
        t1 = now()
        deadline = t0 + TIMEOUT
        while True:
            if self.kind == "spate":
                done = self.ports() == n_ports and self.flows() == n_flows
            else:
                done = self.nb_vals.values.get(("NB_Global", "sb_cfg"), 0) >= target
            if done:
                return t1 - t0, now() - t0
            if now() > deadline:
                raise RuntimeError("SB never reflected the change (%d ports, %d flows)"
                                   % (self.ports(), self.flows()))
            self.sb.pump(0.0005)
            self.nb.pump(0.0005)


def emit(tag, metric, value, unit):
    print(json.dumps({"tag": tag, "metric": metric, "value": value, "unit": unit}), flush=True)


def run(kind, nb_sock, sb_sock, pid, switches, ports, adds):
    sysm = System(kind, nb_sock, sb_sock)
    build = spate_ops if kind == "spate" else ovn_ops
    per_switch = 6 + 3 * ports  # Our §4.4 flows for a switch of MAC+security ports.
    c0 = idle_cpu_ns(pid)
    commit, total = sysm.change(build(switches, ports, 0), switches * ports,
                                switches * per_switch)
    settled = sysm.settle(switches * ports, sysm.t0)
    c1 = idle_cpu_ns(pid)
    emit(kind, "full build: NB commit", commit * 1e3, "ms")
    emit(kind, "full build: NB commit -> SB", total * 1e3, "ms")
    emit(kind, "full build: NB commit -> all up set", settled * 1e3, "ms")
    emit(kind, "full build: daemon CPU", (c1 - c0) / 1e6, "ms")
    emit(kind, "daemon RSS after full build", rss_kb(pid) / 1024, "MB")
    emit(kind, "SB port rows", sysm.ports(), "rows")
    emit(kind, "SB flow rows", sysm.flows(), "rows")
    sw0 = sysm.switch_uuid("sw0")
    times, cpus = [], []
    n_ports, n_flows = switches * ports, switches * per_switch
    for i in range(adds):
        n_ports += 1
        n_flows += 3
        c0 = idle_cpu_ns(pid)
        _, t = sysm.change(build(1, 1, ports + i, sw0), n_ports, n_flows)
        times.append(t)
        cpus.append((idle_cpu_ns(pid) - c0) / 1e6)
    emit(kind, "one more port: NB commit -> SB", statistics.median(times) * 1e3, "ms")
    emit(kind, "one more port: daemon CPU", statistics.median(cpus), "ms")


def report(path):
    vals = {}
    for line in open(path):
        if not line.startswith("{"):
            continue
        r = json.loads(line)
        vals.setdefault((r["metric"], r["unit"]), {}).setdefault(r["tag"], []).append(r["value"])
    print("%-34s %14s %14s %8s" % ("figure (median of runs)", "Spate ovn-nbd", "OVN northd", "ratio"))
    for (metric, unit), by in vals.items():
        a = statistics.median(by.get("spate", [float("nan")]))
        b = statistics.median(by.get("ovn", [float("nan")]))
        ratio = b / a if a else float("nan")
        n = len(by.get("spate", []))
        print("%-34s %11.2f %-2s %11.2f %-2s %7.1fx  (n=%d)" % (metric, a, unit[:2], b, unit[:2],
                                                             ratio, n))
    print("ratio = OVN / Spate (over 1: Spate is faster or smaller; for row counts, "
          "the size of each pipeline)")


def main(argv):
    if len(argv) >= 2 and argv[1] == "report":
        report(argv[2])
    elif len(argv) == 9 and argv[1] == "run":
        run(argv[2], argv[3], argv[4], int(argv[5]), int(argv[6]), int(argv[7]), int(argv[8]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
