"""Out of file descriptors, lepusd pauses accepting for a moment instead of retrying at once.

The connection an accept could not take stays in the listen backlog, so an immediate retry
fails the same way: lepusd used to spin a core on it and log every failure (1.7 million lines
a minute). Now it logs about once a second with a count, uses next to no CPU, and serves new
connections as soon as descriptors are free again. At start-up it raises its soft limit to the
hard one, and says what it got.
"""
import os
import socket
import time
import unittest

import pika
import pika.exceptions

import harness

# Small enough that a few dozen sockets use up what lepusd's rings, journals and listeners
# leave over.
NOFILE = 64
HELD = NOFILE + 32
WINDOW_S = 3.0
ACCEPT_FAILED = "accept failed"


def cpu_seconds(pid):
    """User plus system CPU time of a process, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # Fields 14 and 15 (utime, stime) counted from the pid; the split starts at field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for_log(broker, text, timeout_s=5.0):
    deadline = time.monotonic() + timeout_s
    while text not in broker.stderr_text():
        if time.monotonic() > deadline:
            raise AssertionError(f"lepusd did not log {text!r} within {timeout_s} s\n"
                                 f"{broker.stderr_text()}")
        time.sleep(0.05)


def connect_within(broker, timeout_s):
    """A pika connection, retried until timeout_s: lepusd may still be pausing its accepts."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return broker.connect(socket_timeout=2)
        except pika.exceptions.AMQPConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


class FdLimitTest(unittest.TestCase):
    def test_out_of_descriptors_pauses_accepts_instead_of_spinning(self):
        broker = harness.own_broker(self, "sets lepusd's open-files limit",
                                    nofile=(NOFILE, NOFILE))
        wait_for_log(broker, f"open files limit {NOFILE},")
        held = []
        self.addCleanup(lambda: [s.close() for s in held])
        # The kernel completes the TCP handshake of each into the listen backlog whether or
        # not lepusd can accept it.
        for _ in range(HELD):
            held.append(socket.create_connection((broker.host, broker.port), timeout=5))
        wait_for_log(broker, ACCEPT_FAILED)

        cpu_before = cpu_seconds(broker.process.pid)
        started = time.monotonic()
        time.sleep(WINDOW_S)
        cpu = cpu_seconds(broker.process.pid) - cpu_before
        elapsed = time.monotonic() - started
        failures = [line for line in broker.stderr_text().splitlines()
                    if ACCEPT_FAILED in line]
        # About one line a second per shard, each with a count of the failures it stands for.
        self.assertLess(len(failures), 6 * harness.SHARDS,
                        f"{len(failures)} accept failures logged; the last: {failures[-1]}")
        # A shard that retries at once keeps its core busy for the whole window.
        self.assertLess(cpu, elapsed / 4,
                        f"lepusd used {cpu:.2f} s of CPU in {elapsed:.2f} s out of descriptors")

        for s in held:
            s.close()
        held.clear()
        connection = connect_within(broker, 5)
        channel = connection.channel()
        channel.queue_declare("after")
        channel.basic_publish("", "after", b"served")
        method, _properties, body = channel.basic_get("after", auto_ack=True)
        self.assertIsNotNone(method)
        self.assertEqual(body, b"served")
        connection.close()

    def test_soft_limit_is_raised_to_the_hard_one(self):
        broker = harness.own_broker(self, "sets lepusd's open-files limit", nofile=(256, 1024))
        wait_for_log(broker, "open files limit 1024,")
        with open(f"/proc/{broker.process.pid}/limits") as f:
            line = next(line for line in f if line.startswith("Max open files"))
        self.assertEqual(line.split()[3:5], ["1024", "1024"], line)


if __name__ == "__main__":
    harness.main()
