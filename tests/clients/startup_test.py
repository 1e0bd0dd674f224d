"""One broker per data directory and per listen address.

A second lepusd on the data directory of a running one would corrupt its journals; a second
one on its port would, through SO_REUSEPORT, quietly take half of the new connections. Both
refuse to start, say why, and leave the running broker serving.
"""
import os
import subprocess
import tempfile
import unittest

import harness

START_REFUSED_EXIT = 1
# The second broker retries a busy address for about two seconds before it gives up.
REFUSAL_TIMEOUT_S = 15


class StartupTest(unittest.TestCase):
    def setUp(self):
        self.broker = harness.own_broker(self, "starts a second lepusd beside its own")

    def second_broker(self, port, data_dir):
        """Runs another lepusd to its exit; returns (exit code, its output)."""
        args = [harness.lepusd_binary(), "--listen", f"127.0.0.1:{port}",
                "--data-dir", data_dir, "--shards", str(harness.SHARDS),
                "--journal-segment-mb", "4", "--management-listen", "none"]
        try:
            done = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=REFUSAL_TIMEOUT_S)
        except subprocess.TimeoutExpired as e:
            raise AssertionError(f"the second lepusd started and served: {e.stderr!r}")
        return done.returncode, done.stdout.decode() + done.stderr.decode()

    def assert_first_broker_serves_every_connection(self):
        # With two brokers on one port, about half of these would reach the other one, which
        # knows nothing of this queue.
        connection = self.broker.connect()
        channel = connection.channel()
        channel.queue_declare("startup-probe")
        connection.close()
        for _ in range(20):
            connection = self.broker.connect()
            connection.channel().queue_declare("startup-probe", passive=True)
            connection.close()

    def test_a_second_broker_on_the_same_data_directory_refuses_to_start(self):
        data_dir = os.path.join(self.broker.work_dir, "data")
        code, output = self.second_broker(harness.free_port(), data_dir)
        self.assertEqual(code, START_REFUSED_EXIT, output)
        self.assertIn(f"data directory '{data_dir}' is in use by another lepusd", output)
        self.assert_first_broker_serves_every_connection()

    def test_a_second_broker_on_the_same_port_refuses_to_start(self):
        with tempfile.TemporaryDirectory(prefix="lepus-second-") as data_dir:
            code, output = self.second_broker(self.broker.port, data_dir)
        self.assertEqual(code, START_REFUSED_EXIT, output)
        self.assertIn(f"cannot listen on 127.0.0.1:{self.broker.port}: Address already in use",
                      output)
        self.assert_first_broker_serves_every_connection()


if __name__ == "__main__":
    harness.main()
