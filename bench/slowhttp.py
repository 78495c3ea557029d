#!/usr/bin/env python3
"""Debian's slowhttptest against the real `baton serve`: slow headers (Slowloris), slow
body (R-U-Dead-Yet) and slow read, each with ~1,000 connections, while a probe from
another loopback address (127.0.0.2) asks /healthz every 250 ms. Prints one JSON object:
per config and mode, what slowhttptest reports (connections held, closed, seconds its own
probe found the service available) and the probe's answers and latencies.

Two configs: as shipped (connections_per_address = 256: slowhttptest's own probe shares
the attacker's address and is refused by design), and without the per-address cap
(max_connections and eviction of the idlest are what keep the server answering).

  bench/slowhttp.py --binary build-release/cli/baton [--seconds 30] [--quick]
"""
import argparse
import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time


def start_server(binary, workdir, extra):
    config = os.path.join(workdir, "baton.toml")
    src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(config, "w") as f:
        f.write('[routing]\nrules = "%s/config/routing.toml"\n' % src)
        f.write(extra)
    log = open(os.path.join(workdir, "serve.log"), "w")
    proc = subprocess.Popen(
        [binary, "serve", "--config", config, "--db", os.path.join(workdir, "baton.db"),
         "--listen", "127.0.0.1:0"], stdout=log, stderr=log)
    deadline = time.time() + 20
    while time.time() < deadline:
        text = open(log.name).read()
        at = text.find('"address":"')
        if at >= 0:
            return proc, text[at + 11:text.index('"', at + 11)]
        if proc.poll() is not None:
            raise SystemExit("baton serve exited: " + text)
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("baton serve did not start")


class Probe(threading.Thread):
    """GET /healthz from 127.0.0.2 every 250 ms, each on a new connection, 3 s time-out."""

    def __init__(self, address):
        super().__init__(daemon=True)
        host, port = address.rsplit(":", 1)
        self.target = (host, int(port))
        self.stop = threading.Event()
        self.latencies_ms = []
        self.failures = 0

    def once(self):
        start = time.monotonic()
        try:
            with socket.create_connection(self.target, timeout=3,
                                          source_address=("127.0.0.2", 0)) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            if data.startswith(b"HTTP/1.1 200"):
                self.latencies_ms.append((time.monotonic() - start) * 1000)
                return
        except OSError:
            pass
        self.failures += 1

    def run(self):
        while not self.stop.is_set():
            self.once()
            self.stop.wait(0.25)

    def summary(self):
        lat = sorted(self.latencies_ms)
        pick = lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))], 2) if lat else None
        return {"answered": len(lat), "failed": self.failures, "p50_ms": pick(0.5),
                "p99_ms": pick(0.99), "max_ms": round(lat[-1], 2) if lat else None}


def slowhttptest(mode, address, seconds, connections, workdir):
    prefix = os.path.join(workdir, "slow" + mode)
    url = "http://%s/" % address
    args = ["slowhttptest", "-" + mode, "-c", str(connections), "-r", "500", "-l",
            str(seconds), "-p", "3", "-g", "-o", prefix, "-u", url]
    if mode == "H":
        args += ["-i", "5"]
    elif mode == "B":
        args += ["-i", "5", "-s", "8192", "-u", "http://%s/v1/cases" % address]
    elif mode == "X":
        args += ["-k", "4", "-n", "2", "-w", "1", "-y", "4", "-z", "1"]
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=seconds + 60, check=False)
    rows = []
    with open(prefix + ".csv") as f:
        for row in csv.DictReader(f):
            rows.append({k.strip().lower(): v.strip() for k, v in row.items() if k})
    key = next((k for k in (rows[0] if rows else {}) if k.startswith("service")), None)
    # The column is plotted: the connection count while its probe is answered, else 0.
    available = sum(1 for r in rows if key and int(r[key]) > 0)
    return {"seconds": len(rows),
            "max_connected": max((int(r["connected"]) for r in rows), default=0),
            "closed_at_end": int(rows[-1]["closed"]) if rows else 0,
            "its_probe_available_seconds": available}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    if shutil.which("slowhttptest") is None:
        raise SystemExit("slowhttptest is not installed (scripts/setup installs it)")
    if a.quick:
        a.seconds, a.connections = 5, 200
    configs = {
        "shipped": "",
        "no_address_cap": "[limits]\nconnections_per_address = 0\n",
    }
    out = {"bench": "slowhttp", "seconds": a.seconds, "connections": a.connections,
           "max_connections": 1024, "request_timeout_s": 10, "runs": []}
    for name, extra in configs.items():
        for mode, label in (("H", "slow_headers"), ("B", "slow_body"), ("X", "slow_read")):
            workdir = tempfile.mkdtemp(prefix="baton-slowhttp-")
            proc, address = start_server(a.binary, workdir, extra)
            try:
                probe = Probe(address)
                probe.start()
                report = slowhttptest(mode, address, a.seconds, a.connections, workdir)
                probe.stop.set()
                probe.join()
                alive = proc.poll() is None
                out["runs"].append({"config": name, "mode": label, "slowhttptest": report,
                                    "probe_127_0_0_2": probe.summary(),
                                    "server_alive": alive})
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)
                shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
