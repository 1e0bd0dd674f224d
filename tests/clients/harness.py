"""Starts and stops a private lepusd for the real-client tests.

Each test file builds on BrokerTestCase: the class starts one lepusd on a free loopback port
with a fresh data directory and two shards, and stops it at the end with SIGTERM, requiring a
clean exit (code 0) within 10 seconds. lepusd's stderr goes to a file that is printed when
anything fails.

The lepusd binary comes from the LEPUSD environment variable or the first command-line
argument:  /usr/bin/python3 tests/clients/semantics_test.py build/test/bin/lepusd

AMQP_URL_OVERRIDE=amqp://guest:guest@127.0.0.1:5680 runs the same tests against a broker that
is already running (such as RabbitMQ, to check that an assertion matches its behaviour); tests
that need their own broker process or special settings are skipped then.
"""

import ctypes
import faulthandler
import json
import os
import resource
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

import pika

START_TIMEOUT_S = 10
STOP_TIMEOUT_S = 10
# A test still running after this long is hung: its stacks are printed and lepusd is killed,
# which makes the blocked client calls fail instead of waiting for ctest's timeout.
TEST_TIMEOUT_S = 60
SHARDS = 2

_binary = None
_brokers = []  # every lepusd started, for their stderr when a test fails


def amqp_url_override():
    return os.environ.get("AMQP_URL_OVERRIDE") or None


def lepusd_binary():
    global _binary
    if _binary is None:
        _binary = os.environ.get("LEPUSD")
        if not _binary:
            raise AssertionError(
                "no lepusd: set LEPUSD or pass the binary as the first argument")
        if not os.access(_binary, os.X_OK):
            raise AssertionError(f"LEPUSD={_binary} is not an executable file")
    return _binary


def lepusctl_binary():
    """The lepusctl to test: LEPUSCTL, or the one next to lepusd."""
    binary = os.environ.get("LEPUSCTL")
    if not binary:
        binary = os.path.join(os.path.dirname(lepusd_binary()), "lepusctl")
    if not os.access(binary, os.X_OK):
        raise AssertionError(f"no lepusctl at {binary}: set LEPUSCTL")
    return binary


def free_port():
    """A port nothing listens on right now; lepusd binds it a moment later."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent():
    """Runs in the child before exec: lepusd gets SIGKILL if this test process dies, so a
    crashed or killed test leaves no broker behind."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def port_accepts(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class Broker:
    """One lepusd process, or the broker named by AMQP_URL_OVERRIDE."""

    def __init__(self, config_text=None, extra_args=(), data_dir=None, nofile=None):
        self.host = "127.0.0.1"
        self.port = None
        self.management_port = None  # the management HTTP API's
        self.vhost = "/"
        self.process = None
        self.stopped = False
        self.died_during = None  # the test during which lepusd exited unasked
        self.killed_by_watchdog = False
        self.work_dir = None
        self.stderr_path = None
        self._config_text = config_text
        self._extra_args = list(extra_args)
        self._data_dir = data_dir  # None: a fresh one in the work directory
        self._nofile = nofile  # lepusd's RLIMIT_NOFILE as (soft, hard), or None to inherit ours
        url = amqp_url_override()
        if url:
            parts = urllib.parse.urlparse(url)
            self.host = parts.hostname or "127.0.0.1"
            self.port = parts.port or 5672

    @property
    def external(self):
        return self.process is None and amqp_url_override() is not None

    def start(self):
        if amqp_url_override():
            return self
        binary = lepusd_binary()
        if self.work_dir is None:  # a restart keeps its data directory and port
            self.work_dir = tempfile.mkdtemp(prefix="lepus-client-")
            _brokers.append(self)
            self.port = free_port()
            self.management_port = free_port()
        self.stopped = False
        # Small journal segments: every test broker preallocates a few per shard.
        data_dir = self._data_dir or os.path.join(self.work_dir, "data")
        args = [binary, "--listen", f"{self.host}:{self.port}",
                "--data-dir", data_dir, "--shards", str(SHARDS),
                "--journal-segment-mb", "4",
                "--management-listen", f"{self.host}:{self.management_port}"]
        if self._config_text is not None:
            config_path = os.path.join(self.work_dir, "lepusd.conf")
            with open(config_path, "w") as f:
                f.write(self._config_text)
            args += ["--config", config_path]
        args += self._extra_args
        self.stderr_path = os.path.join(self.work_dir, "lepusd.stderr")
        with open(self.stderr_path, "ab") as stderr:
            self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                            stdout=stderr, stderr=stderr,
                                            preexec_fn=self._before_exec)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not port_accepts(self.host, self.port):
            if self.process.poll() is not None:
                self._fail(f"lepusd exited with code {self.process.returncode} at start-up")
            if time.monotonic() > deadline:
                self.process.kill()
                self.process.wait()
                self._fail(f"lepusd did not accept on port {self.port} "
                           f"within {START_TIMEOUT_S} s")
            time.sleep(0.05)
        return self

    def _before_exec(self):
        _die_with_parent()
        if self._nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, self._nofile)

    def stop(self):
        """SIGTERM, then insist on exit code 0 within STOP_TIMEOUT_S."""
        if self.process is None or self.stopped:
            return
        self.stopped = True
        if self.process.poll() is not None:
            if self.died_during is not None:  # already reported, with the stderr
                raise AssertionError(f"lepusd exited during {self.died_during}")
            self._fail(f"lepusd died during the tests with code {self.process.returncode}")
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            self._fail(f"lepusd did not exit within {STOP_TIMEOUT_S} s of SIGTERM")
        if code != 0:
            self._fail(f"lepusd exited with code {code} after SIGTERM")

    def kill(self):
        """SIGKILL: a crash. The data directory stays for restart()."""
        if self.process is None or self.stopped:
            return
        self.stopped = True
        self.process.kill()
        self.process.wait()
        # io_uring tears a dead process's rings down asynchronously, and its listening sockets
        # (held by pending multishot accepts) keep accepting until then: wait them out, or the
        # next start would share its port with a dying listener.
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while port_accepts(self.host, self.port) and time.monotonic() < deadline:
            time.sleep(0.02)

    def restart(self, graceful=True):
        """Stops (SIGTERM, or SIGKILL when not graceful) and starts on the same data."""
        if graceful:
            self.stop()
        else:
            self.kill()
        return self.start()

    def stderr_text(self):
        if not self.stderr_path or not os.path.exists(self.stderr_path):
            return ""
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def _fail(self, message):
        raise AssertionError(f"{message}\n--- lepusd stderr ---\n{self.stderr_text()}")

    def parameters(self, user="guest", password="guest", **kwargs):
        kwargs.setdefault("virtual_host", self.vhost)
        kwargs.setdefault("connection_attempts", 1)
        kwargs.setdefault("blocked_connection_timeout", 30)
        return pika.ConnectionParameters(
            host=self.host, port=self.port,
            credentials=pika.PlainCredentials(user, password), **kwargs)

    def connect(self, **kwargs):
        """A pika BlockingConnection as guest/guest."""
        return pika.BlockingConnection(self.parameters(**kwargs))


class BrokerTestCase(unittest.TestCase):
    """One broker for all tests of a class. Subclasses may set CONFIG_TEXT."""

    CONFIG_TEXT = None
    broker = None

    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(config_text=cls.CONFIG_TEXT).start()

    @classmethod
    def tearDownClass(cls):
        if cls.broker is not None:
            cls.broker.stop()

    def setUp(self):
        self._connections = []
        if self.broker is not None and self.broker.died_during is not None:
            self.fail(f"lepusd is not running: it exited with code "
                      f"{self.broker.process.returncode} during {self.broker.died_during}")
        watchdog = threading.Timer(TEST_TIMEOUT_S, self._on_hang)
        watchdog.daemon = True
        watchdog.start()
        self.addCleanup(watchdog.cancel)  # cleanups run last-in first-out: this one runs last

    def _on_hang(self):
        sys.stderr.write(f"\n{self.id()} is still running after {TEST_TIMEOUT_S} s:\n")
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        process = self.broker.process if self.broker is not None else None
        if process is None or process.poll() is not None:
            sys.stderr.flush()
            os._exit(1)
        sys.stderr.write("killing lepusd so that the blocked calls fail\n")
        sys.stderr.flush()
        self.broker.killed_by_watchdog = True
        process.kill()

    def tearDown(self):
        for connection in self._connections:
            if connection.is_open:
                try:
                    connection.close()
                except Exception:  # a test may have broken it on purpose
                    pass
        broker = self.broker
        if broker is not None and broker.process is not None and not broker.stopped \
                and broker.process.poll() is not None and broker.died_during is None:
            broker.died_during = self.id()
            why = "was killed: the test hung" if broker.killed_by_watchdog else \
                f"exited with code {broker.process.returncode}"
            broker._fail(f"lepusd {why} during {self.id()}")

    def connect(self, **kwargs):
        """A connection closed at the end of the test."""
        connection = self.broker.connect(**kwargs)
        self._connections.append(connection)
        return connection

    def channel(self, **kwargs):
        return self.connect(**kwargs).channel()

    def unique(self, stem):
        """A name no other test or earlier run uses, for brokers that outlive the test."""
        return f"{stem}.{os.getpid()}.{time.monotonic_ns()}"

    def delete_queues_after(self, *names):
        """Removes named queues now and at the end of the test: an external broker keeps them."""
        def delete():
            connection = self.broker.connect()
            channel = connection.channel()
            for name in names:
                channel.queue_delete(name)
            connection.close()
        delete()
        self.addCleanup(delete)

    def delete_exchanges_after(self, *names):
        def delete():
            connection = self.broker.connect()
            channel = connection.channel()
            for name in names:
                channel.exchange_delete(name)
            connection.close()
        delete()
        self.addCleanup(delete)

    def queue(self, channel, stem, **kwargs):
        """Declares a queue with a unique name, deleted at the end of the test."""
        name = self.unique(stem)
        self.delete_queues_after(name)
        channel.queue_declare(name, **kwargs)
        return name

    def exchange(self, channel, stem, kind, **kwargs):
        """Declares an exchange with a unique name, deleted at the end of the test."""
        name = self.unique(stem)
        self.delete_exchanges_after(name)
        channel.exchange_declare(name, kind, **kwargs)
        return name

    def message_count(self, name):
        """The queue's ready messages, from a passive queue.declare on a channel of its own."""
        channel = self.channel()
        count = channel.queue_declare(name, passive=True).method.message_count
        channel.close()
        return count

    def assert_message_count(self, name, expected, timeout_s=5.0):
        """The count in queue.declare-ok trails publishes and requeues from other channels by
        a moment on RabbitMQ, so it is polled."""
        deadline = time.monotonic() + timeout_s
        while True:
            count = self.message_count(name)
            if count == expected or time.monotonic() > deadline:
                self.assertEqual(count, expected)
                return
            time.sleep(0.05)

    def skip_if_external(self, why):
        if self.broker.external:
            self.skipTest(f"needs its own lepusd: {why}")


class Cli:
    """rabbitmqctl's commands (run quiet): lepusctl on the broker's own data directory, or,
    against another broker (AMQP_URL_OVERRIDE), the command LEPUS_RABBITMQCTL names, such as
    'runuser -u rabbitmq -- env HOME=/var/lib/rabbitmq rabbitmqctl -n bench@localhost'."""

    def __init__(self, broker):
        override = os.environ.get("LEPUS_RABBITMQCTL")
        if broker.external:
            if not override:
                raise unittest.SkipTest("against another broker, LEPUS_RABBITMQCTL names its "
                                        "rabbitmqctl")
            self.prefix = shlex.split(override)
        else:
            self.prefix = [lepusctl_binary(), "--data-dir", os.path.join(broker.work_dir, "data")]

    def __call__(self, *args, expect=0):
        done = subprocess.run(self.prefix + ["-q"] + list(args), capture_output=True,
                              text=True, timeout=120)
        if done.returncode != expect:
            raise AssertionError(f"{args}: exit {done.returncode}\n{done.stdout}{done.stderr}")
        return done.stdout

    def rows(self, *args):
        """A listing's rows as dicts, from its JSON form."""
        return json.loads(self(*args, "--formatter", "json") or "[]")


def own_broker(test, why, extra_args=(), config_text=None, nofile=None):
    """A lepusd of the test's own, stopped when the test ends. Against an external broker
    (AMQP_URL_OVERRIDE) the test is skipped instead; `why` says what it needs lepusd for.
    nofile: lepusd's open-files limit as (soft, hard), set before it starts."""
    if amqp_url_override():
        test.skipTest(why)
    broker = Broker(config_text=config_text, extra_args=extra_args, nofile=nofile).start()
    test.addCleanup(broker.stop)
    return broker


def resident_kib(pid):
    """A process's resident set (VmRSS) in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def sanitized():
    """True when lepusd runs under ASan/UBSan, whose shadow memory and quarantine make its
    resident set say little about lepusd's own memory."""
    return os.environ.get("LEPUS_SANITIZED") == "1"


def settle(connection, seconds=0.3):
    """Lets stray deliveries arrive, so a test can assert that nothing more came."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        connection.process_data_events(time_limit=0.05)


def drain(connection, until, timeout_s=10.0):
    """Runs the connection's I/O until until() is true; fails after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while not until():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"condition not met within {timeout_s} s")
        connection.process_data_events(time_limit=min(remaining, 0.1))


def main():
    """unittest.main, taking an optional lepusd path as the first argument."""
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-") and os.path.isfile(sys.argv[1]):
        os.environ["LEPUSD"] = os.path.abspath(sys.argv.pop(1))
    program = unittest.main(exit=False, verbosity=2)
    ok = program.result.wasSuccessful()
    for broker in _brokers:
        if ok:
            shutil.rmtree(broker.work_dir, ignore_errors=True)
            continue
        print(f"\n--- stderr of lepusd on port {broker.port} "
              f"(work directory kept: {broker.work_dir}) ---", file=sys.stderr)
        print(broker.stderr_text(), file=sys.stderr)
    sys.exit(0 if ok else 1)
