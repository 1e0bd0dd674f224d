"""bench/compare's offline parts: its self-test, its AMQP helper against a real lepusd, and the
whole matrix against lepusd with a stand-in load generator and floor. RabbitMQ is never
started here (--brokers lepus,floor); the stand-ins check that they are called with the
lepus-perf and lepus-relay command lines exactly as documented, then print plausible JSON.

    LEPUSD=build/test/bin/lepusd /usr/bin/python3 tests/clients/compare_script_test.py
"""

import importlib.machinery
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import pika

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
COMPARE = os.path.join(ROOT, "bench", "compare")


def load_compare():
    sys.dont_write_bytecode = True  # no __pycache__ beside bench/compare
    loader = importlib.machinery.SourceFileLoader("compare", COMPARE)
    spec = importlib.util.spec_from_loader("compare", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


# Accepts exactly lepus-perf's documented flags; connects to the broker the URI names so a
# wrong port fails the run; prints one JSON object as lepus-perf --json does.
FAKE_PERF = r'''#!/usr/bin/python3
import argparse, json, socket, sys, urllib.parse
p = argparse.ArgumentParser()
p.add_argument("--uri", default="amqp://guest:guest@127.0.0.1:5672/")
for flag in ("--producers", "--consumers", "--queues", "--size", "--rate", "--confirm",
             "--prefetch", "--multi-ack-every", "--duration", "--count"):
    p.add_argument(flag, type=int)
for flag in ("--queue-prefix", "--exchange", "--cpu"):
    p.add_argument(flag)
p.add_argument("--exchange-type", choices=["direct", "fanout", "topic", "headers"])
for flag in ("--persistent", "--durable", "--autoack", "--json", "--quiet"):
    p.add_argument(flag, action="store_true")
a = p.parse_args()
assert a.json and a.quiet and a.queue_prefix and a.duration, sys.argv
assert (a.duration is None) != (a.count is None), "one of --duration and --count"
uri = urllib.parse.urlparse(a.uri)
assert uri.hostname == "127.0.0.1", a.uri
socket.create_connection((uri.hostname, uri.port), timeout=2).close()
rate = 1000.0 * (a.queues if a.exchange_type == "fanout" else 1)
print(json.dumps({
    "publish_rate": 1000.0, "confirm_rate": 1000.0 if a.confirm else 0.0,
    "consume_rate": rate if a.consumers else 0.0, "sent": 1000 * a.duration,
    "confirmed": 0, "received": int(rate * a.duration) if a.consumers else 0,
    "latency_us": {"p50": 80, "p99": 900, "p999": 2000, "max": 5000},
    "confirm_latency_us": {"p50": 0, "p99": 0}, "gaps": 0, "duplicates": 0,
    "duration_s": a.duration}))
'''

FAKE_RELAY = r'''#!/usr/bin/python3
import argparse, signal, socket, sys
p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--cpu")
a = p.parse_args()
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", a.port))
s.listen(16)
while True:
    s.accept()[0].close()
'''


def lepusd():
    binary = os.environ.get("LEPUSD") or (sys.argv[1] if len(sys.argv) > 1 else None)
    if not binary:
        raise AssertionError("no lepusd: set LEPUSD or pass the binary as the first argument")
    return binary


class CompareScriptTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.compare = load_compare()
        cls.work = tempfile.mkdtemp(prefix="lepus-compare-test-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def write_tool(self, name, text):
        path = os.path.join(self.work, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o755)
        return path

    def test_self_test(self):
        result = subprocess.run([sys.executable, COMPARE, "--self-test"], capture_output=True,
                                text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_amqp_helper_against_lepusd(self):
        server = self.compare.Lepusd(lepusd(), self.work, pin=False, log=print)
        pid = server.start()  # returns once a whole AMQP handshake succeeds
        try:
            self.assertGreaterEqual(self.compare.process_cpu_seconds(pid), 0)
            connection = pika.BlockingConnection(
                pika.ConnectionParameters(host="127.0.0.1", port=server.port))
            channel = connection.channel()
            channel.queue_declare("perf-leftover")
            for _ in range(3):
                channel.basic_publish("", "perf-leftover", b"x")
            connection.close()
            client = self.compare.AmqpClient(server.port)
            self.assertEqual(client.delete_queue("perf-leftover"), 3)
            client.close()
            connection = pika.BlockingConnection(
                pika.ConnectionParameters(host="127.0.0.1", port=server.port))
            with self.assertRaises(pika.exceptions.ChannelClosedByBroker):
                connection.channel().queue_declare("perf-leftover", passive=True)
            connection.close()
        finally:
            server.stop()

    def test_matrix_with_stand_ins(self):
        perf = self.write_tool("lepus-perf", FAKE_PERF)
        relay = self.write_tool("lepus-relay", FAKE_RELAY)
        out = os.path.join(self.work, "results")
        result = subprocess.run(
            [sys.executable, COMPARE, "--brokers", "lepus,floor", "--scenarios", "1,4,6,8",
             "--repeat", "2", "--duration", "1", "--perf-binary", perf, "--relay-binary", relay,
             "--lepusd", lepusd(), "--out", out, "--no-chart"],
            capture_output=True, text=True, timeout=240)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(os.path.join(out, "results.json")) as f:
            results = json.load(f)
        runs = results["runs"]
        # Scenarios 1, 4 and 8 run on Lepus only; 6 on Lepus and the floor; two repeats each.
        self.assertEqual(len(runs), 10, json.dumps(runs, indent=1))
        for run in runs:
            self.assertIsNotNone(run["result"], run.get("error"))
            self.assertIsNotNone(run["cpu_s"])
        prefixes = [r["command"][r["command"].index("--queue-prefix") + 1] for r in runs]
        self.assertEqual(len(set(prefixes)), len(prefixes), "every run has its own queues")
        order6 = [r["broker"] for r in runs if r["scenario"] == 6]
        self.assertEqual(order6, ["lepus", "floor", "floor", "lepus"], "brokers alternate")
        self.assertEqual(results["summary"]["4"]["lepus"]["rate"], 8000.0)
        self.assertEqual(results["summary"]["6"]["floor"]["latency_p999"], 2000)
        self.assertIn("| 1 ", result.stdout)
        self.assertIn("p99.9 at 10.0k msg/s", result.stdout)
        with open(os.path.join(out, "table.md")) as f:
            self.assertIn("Lepus/RabbitMQ", f.read())

    def test_missing_binaries_say_how_to_build(self):
        result = subprocess.run(
            [sys.executable, COMPARE, "--brokers", "lepus", "--build-dir",
             os.path.join(self.work, "no-such-tree"), "--out", os.path.join(self.work, "x")],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 1)
        self.assertIn("cmake --build", result.stderr)
        self.assertIn("lepus-perf", result.stderr)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
