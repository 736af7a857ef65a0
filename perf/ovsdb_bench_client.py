#!/usr/bin/python3
"""Load generator for perf/ovsdb-bench.sh: a raw JSON-RPC (RFC 7047) client.

Standard library only, so it runs under Debian's /usr/bin/python3. Each
subcommand connects to one ovsdb-server over a unix socket, runs one
measurement, and prints one JSON object per measured figure on stdout:
    {"metric": NAME, "value": NUMBER, "unit": UNIT}
The server's CPU time (schedstat, else utime+stime) and VmRSS are read
around the measured part, so the caller learns server cost per operation
beside the wall-clock rate. `report` reads such lines tagged with a server
label and prints the comparison table (medians over repeats).

Subcommands (SOCK and PID identify the server under test):
  insert SOCK PID N WINDOW DURABLE TAG   N one-row insert transactions, WINDOW in flight
  fanout SOCK PID M PROBES               M monitor_cond clients, PROBES single-row changes
                                         (ovsdb-bench.sh uses bench-bin/ovsdb_fanout, the
                                         C++ driver, unless FANOUT_CLIENT=py: this one
                                         Python loop reads ~2.5 us per socket)
  load SOCK PID ROWS PER_TXN             bulk-insert ROWS rows (untimed set-up)
  initial SOCK PID ROWS                  one monitor_cond of the loaded table
  report FILE LABEL_A LABEL_B            print the table from tagged result lines
"""

import json
import os
import select
import socket
import statistics
import sys
import time

DB = "OVN_Northbound"
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "120"))
# Fan-out readers poll without sleeping (0) by default, so that the
# server's writes do not have to wake the client (see wait_for_marker).
POLL_TIMEOUT = float(os.environ.get("BENCH_POLL_TIMEOUT", "0"))
CLK_TCK = os.sysconf("SC_CLK_TCK")
now = time.perf_counter


def server_cpu(pid):
    """Server CPU seconds so far (user and system, all its threads).

    Read from /proc/PID/task/*/schedstat (nanoseconds on the CPU) where the
    kernel has it; /proc/PID/stat's utime+stime count whole clock ticks
    (10 ms), too coarse for a 100-client fan-out of 0.2 ms."""
    try:
        total = 0
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        return total / 1e9
    except (OSError, ValueError, IndexError):
        pass
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def server_rss_kb(pid):
    """Server resident set size in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise SystemExit("no VmRSS for pid %d" % pid)


def emit(metric, value, unit):
    print(json.dumps({"metric": metric, "value": value, "unit": unit}), flush=True)


class Rpc:
    """One JSON-RPC connection: sends compact JSON, splits the byte stream
    into messages with raw_decode, answers the server's echo requests."""

    def __init__(self, sock_path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # Blocking connect: waits while the listen backlog is full.
        self.sock.connect(sock_path)
        self.sock.settimeout(TIMEOUT)
        self.buf = ""
        self.decoder = json.JSONDecoder()

    def send(self, msg):
        self.sock.sendall(json.dumps(msg, separators=(",", ":")).encode())

    def read(self):
        """Blocks for at least one read; returns the complete non-echo messages."""
        data = self.sock.recv(1 << 20)
        if not data:
            raise SystemExit("server closed the connection")
        self.buf += data.decode()
        msgs, pos = [], 0
        while True:
            while pos < len(self.buf) and self.buf[pos] in " \r\n\t":
                pos += 1
            if pos >= len(self.buf):
                break
            try:
                msg, pos = self.decoder.raw_decode(self.buf, pos)
            except json.JSONDecodeError:
                break
            msgs.append(msg)
        self.buf = self.buf[pos:]
        out = []
        for m in msgs:
            if m.get("method") == "echo":
                self.send({"id": m.get("id"), "result": m.get("params"), "error": None})
            else:
                out.append(m)
        return out

    def call(self, method, params, msg_id=0):
        self.send({"method": method, "params": params, "id": msg_id})
        while True:
            for m in self.read():
                if m.get("id") == msg_id:
                    return m


def require_ok(reply):
    result = reply.get("result")
    if reply.get("error") is not None or not isinstance(result, list):
        raise SystemExit("transaction failed: %r" % (reply,))
    for op in result:
        if isinstance(op, dict) and op.get("error"):
            raise SystemExit("transaction failed: %r" % (reply,))


def insert_request(msg_id, name, durable):
    ops = [DB, {"op": "insert", "table": "Logical_Switch",
                "row": {"name": name, "external_ids": ["map", [["bench", "a"]]]}}]
    if durable:
        ops.append({"op": "commit", "durable": True})
    return {"method": "transact", "params": ops, "id": msg_id}


def count_token(tail, data, token):
    """Occurrences of TOKEN in TAIL+DATA, and the new tail to carry over.

    TOKEN cannot overlap itself, and the tail is shorter than it, so a
    token split across two reads is counted exactly once."""
    window = tail + data
    return window.count(token), window[-(len(token) - 1):]


def check_replies(raw, n):
    """Parses the recorded reply stream (untimed): N successful replies."""
    text = raw.decode()
    decoder, pos, got = json.JSONDecoder(), 0, 0
    while True:
        while pos < len(text) and text[pos] in " \r\n\t":
            pos += 1
        if pos >= len(text):
            break
        msg, pos = decoder.raw_decode(text, pos)
        require_ok(msg)
        got += 1
    if got != n:
        raise SystemExit("expected %d replies, got %d" % (n, got))


def cmd_insert(sock_path, pid, n, window, durable, tag):
    """N single-row insert transactions with at most WINDOW unanswered.

    The requests are encoded before the clock starts (each is still sent
    with its own send, as Open vSwitch's anchor client does); replies are
    counted by their "result" member while timing and parsed and checked
    afterwards, so the client's own JSON work stays out of the measured
    time."""
    rpc = Rpc(sock_path)
    prefix = "ins-%s-%d-" % (tag, os.getpid())
    reqs = [json.dumps(insert_request(i, prefix + str(i), durable),
                       separators=(",", ":")).encode() for i in range(n)]
    token, tail, chunks = b'"result"', b"", []
    sent = done = 0
    cpu0, t0 = server_cpu(pid), now()
    while done < n:
        while sent < n and sent - done < window:
            rpc.sock.sendall(reqs[sent])
            sent += 1
        data = rpc.sock.recv(1 << 20)
        if not data:
            raise SystemExit("server closed the connection")
        chunks.append(data)
        got, tail = count_token(tail, data, token)
        done += got
    wall, cpu = now() - t0, server_cpu(pid) - cpu0
    check_replies(b"".join(chunks), n)
    name = "insert %s" % tag
    emit(name + " rate", n / wall, "txn/s")
    emit(name + " server CPU/txn", cpu / n * 1e6, "us")
    if window == 1:
        emit(name + " round trip", wall / n * 1e6, "us")


def open_monitors(sock_path, m):
    """M connections, each with a monitor_cond on Logical_Router."""
    conns = []
    for i in range(m):
        rpc = Rpc(sock_path)
        rpc.send({"method": "monitor_cond", "id": "m",
                  "params": [DB, "mon", {"Logical_Router": [{"columns": ["external_ids"]}]}]})
        conns.append(rpc)
    for rpc in conns:
        reply = None
        while reply is None:
            reply = next((x for x in rpc.read() if x.get("id") == "m"), None)
        if reply.get("error") is not None:
            raise SystemExit("monitor_cond failed: %r" % (reply,))
    return conns


def wait_for_marker(ep, index, m, marker, t0):
    """Arrival time (seconds after t0) of MARKER on each of the M sockets.

    EP is an epoll object with every monitor's descriptor registered and
    INDEX maps descriptor to monitor number: the loop is kept to one
    os.read and one substring test per ready socket, so the client reads
    1000 sockets quickly and the figure is mostly the server's."""
    arrived = [None] * m
    tails = [b""] * m
    left, deadline = m, t0 + TIMEOUT
    keep = len(marker) - 1
    while left:
        if now() > deadline:
            raise SystemExit("fan-out: %d of %d monitors got no update" % (left, m))
        for fd, _ in ep.poll(POLL_TIMEOUT):
            try:
                data = os.read(fd, 1 << 16)
            except BlockingIOError:
                continue
            t = now()
            if not data:
                raise SystemExit("fan-out: monitor connection closed")
            i = index[fd]
            if arrived[i] is None:
                window = tails[i] + data
                if marker in window:
                    arrived[i] = t - t0
                    left -= 1
                else:
                    tails[i] = window[-keep:]
    return arrived


def cmd_fanout(sock_path, pid, m, probes):
    """One single-row insert observed by M monitor_cond clients, PROBES times."""
    conns = open_monitors(sock_path, m)
    ep, index = select.epoll(), {}
    for i, rpc in enumerate(conns):
        rpc.sock.setblocking(False)
        ep.register(rpc.sock.fileno(), select.EPOLLIN)
        index[rpc.sock.fileno()] = i
    writer = Rpc(sock_path)
    firsts, medians, lasts = [], [], []
    cpu0 = server_cpu(pid)
    for k in range(probes):
        marker = "fanout-%d-%d-%d" % (os.getpid(), m, k)
        t0 = now()
        writer.send({"method": "transact", "id": k, "params": [
            DB, {"op": "insert", "table": "Logical_Router",
                 "row": {"external_ids": ["map", [["probe", marker]]]}}]})
        arrived = wait_for_marker(ep, index, m, marker.encode(), t0)
        reply = None
        while reply is None:
            reply = next((x for x in writer.read() if x.get("id") == k), None)
        require_ok(reply)
        firsts.append(min(arrived))
        medians.append(statistics.median(arrived))
        lasts.append(max(arrived))
    cpu = server_cpu(pid) - cpu0
    name = "fan-out %d" % m
    emit(name + " last", statistics.median(lasts) * 1e3, "ms")
    emit(name + " first", statistics.median(firsts) * 1e3, "ms")
    emit(name + " median", statistics.median(medians) * 1e3, "ms")
    emit(name + " server CPU/change", cpu / probes * 1e3, "ms")
    ep.close()
    for rpc in conns:
        rpc.sock.close()


def cmd_load(sock_path, pid, rows, per_txn):
    """Inserts ROWS Logical_Switch rows, PER_TXN per transaction."""
    rpc = Rpc(sock_path)
    rss0 = server_rss_kb(pid)
    t0 = now()
    for start in range(0, rows, per_txn):
        ops = [DB]
        for i in range(start, min(rows, start + per_txn)):
            ops.append({"op": "insert", "table": "Logical_Switch",
                        "row": {"name": "sw%07d" % i,
                                "external_ids": ["map", [["bench", "c"], ["n", str(i)]]]}})
        require_ok(rpc.call("transact", ops, start))
    emit("load %d rows wall" % rows, now() - t0, "s")
    emit("RSS empty", rss0 / 1024, "MB")
    emit("RSS %d rows" % rows, server_rss_kb(pid) / 1024, "MB")


def cmd_initial(sock_path, pid, rows):
    """monitor_cond of the whole Logical_Switch table; time to the last byte.

    An echo request sent right behind the monitor_cond marks the end of its
    reply (the server answers in order), so the timed part is only socket
    reads; the reply is parsed and its row count checked afterwards."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(sock_path)
    sock.settimeout(TIMEOUT)
    fence = b'"bench-fence-%d"' % os.getpid()
    req = json.dumps({"method": "monitor_cond", "id": "init", "params": [
        DB, "init", {"Logical_Switch": [{"columns": ["name", "external_ids"]}]}]})
    req += json.dumps({"method": "echo", "id": "fence", "params": [fence.decode()[1:-1]]})
    chunks, tail = [], b""
    cpu0, t0 = server_cpu(pid), now()
    sock.sendall(req.encode())
    while True:
        data = sock.recv(1 << 20)
        if not data:
            raise SystemExit("server closed the connection")
        chunks.append(data)
        if fence in tail + data:
            break
        tail = data[-len(fence):]
    wall, cpu = now() - t0, server_cpu(pid) - cpu0
    rss = server_rss_kb(pid)
    body = b"".join(chunks).decode()
    reply, _ = json.JSONDecoder().raw_decode(body, body.index("{"))
    got = len(reply.get("result", {}).get("Logical_Switch", {}))
    if reply.get("id") != "init" or got != rows:
        raise SystemExit("initial monitor: expected %d rows, got %d (%r)"
                         % (rows, got, body[:200]))
    emit("initial monitor %d rows" % rows, wall * 1e3, "ms")
    emit("initial monitor server CPU", cpu * 1e3, "ms")
    emit("RSS after initial monitor", rss / 1024, "MB")
    sock.close()


def cmd_report(path, label_a, label_b):
    """Prints metric | A | B | A/B (or B/A for lower-is-better units)."""
    values, units, order = {}, {}, []
    with open(path) as f:
        for line in f:
            label, _, payload = line.partition("\t")
            rec = json.loads(payload)
            key = rec["metric"]
            if key not in units:
                order.append(key)
            units[key] = rec["unit"]
            values.setdefault((label, key), []).append(rec["value"])
    print("%-50s %12s %12s %7s" % ("metric (median)", label_a, label_b, "ratio"))
    for key in order:
        a = values.get((label_a, key))
        b = values.get((label_b, key))
        ma = statistics.median(a) if a else None
        mb = statistics.median(b) if b else None
        ratio = "-"
        if ma and mb:
            # Ratio > 1 means the first server is better.
            ratio = "%.2fx" % ((ma / mb) if units[key].endswith("/s") else (mb / ma))
        fmt = lambda v: ("-" if v is None else "%.2f" % v if v < 10
                         else "%.1f" % v if v < 1000 else "%.0f" % v)
        print("%-50s %12s %12s %7s" % ("%s [%s]" % (key, units[key]), fmt(ma), fmt(mb), ratio))


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "report":
        return cmd_report(*args)
    sock_path, pid, nums = args[0], int(args[1]), args[2:]
    if cmd == "insert":
        cmd_insert(sock_path, pid, int(nums[0]), int(nums[1]), nums[2] == "1", nums[3])
    elif cmd == "fanout":
        cmd_fanout(sock_path, pid, int(nums[0]), int(nums[1]))
    elif cmd == "load":
        cmd_load(sock_path, pid, int(nums[0]), int(nums[1]))
    elif cmd == "initial":
        cmd_initial(sock_path, pid, int(nums[0]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
