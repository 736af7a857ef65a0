#!/usr/bin/python3
"""The Open vSwitch side of perf/idl-bench.sh: the same three workloads as
build/bench-bin/idl-bench, through Open vSwitch's Python IDL (ovs.db.idl from
Debian's python3-openvswitch; run it with /usr/bin/python3), same command line
and the same one-line JSON result on stdout.

  idl_bench_py.py SCHEMA sync REMOTE TABLE
  idl_bench_py.py SCHEMA follow REMOTE TABLE MARKER TOKEN
  idl_bench_py.py SCHEMA commit REMOTE TABLE N

SCHEMA is the .ovsschema file (the Python IDL needs it locally).  See
idl_bench_tool.cc for what each command measures.
"""
import json
import resource
import sys
import time
import uuid

import ovs.db.idl
import ovs.poller

TIMEOUT = 600.0


def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def cpu_seconds():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def fail(what):
    sys.stderr.write("idl_bench_py: %s\n" % what)
    sys.exit(1)


def run_until(idl, done):
    """Runs the IDL until done() or TIMEOUT seconds."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        idl.run()
        if done():
            return True
        if time.monotonic() > deadline:
            return False
        poller = ovs.poller.Poller()
        idl.wait(poller)
        poller.timer_wait(1000)
        poller.block()


def connect(schema, remote, table):
    helper = ovs.db.idl.SchemaHelper(location=schema)
    helper.register_table(table)
    idl = ovs.db.idl.Idl(remote, helper, leader_only=False)
    if not run_until(idl, idl.has_ever_connected):
        fail("not synced")
    return idl


def cmd_sync(schema, remote, table):
    rss_base = rss_kb()
    t0 = time.monotonic()
    cpu0 = cpu_seconds()
    idl = connect(schema, remote, table)
    secs = time.monotonic() - t0
    print(json.dumps({"rows": len(idl.tables[table].rows), "seconds": round(secs, 4),
                      "cpu": round(cpu_seconds() - cpu0, 4),
                      "rss_base_kb": rss_base, "rss_kb": rss_kb()}))


def cmd_follow(schema, remote, table, marker, token):
    marker = uuid.UUID(marker)
    idl = connect(schema, remote, table)
    rows = idl.tables[table].rows
    state = {"first": None, "seqno": idl.change_seqno, "changes": 0}
    cpu0 = cpu_seconds()
    print("ready", flush=True)

    def done():
        if idl.change_seqno != state["seqno"]:
            state["changes"] += idl.change_seqno - state["seqno"]
            state["seqno"] = idl.change_seqno
            if state["first"] is None:
                state["first"] = time.monotonic()
        row = rows.get(marker)
        return row is not None and row.ip == token

    if not run_until(idl, done):
        fail("the marker update never arrived")
    secs = time.monotonic() - state["first"] if state["first"] else 0.0
    print(json.dumps({"seconds": round(secs, 4), "cpu": round(cpu_seconds() - cpu0, 4),
                      "changes": state["changes"]}))


def cmd_commit(schema, remote, table, n):
    idl = connect(schema, remote, table)
    uuids = list(idl.tables[table].rows.keys())
    if not uuids:
        fail("table %s is empty" % table)
    t0 = time.monotonic()
    cpu0 = cpu_seconds()
    for i in range(n):
        txn = ovs.db.idl.Transaction(idl)
        row = idl.tables[table].rows[uuids[i % len(uuids)]]
        row.ip = "c%d" % i
        status = txn.commit_block()
        if status not in (ovs.db.idl.Transaction.SUCCESS, ovs.db.idl.Transaction.UNCHANGED):
            fail("commit %d: %s %s" % (i, status, txn.get_error()))
    print(json.dumps({"seconds": round(time.monotonic() - t0, 4),
                      "cpu": round(cpu_seconds() - cpu0, 4)}))


def main(argv):
    if len(argv) < 2:
        fail("usage: idl_bench_py.py SCHEMA sync|follow|commit ...")
    schema, cmd, args = argv[0], argv[1], argv[2:]
    if cmd == "sync" and len(args) == 2:
        cmd_sync(schema, *args)
    elif cmd == "follow" and len(args) == 4:
        cmd_follow(schema, *args)
    elif cmd == "commit" and len(args) == 3:
        try:
            n = int(args[2])
        except ValueError:
            fail("bad count %r" % args[2])
        cmd_commit(schema, args[0], args[1], n)
    else:
        fail("usage: idl_bench_py.py SCHEMA sync REMOTE TABLE | follow REMOTE TABLE MARKER "
             "TOKEN | commit REMOTE TABLE N")


if __name__ == "__main__":
    main(sys.argv[1:])
