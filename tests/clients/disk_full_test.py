"""A full disk: lepusd stops (exit 75) without losing a confirmed message, refuses to start
while not even a write's worth of space is free (exit 73, saying how much it needs, creating
nothing), and starts with every confirmed message once a little space is freed. And the disk
alarm, which blocks publishers before that, as RabbitMQ's does.

The data directory is on a small ext4 image, loop-mounted in a mount namespace of this test
process's own: nobody else sees the mount, and it goes away with the process even if the
test is killed. That needs root (CAP_SYS_ADMIN and loop devices). Not root: the test is
skipped, unless LEPUS_REQUIRE_ROOT_TESTS=1 says root was expected, which makes it a failure.
As root, a mount that fails is a failure: the environment was meant to allow it.
"""
import ctypes
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import pika
import pika.exceptions

import harness

IMAGE_BYTES = 48 << 20
# Freed after the stop: start-up needs room for one write (1 MiB) per journal, at most.
FILLER_BYTES = 2 << 20
BODY_BYTES = 32 * 1024
FILL_TIMEOUT_S = 30
EXIT_NO_SPACE = 73
EXIT_JOURNAL_FAILED = 75

CLONE_NEWNS = 0x00020000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
SBIN_PATH = "/usr/sbin:/sbin:/usr/bin:/bin"


def run(*command):
    """Runs a system tool; returns (exit code, its output)."""
    env = dict(os.environ, PATH=SBIN_PATH + ":" + os.environ.get("PATH", ""))
    done = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, env=env, timeout=30)
    return done.returncode, done.stdout.decode("utf-8", "replace").strip()


def private_mount_namespace():
    """Moves this process into a mount namespace of its own, whose mounts do not propagate
    back. Only a single-threaded process may, so this runs before any test thread starts.
    Returns "" or why it failed."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        return f"unshare(CLONE_NEWNS): {os.strerror(ctypes.get_errno())}"
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return f"making / private: {os.strerror(ctypes.get_errno())}"
    return ""


def unmount(path):
    """Lazily when something still holds a file there: the namespace ends with the process
    anyway, and the loop device is released with the last user."""
    if run("umount", path)[0] != 0:
        run("umount", "-l", path)


def segment_files(data_dir):
    """Every journal file under the data directory, with its size."""
    found = {}
    for root, _dirs, files in os.walk(data_dir):
        for name in files:
            if name.endswith(".seg"):
                path = os.path.join(root, name)
                found[os.path.relpath(path, data_dir)] = os.path.getsize(path)
    return found


def body_for(index):
    return index.to_bytes(8, "big") + bytes((index + i) % 251 for i in range(BODY_BYTES - 8))


_namespace_error = None


def mount_small_disk(cls):
    """A small ext4 image, loop-mounted at cls.mount_dir in this process's own mount
    namespace (entered once), or the class is skipped where that cannot be."""
    global _namespace_error
    # No broker of the class: each test starts its own on the small disk.
    if harness.amqp_url_override():
        raise unittest.SkipTest("fills the disk of a lepusd of its own")
    if os.geteuid() != 0:
        why = "needs root to loop-mount a small ext4 image"
        if os.environ.get("LEPUS_REQUIRE_ROOT_TESTS") == "1":
            raise AssertionError(f"{why}, and LEPUS_REQUIRE_ROOT_TESTS=1 expects root")
        raise unittest.SkipTest(why)
    if _namespace_error is None:
        _namespace_error = private_mount_namespace()
    if _namespace_error:
        raise AssertionError(f"running as root, but no private mount namespace: "
                             f"{_namespace_error}")
    cls.work_dir = tempfile.mkdtemp(prefix="lepus-disk-full-")
    cls.addClassCleanup(shutil.rmtree, cls.work_dir, ignore_errors=True)
    image = os.path.join(cls.work_dir, "disk.img")
    cls.mount_dir = os.path.join(cls.work_dir, "disk")
    os.mkdir(cls.mount_dir)
    with open(image, "wb") as f:
        f.truncate(IMAGE_BYTES)
    # -m 0: no blocks reserved for root, so what df calls available is what lepusd gets.
    code, output = run("mkfs.ext4", "-q", "-F", "-m", "0", "-b", "4096", image)
    if code != 0:
        raise AssertionError(f"mkfs.ext4 failed ({code}): {output}")
    code, output = run("mount", "-o", "loop", image, cls.mount_dir)
    if code != 0:
        raise AssertionError(f"running as root, but cannot loop-mount an ext4 image "
                             f"(exit {code}): {output}; this test needs loop devices")
    cls.addClassCleanup(unmount, cls.mount_dir)


class DiskFullTest(harness.BrokerTestCase):
    @classmethod
    def setUpClass(cls):
        mount_small_disk(cls)

    def test_a_full_disk_stops_lepusd_and_it_starts_again_once_space_is_freed(self):
        filler = os.path.join(self.mount_dir, "filler")
        with open(filler, "wb") as f:
            f.write(bytes(FILLER_BYTES))
            os.fsync(f.fileno())
        data_dir = os.path.join(self.mount_dir, "data")
        # No disk alarm: this test is about what happens when the disk does fill up.
        self.broker = harness.Broker(data_dir=data_dir,
                                     config_text="disk_free_limit.absolute = 0\n")
        self.addCleanup(self.broker.kill)  # a failed test must not leave it holding the disk
        self.broker.start()

        confirmed = self.fill_until_stopped()
        self.assertGreater(confirmed, 100, "the disk should hold a few hundred messages")
        code = self.broker.process.wait(timeout=10)
        self.broker.stopped = True
        self.assertEqual(code, EXIT_JOURNAL_FAILED, self.broker.stderr_text())
        self.assertIn("No space left on device", self.broker.stderr_text())

        # Restarting on the full disk fails, says what it needs, and creates nothing.
        before = segment_files(data_dir)
        try:
            self.broker.start()
        except AssertionError:
            pass  # it exited at start-up, as it should
        # A shard that is ready listens before the others have read their journals, so
        # start() may return before the exit: the exit is what counts.
        try:
            code = self.broker.process.wait(timeout=harness.START_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.fail("lepusd started on a full disk")
        self.broker.stopped = True
        self.assertEqual(code, EXIT_NO_SPACE, self.broker.stderr_text())
        said = re.search(r"not enough free space in data directory '([^']*)' to start: .* "
                         r"needs (\d+) bytes free and the file system has (\d+)",
                         self.broker.stderr_text())
        self.assertIsNotNone(said, self.broker.stderr_text())
        self.assertEqual(said.group(1), data_dir)
        needed, free = int(said.group(2)), int(said.group(3))
        self.assertLess(free, needed)
        self.assertLessEqual(needed, FILLER_BYTES, "freeing the filler would not be enough")
        self.assertEqual(segment_files(data_dir), before, "a failed start left files behind")

        os.remove(filler)
        os.sync()
        self.broker.start()
        self.assert_every_confirmed_message_is_there(confirmed)
        self.broker.stop()

    def fill_until_stopped(self):
        """Publishes confirmed persistent messages until lepusd goes away; returns how many
        were confirmed."""
        connection = self.broker.connect()
        channel = connection.channel()
        channel.confirm_delivery()
        channel.queue_declare("fill", durable=True)
        properties = pika.BasicProperties(delivery_mode=2)
        confirmed = 0
        deadline = time.monotonic() + FILL_TIMEOUT_S
        try:
            while time.monotonic() < deadline:
                channel.basic_publish("", "fill", body_for(confirmed), properties)
                confirmed += 1
        except (pika.exceptions.AMQPConnectionError, pika.exceptions.StreamLostError,
                pika.exceptions.ChannelClosed, pika.exceptions.ConnectionClosed):
            return confirmed
        self.fail(f"lepusd still took messages after {FILL_TIMEOUT_S} s "
                  f"({confirmed} confirmed): the disk did not fill")

    def assert_every_confirmed_message_is_there(self, confirmed):
        connection = self.broker.connect()
        channel = connection.channel()
        count = channel.queue_declare("fill", durable=True, passive=True).method.message_count
        # The publish that was cut off may have reached the disk without being confirmed.
        self.assertIn(count, (confirmed, confirmed + 1))
        seen = []
        while True:
            method, _properties, body = channel.basic_get("fill", auto_ack=False)
            if method is None:
                break
            index = int.from_bytes(body[:8], "big")
            self.assertEqual(body, body_for(index))
            seen.append(index)
            # Acknowledged one by one: every ack is a record the journal must find room for.
            channel.basic_ack(method.delivery_tag)
        self.assertEqual(seen[:confirmed], list(range(confirmed)))
        self.assertEqual(channel.queue_declare("fill", passive=True).method.message_count, 0)
        connection.close()


class DiskAlarmTest(harness.BrokerTestCase):
    """RabbitMQ's disk alarm: below disk_free_limit, publishers are blocked ("low on disk")
    while consumers go on; once there is room again, they are unblocked."""

    @classmethod
    def setUpClass(cls):
        mount_small_disk(cls)

    def status(self):
        path = os.path.join(self.data_dir, "lepusctl.sock")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(path)
            s.sendall(b'{"command": "status"}')
            s.shutdown(socket.SHUT_WR)
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        return json.loads(data)

    def test_publishers_are_blocked_below_the_limit_and_unblocked_above_it(self):
        self.data_dir = os.path.join(self.mount_dir, "alarm")
        # The image is small and the journals take most of it: a limit of a few MiB.
        limit = 4 << 20
        self.broker = harness.Broker(data_dir=self.data_dir,
                                     config_text=f"disk_free_limit.absolute = {limit}\n")
        self.addCleanup(self.broker.kill)
        self.broker.start()
        status = self.status()
        self.assertEqual(status["alarms"], [], status)
        self.assertEqual(status["disk_free_limit_bytes"], limit)
        events = []
        publisher = self.broker.connect()
        publisher.add_on_connection_blocked_callback(
            lambda _c, frame: events.append(("blocked", frame.method.reason)))
        publisher.add_on_connection_unblocked_callback(
            lambda _c, _f: events.append(("unblocked", None)))
        channel = publisher.channel()
        channel.queue_declare("q")
        # Leave less than the limit free: the alarm goes on within a second or two.
        filler = os.path.join(self.mount_dir, "alarm-filler")
        with open(filler, "wb") as f:
            f.write(bytes(status["disk_free_bytes"] - (2 << 20)))
            os.fsync(f.fileno())
        channel.basic_publish("", "q", b"before")
        deadline = time.monotonic() + 10
        while not events and time.monotonic() < deadline:
            channel.basic_publish("", "q", b"m")
            publisher.process_data_events(time_limit=0.2)
        self.assertEqual(events[:1], [("blocked", "low on disk")], self.broker.stderr_text())
        self.assertEqual(self.status()["alarms"], ["disk"])
        self.assertIn("disk alarm set", self.broker.stderr_text())
        # A consumer still gets what is there.
        consumer = self.broker.connect()
        method, _props, body = consumer.channel().basic_get("q", auto_ack=True)
        self.assertEqual(body, b"before")
        consumer.close()
        os.remove(filler)
        deadline = time.monotonic() + 10
        while len(events) < 2 and time.monotonic() < deadline:
            publisher.process_data_events(time_limit=0.2)
        self.assertEqual(events[1:2], [("unblocked", None)], self.broker.stderr_text())
        self.assertEqual(self.status()["alarms"], [])
        publisher.close()
        self.broker.stop()


if __name__ == "__main__":
    harness.main()
