#!/usr/bin/python3
"""Opens N AMQP 0-9-1 connections to a broker, each through connection.open-ok, holds them,
and prints the broker's resident set before and after (by pid). Raw sockets and a hand-made
handshake, so ten thousand connections take seconds, not minutes.

usage: idle_connections.py --pid PID [--host 127.0.0.1] [--port 5672] [--count 10000]
Raise the open-file limit first (ulimit -n 20000): each connection is one descriptor here.
"""
import argparse
import selectors
import socket
import struct
import sys
import time


def frame(kind, channel, payload):
    return struct.pack(">BHI", kind, channel, len(payload)) + payload + b"\xce"


def shortstr(s):
    return bytes([len(s)]) + s


def longstr(s):
    return struct.pack(">I", len(s)) + s


START_OK = frame(1, 0, struct.pack(">HH", 10, 11) + struct.pack(">I", 0) + shortstr(b"PLAIN") +
                 longstr(b"\0guest\0guest") + shortstr(b"en_US"))
TUNE_OK = frame(1, 0, struct.pack(">HHHIH", 10, 31, 2047, 131072, 0))
OPEN = frame(1, 0, struct.pack(">HH", 10, 40) + shortstr(b"/") + shortstr(b"") + b"\0")
OPEN_OK = (10, 41)


def methods(buffer):
    """Yields (class, method) of each whole method frame; returns the unparsed rest."""
    found = []
    while len(buffer) >= 8:
        kind, _, size = struct.unpack(">BHI", buffer[:7])
        if len(buffer) < size + 8:
            break
        if kind == 1:
            found.append(struct.unpack(">HH", buffer[7:11]))
        buffer = buffer[size + 8:]
    return found, buffer


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5672)
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--hold", type=float, default=2.0, help="seconds to hold them open")
    args = parser.parse_args()

    before = rss_kib(args.pid)
    selector = selectors.DefaultSelector()
    sockets = []
    open_count = 0
    started = time.monotonic()
    for _ in range(args.count):
        s = socket.create_connection((args.host, args.port))
        s.setblocking(False)
        s.sendall(b"AMQP\0\0\x09\x01")
        sockets.append(s)
        selector.register(s, selectors.EVENT_READ, {"buffer": b"", "stage": 0})
        # Drain replies as we go so no socket buffer fills.
        for key, _ in selector.select(timeout=0):
            open_count += advance(key, selector)
    deadline = time.monotonic() + 60
    while open_count < args.count and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=1):
            open_count += advance(key, selector)
    elapsed = time.monotonic() - started
    time.sleep(args.hold)
    after = rss_kib(args.pid)
    print(f"{open_count}/{args.count} connections open in {elapsed:.1f} s; broker VmRSS "
          f"{before / 1024:.1f} MiB before, {after / 1024:.1f} MiB with them open "
          f"({(after - before) / max(open_count, 1):.1f} KiB per connection)")
    for s in sockets:
        s.close()
    return 0 if open_count == args.count else 1


def advance(key, selector):
    """Moves one connection's handshake on; returns 1 when it reached open-ok."""
    s, state = key.fileobj, key.data
    data = s.recv(65536)
    if not data:
        selector.unregister(s)
        return 0
    found, state["buffer"] = methods(state["buffer"] + data)
    for method in found:
        if method == (10, 10):  # start
            s.sendall(START_OK)
        elif method == (10, 30):  # tune
            s.sendall(TUNE_OK + OPEN)
        elif method == OPEN_OK:
            selector.unregister(s)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
