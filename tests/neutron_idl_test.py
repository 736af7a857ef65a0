#!/usr/bin/python3
"""A Neutron-like client of OVN_Northbound, as networking-ovn was in 2015.

Written with python3-openvswitch's IDL (ovs.db.idl, Debian's /usr/bin/python3),
it creates the seed's OpenStack objects: switches named neutron-<network uuid>
with external_ids neutron:network_name=private/public, and ports named by
Neutron port UUIDs with MAC addresses.  Then the built ovn-nbctl must show them
as the seed's OpenStack section does (lswitch-list, lswitch-get-external-id,
lport-list, lport-get-up), and changes made by ovn-nbctl must reach the
Python IDL's replica through the server's monitor updates.

Usage: neutron_idl_test.py SOURCE_DIR BUILD_DIR [OVSDB_SERVER]
  OVSDB_SERVER defaults to BUILD_DIR/bin/ovsdb-server; pass Open vSwitch's
  /usr/sbin/ovsdb-server to run the same test against it.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import ovs.db.idl
import ovs.poller

PRIVATE_NET = "2637f01e-f41e-4d1b-865f-195253027031"  # The seed's networks.
PUBLIC_NET = "a28b651e-5cb9-481b-9f9b-d5d57e55c6d0"
PORT_ID = "ff07588c-4b11-4ec8-b7c5-1be64fc0ebac"      # The seed's port.
PORT_MAC = "fa:16:3e:23:bd:f6"
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
TIMEOUT = 10.0  # Seconds for any one wait.


class Checker:
    """Counts and prints check results."""

    def __init__(self):
        self.passes = 0
        self.failures = 0

    def check(self, what, ok, detail=""):
        if ok:
            self.passes += 1
            print("ok: " + what)
        else:
            self.failures += 1
            print("FAIL: %s %s" % (what, detail))


class Neutron:
    """The plugin's side: one IDL replica of all of OVN_Northbound."""

    def __init__(self, remote, schema_path):
        helper = ovs.db.idl.SchemaHelper(location=schema_path)
        helper.register_all()
        self.idl = ovs.db.idl.Idl(remote, helper)

    def wait_for(self, predicate, timeout=TIMEOUT):
        """Runs the IDL until predicate() holds; False after timeout."""
        deadline = time.monotonic() + timeout
        while True:
            self.idl.run()
            if predicate():
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            poller = ovs.poller.Poller()
            self.idl.wait(poller)
            poller.timer_wait(int(min(left, 0.5) * 1000))
            poller.block()

    def transact(self, build):
        """Runs build(txn) in a transaction; returns the commit status."""
        txn = ovs.db.idl.Transaction(self.idl)
        build(txn)
        status = txn.commit_block()
        return status, txn

    def rows(self, table):
        return list(self.idl.tables[table].rows.values())

    def switch(self, name):
        for row in self.rows("Logical_Switch"):
            if row.name == name:
                return row
        return None

    def port(self, name):
        for row in self.rows("Logical_Port"):
            if row.name == name:
                return row
        return None


def start_server(server, tool, schema, tmp):
    """Creates ovnnb.db and starts `server` on unix:<tmp>/db.sock."""
    db = os.path.join(tmp, "ovnnb.db")
    subprocess.run([tool, "create", db, schema], check=True)
    subprocess.run([server, db, "--remote=punix:" + os.path.join(tmp, "db.sock"),
                    "--pidfile=" + os.path.join(tmp, "server.pid"),
                    "--unixctl=" + os.path.join(tmp, "server.ctl"),
                    "--log-file=" + os.path.join(tmp, "server.log"),
                    "-vconsole:off", "--detach", "--no-chdir"], check=True, timeout=30)
    with open(os.path.join(tmp, "server.pid")) as f:
        return int(f.read().strip())


def stop_server(pid):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def make_nbctl(nbctl, remote):
    def run(*args):
        r = subprocess.run([nbctl, "--db=" + remote] + list(args), capture_output=True,
                           text=True, timeout=30)
        return r.returncode, r.stdout, r.stderr
    return run


def create_networks(neutron, t):
    """What networking-ovn's create_network did for the seed's two networks."""
    def build(txn):
        for net, name in ((PRIVATE_NET, "private"), (PUBLIC_NET, "public")):
            row = txn.insert(neutron.idl.tables["Logical_Switch"])
            row.name = "neutron-" + net
            row.external_ids = {"neutron:network_name": name}
    status, _ = neutron.transact(build)
    t.check("IDL commits the two networks", status == ovs.db.idl.Transaction.SUCCESS, status)
    t.check("the replica shows both switches",
            neutron.wait_for(lambda: neutron.switch("neutron-" + PUBLIC_NET) is not None))


def create_ports(neutron, t, extra_port, extra_mac):
    """What create_port did: name = Neutron port id, macs, lswitch."""
    private = neutron.switch("neutron-" + PRIVATE_NET)

    def build(txn):
        for port_id, mac in ((PORT_ID, PORT_MAC), (extra_port, extra_mac)):
            row = txn.insert(neutron.idl.tables["Logical_Port"])
            row.name = port_id
            row.lswitch = private
            row.macs = [mac]
            row.external_ids = {"neutron:port_name": ""}
    status, _ = neutron.transact(build)
    t.check("IDL commits two ports", status == ovs.db.idl.Transaction.SUCCESS, status)
    t.check("the replica shows the ports", neutron.wait_for(
        lambda: neutron.port(PORT_ID) is not None and neutron.port(extra_port) is not None))


def check_nbctl_view(neutron, nbctl, t, extra_port):
    """The seed's OpenStack section, as ovn-nbctl shows it."""
    private = neutron.switch("neutron-" + PRIVATE_NET)
    public = neutron.switch("neutron-" + PUBLIC_NET)
    rc, out, err = nbctl("lswitch-list")
    want = "%s (neutron-%s)\n%s (neutron-%s)\n" % (private.uuid, PRIVATE_NET,
                                                   public.uuid, PUBLIC_NET)
    t.check("lswitch-list shows '<uuid> (neutron-<uuid>)' lines",
            rc == 0 and err == "" and out == want, repr((rc, out, err)))
    for row, name in ((private, "private"), (public, "public")):
        rc, out, err = nbctl("lswitch-get-external-id", str(row.uuid))
        t.check("lswitch-get-external-id %s" % name,
                (rc, out, err) == (0, "neutron:network_name=%s\n" % name, ""), repr((rc, out, err)))
    rc, out, err = nbctl("lswitch-get-external-id", "neutron-" + PUBLIC_NET, "neutron:network_name")
    t.check("lswitch-get-external-id by name and key", (rc, out) == (0, "public\n"), repr(out))
    port = neutron.port(PORT_ID)
    extra = neutron.port(extra_port)
    rc, out, err = nbctl("lport-list", str(private.uuid))
    lines = sorted(["%s (%s)" % (port.uuid, PORT_ID), "%s (%s)" % (extra.uuid, extra_port)],
                   key=lambda line: line.split(" ")[1])
    t.check("lport-list shows '<uuid> (<neutron port id>)' lines",
            rc == 0 and out == "\n".join(lines) + "\n", repr((rc, out, err)))
    t.check("every lport-list line has the seed's shape",
            all(re.fullmatch(UUID_RE + r" \(" + UUID_RE + r"\)", line)
                for line in out.splitlines()), repr(out))
    rc, out, err = nbctl("lport-list", str(public.uuid))
    t.check("the public network has no ports", (rc, out) == (0, ""), repr(out))
    for ident in (str(port.uuid), PORT_ID):
        rc, out, err = nbctl("lport-get-up", ident)
        t.check("lport-get-up %s is down" % ident, (rc, out, err) == (0, "down\n", ""),
                repr((rc, out, err)))
    rc, out, err = nbctl("lport-get-macs", PORT_ID)
    t.check("lport-get-macs shows Neutron's MAC", (rc, out) == (0, PORT_MAC + "\n"), repr(out))


def check_round_trip(neutron, nbctl, t, extra_port):
    """ovn-nbctl's writes reach the Python replica, and the reverse."""
    port = neutron.port(PORT_ID)
    rc, _, err = nbctl("lport-set-port-security", PORT_ID, PORT_MAC)
    t.check("lport-set-port-security", rc == 0, err)
    t.check("the IDL sees ovn-nbctl's port_security",
            neutron.wait_for(lambda: list(port.port_security) == [PORT_MAC]))
    # What ovn-nbd does once a chassis binds the port.
    status, _ = neutron.transact(lambda txn: setattr(neutron.port(PORT_ID), "up", [True]))
    t.check("IDL sets up", status == ovs.db.idl.Transaction.SUCCESS, status)
    rc, out, _ = nbctl("lport-get-up", PORT_ID)
    t.check("lport-get-up is then up", (rc, out) == (0, "up\n"), repr(out))
    status, _ = neutron.transact(lambda txn: neutron.port(extra_port).delete())
    t.check("IDL deletes a port", status == ovs.db.idl.Transaction.SUCCESS, status)
    rc, out, _ = nbctl("lport-list", "neutron-" + PRIVATE_NET)
    t.check("lport-list no longer shows it",
            rc == 0 and extra_port not in out and PORT_ID in out, repr(out))
    rc, _, err = nbctl("lswitch-set-external-id", "neutron-" + PUBLIC_NET,
                       "neutron:network_name", "ext-net")
    t.check("lswitch-set-external-id", rc == 0, err)
    public = neutron.switch("neutron-" + PUBLIC_NET)
    t.check("the IDL sees the renamed network", neutron.wait_for(
        lambda: public.external_ids.get("neutron:network_name") == "ext-net"))


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: neutron_idl_test.py SOURCE_DIR BUILD_DIR [OVSDB_SERVER]")
    src, build = sys.argv[1], sys.argv[2]
    bindir = os.path.join(build, "bin")
    server = sys.argv[3] if len(sys.argv) == 4 else os.path.join(bindir, "ovsdb-server")
    schema = os.path.join(src, "ovsdb", "schemas", "ovn-nb.ovsschema")
    t = Checker()
    tmp = tempfile.mkdtemp(prefix="neutron-idl-")
    pid = None
    try:
        pid = start_server(server, os.path.join(bindir, "ovsdb-tool"), schema, tmp)
        remote = "unix:" + os.path.join(tmp, "db.sock")
        nbctl = make_nbctl(os.path.join(bindir, "ovn-nbctl"), remote)
        neutron = Neutron(remote, schema)
        t.check("the IDL connects and syncs (%s)" % server,
                neutron.wait_for(lambda: neutron.idl.has_ever_connected()))
        extra_port, extra_mac = str(uuid.uuid4()), "fa:16:3e:00:00:02"
        create_networks(neutron, t)
        create_ports(neutron, t, extra_port, extra_mac)
        check_nbctl_view(neutron, nbctl, t, extra_port)
        check_round_trip(neutron, nbctl, t, extra_port)
        neutron.idl.close()
    finally:
        if pid is not None:
            stop_server(pid)
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (t.passes, t.failures))
    return 1 if t.failures else 0


if __name__ == "__main__":
    sys.exit(main())
