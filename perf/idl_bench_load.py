#!/usr/bin/python3
"""Load and update generator for perf/idl-bench.sh: a raw JSON-RPC client
(standard library only) that is neither of the two IDLs being compared.

  idl_bench_load.py load SOCKET SWITCHES ROUTERS
      Inserts SWITCHES Logical_Switch rows (name, a one-pair external_ids),
      5000 per transaction, and ROUTERS Logical_Router rows whose UUIDs are
      router_uuid(0..ROUTERS-1) (Open vSwitch's insert "uuid" member).
  idl_bench_load.py update SOCKET N ROUTERS TOKEN
      Sends N one-row update transactions, 256 in flight: transaction i sets
      "ip" of router 1 + i % (ROUTERS - 1); a last one sets router 0's "ip"
      to TOKEN, the marker the followers wait for.  Prints the seconds taken.
"""
import json
import socket
import sys
import time

DB = "OVN_Northbound"
WINDOW = 256


def router_uuid(i):
    return "00000000-0000-4000-8000-%012x" % i


class Client:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buf = ""
        self.decoder = json.JSONDecoder()
        self.next_id = 0

    def send(self, ops):
        self.next_id += 1
        msg = {"method": "transact", "params": [DB] + ops, "id": self.next_id}
        self.sock.sendall(json.dumps(msg).encode())

    def reply(self):
        """Returns the next reply, answering echo requests on the way."""
        while True:
            text = self.buf.lstrip()
            if text:
                try:
                    msg, end = self.decoder.raw_decode(text)
                except ValueError:
                    msg = None
                if msg is not None:
                    self.buf = text[end:]
                    if msg.get("method") == "echo":
                        out = {"result": msg.get("params", []), "error": None, "id": msg["id"]}
                        self.sock.sendall(json.dumps(out).encode())
                        continue
                    if "id" in msg and msg.get("method") is None:
                        return msg
                    continue
            data = self.sock.recv(1 << 20)
            if not data:
                sys.exit("idl_bench_load: connection closed")
            self.buf = text + data.decode()

    def check(self, msg):
        result = msg.get("result")
        if msg.get("error") or not isinstance(result, list) or any(
                isinstance(r, dict) and "error" in r for r in result):
            sys.exit("idl_bench_load: transaction failed: %s" % json.dumps(msg)[:300])


def load(path, switches, routers):
    c = Client(path)
    for start in range(0, switches, 5000):
        ops = [{"op": "insert", "table": "Logical_Switch",
                "row": {"name": "ls%d" % i, "external_ids": ["map", [["k", "v%d" % i]]]}}
               for i in range(start, min(switches, start + 5000))]
        c.send(ops)
        c.check(c.reply())
    ops = [{"op": "insert", "table": "Logical_Router", "uuid": router_uuid(i),
            "row": {"ip": "r%d" % i}} for i in range(routers)]
    c.send(ops)
    c.check(c.reply())


def update(path, n, routers, token):
    c = Client(path)
    t0 = time.monotonic()
    sent = received = 0
    total = n + 1
    while received < total:
        while sent < total and sent - received < WINDOW:
            if sent < n:
                target, value = 1 + sent % (routers - 1), "u%d" % sent
            else:
                target, value = 0, token
            c.send([{"op": "update", "table": "Logical_Router",
                     "where": [["_uuid", "==", ["uuid", router_uuid(target)]]],
                     "row": {"ip": value}}])
            sent += 1
        c.check(c.reply())
        received += 1
    print("%.4f" % (time.monotonic() - t0))


def main(argv):
    if len(argv) == 4 and argv[0] == "load":
        load(argv[1], int(argv[2]), int(argv[3]))
    elif len(argv) == 5 and argv[0] == "update":
        update(argv[1], int(argv[2]), int(argv[3]), argv[4])
    else:
        sys.exit("usage: idl_bench_load.py load SOCKET SWITCHES ROUTERS | "
                 "update SOCKET N ROUTERS TOKEN")


if __name__ == "__main__":
    main(sys.argv[1:])
