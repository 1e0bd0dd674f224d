"""TLS listeners (AMQPS), EXTERNAL login and the listener settings, with pika, openssl s_client
and raw sockets.

The certificates are made here with `openssl req` and `openssl x509`: a CA, a server
certificate for localhost, client certificates whose CN is the default user (guest) and an
unknown user, a second CA with a client certificate of its own, and an expired server
certificate. One lepusd serves the class: a plain listener (the harness's) and a TLS one at
once, with verify_peer, fail_if_no_peer_cert and EXTERNAL enabled.
"""
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

import pika
import pika.credentials
import pika.exceptions

import harness

HANDSHAKE_TIMEOUT_MS = 3000
START_REFUSED_EXIT = 1


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


class Certificates:
    """PEM files in a temporary directory, by name: ca, server, client (CN=guest), stranger
    (CN=nobody), other_ca, other_client (signed by other_ca), expired (server, expired)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="lepus-tls-")
        self._ca("ca")
        self._ca("other_ca")
        self._leaf("server", "ca", "localhost", server=True)
        self._leaf("client", "ca", "guest")
        self._leaf("stranger", "ca", "nobody")
        self._leaf("other_client", "other_ca", "guest")
        self._leaf("expired", "ca", "localhost", server=True, days="-1")

    def pem(self, name):
        return os.path.join(self.dir, f"{name}.pem")

    def key(self, name):
        return os.path.join(self.dir, f"{name}.key")

    def _new_key(self, name):
        return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", f"{name}.key"]

    def _ca(self, name):
        openssl("req", "-x509", *self._new_key(name), "-out", f"{name}.pem", "-days", "3650",
                "-subj", f"/CN=Lepus test {name}", cwd=self.dir)

    def _leaf(self, name, ca, common_name, server=False, days="3650"):
        openssl("req", *self._new_key(name), "-out", f"{name}.csr", "-subj",
                f"/CN={common_name}", cwd=self.dir)
        extensions = os.path.join(self.dir, f"{name}.ext")
        with open(extensions, "w") as f:
            if server:
                f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
            else:
                f.write("extendedKeyUsage=clientAuth\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
                "-CAcreateserial", "-out", f"{name}.pem", "-days", days, "-extfile", extensions,
                cwd=self.dir)

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def tls_config(certs, port, server="server", extra=""):
    return (f"listeners.ssl.default = 127.0.0.1:{port}\n"
            f"ssl_options.cacertfile = {certs.pem('ca')}\n"
            f"ssl_options.certfile = {certs.pem(server)}\n"
            f"ssl_options.keyfile = {certs.key(server)}\n"
            "ssl_options.verify = verify_peer\n"
            "ssl_options.fail_if_no_peer_cert = true\n"
            "ssl_options.versions.1 = tlsv1.3\n"
            "ssl_options.versions.2 = tlsv1.2\n"
            "auth_mechanisms.1 = PLAIN\n"
            "auth_mechanisms.2 = AMQPLAIN\n"
            "auth_mechanisms.3 = EXTERNAL\n"
            f"handshake_timeout_ms = {HANDSHAKE_TIMEOUT_MS}\n" + extra)


def client_context(certs, ca="ca", cert="client"):
    context = ssl.create_default_context(cafile=certs.pem(ca))
    if cert is not None:
        context.load_cert_chain(certs.pem(cert), certs.key(cert))
    return context


def client_hello():
    """The bytes of a real ClientHello, from Python's ssl on memory BIOs."""
    context = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def closed_within(sock, seconds):
    """Reads until the peer closes; returns how long that took, or None if it did not."""
    sock.settimeout(0.2)
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        try:
            if sock.recv(4096) == b"":
                return time.monotonic() - started
        except socket.timeout:
            continue
        except OSError:  # reset: closed as well
            return time.monotonic() - started
    return None


class TlsTest(harness.BrokerTestCase):
    certs = None
    tls_port = None

    @classmethod
    def setUpClass(cls):
        if harness.amqp_url_override():
            raise unittest.SkipTest("starts lepusd with TLS settings of its own")
        cls.certs = Certificates()
        cls.tls_port = harness.free_port()
        cls.CONFIG_TEXT = tls_config(cls.certs, cls.tls_port)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        if cls.certs is not None:
            cls.certs.remove()

    def tls_parameters(self, context=None, credentials=None, port=None):
        context = context or client_context(self.certs)
        return pika.ConnectionParameters(
            host="127.0.0.1", port=port or self.tls_port, connection_attempts=1,
            credentials=credentials or pika.PlainCredentials("guest", "guest"),
            ssl_options=pika.SSLOptions(context, "localhost"))

    def tls_connect(self, **kwargs):
        connection = pika.BlockingConnection(self.tls_parameters(**kwargs))
        self._connections.append(connection)
        return connection

    def assert_round_trip(self, connection, count=50):
        channel = connection.channel()
        queue = channel.queue_declare("", exclusive=True).method.queue
        bodies = [os.urandom(n) for n in (16, 1024, 200_000)] + \
            [f"m{i}".encode() for i in range(count)]
        for body in bodies:
            channel.basic_publish("", queue, body)
        got = []
        for _, _, body in channel.consume(queue, auto_ack=True, inactivity_timeout=5):
            if body is None:
                break
            got.append(body)
            if len(got) == len(bodies):
                break
        channel.cancel()
        self.assertEqual(got, bodies)

    def assert_refused(self, **kwargs):
        # pika passes the client's own verification failures on as ssl's exceptions, and the
        # broker's refusals (an alert, a closed socket) as its own.
        with self.assertRaises((pika.exceptions.AMQPConnectionError, ssl.SSLError)) as caught:
            self.tls_connect(**kwargs)
        return caught.exception

    def log_lines(self, text):
        return [line for line in self.broker.stderr_text().splitlines() if text in line]

    def test_publish_and_consume_over_tls(self):
        self.assert_round_trip(self.tls_connect())
        self.assertTrue(self.log_lines("event=accepted peer=127.0.0.1:"))
        self.assertTrue([line for line in self.log_lines("event=accepted") if "tls=true" in line])
        self.assertTrue(self.log_lines("TLS handshake done (TLSv1.3"))

    def test_plain_and_tls_listeners_serve_at_once(self):
        tls = self.tls_connect()
        plain = self.connect()
        self.assert_round_trip(plain, 10)
        self.assert_round_trip(tls, 10)

    def test_client_trusting_another_ca_fails_on_the_client(self):
        error = self.assert_refused(context=client_context(self.certs, ca="other_ca"))
        self.assertIsInstance(error, ssl.SSLCertVerificationError)
        self.assert_round_trip(self.tls_connect(), 5)

    def test_client_certificate_from_another_ca_is_refused(self):
        before = len(self.log_lines("TLS handshake failed"))
        self.assert_refused(context=client_context(self.certs, cert="other_client"))
        self.assert_round_trip(self.tls_connect(), 5)
        self.assertEqual(len(self.log_lines("TLS handshake failed")), before + 1)

    def test_client_without_certificate_is_refused_and_others_go_on(self):
        good = self.tls_connect()
        self.assert_refused(context=client_context(self.certs, cert=None))
        self.assert_round_trip(good, 5)
        self.assert_round_trip(self.tls_connect(), 5)

    def test_stalled_handshakes_are_closed_after_the_handshake_timeout(self):
        silent = socket.create_connection(("127.0.0.1", self.tls_port))
        half = socket.create_connection(("127.0.0.1", self.tls_port))
        hello = client_hello()
        half.sendall(hello[:len(hello) // 2])
        started = time.monotonic()
        # Everyone else goes on meanwhile.
        self.assert_round_trip(self.tls_connect(), 5)
        limit_s = HANDSHAKE_TIMEOUT_MS / 1000 + 5
        for sock in (silent, half):
            waited = closed_within(sock, limit_s)
            sock.close()
            self.assertIsNotNone(waited, "a stalled handshake was not closed")
        self.assertGreaterEqual(time.monotonic() - started, HANDSHAKE_TIMEOUT_MS / 1000 - 0.5)

    def test_garbage_instead_of_a_client_hello_is_closed_at_once(self):
        before = len(self.log_lines("TLS handshake failed"))
        with socket.create_connection(("127.0.0.1", self.tls_port)) as sock:
            sock.sendall(b"AMQP\x00\x00\x09\x01" + b"\x00" * 64)
            waited = closed_within(sock, HANDSHAKE_TIMEOUT_MS / 1000 - 1)
        self.assertIsNotNone(waited, "garbage was not answered with a close")
        self.assert_round_trip(self.tls_connect(), 5)
        self.assertEqual(len(self.log_lines("TLS handshake failed")), before + 1)

    def s_client(self, *version):
        return subprocess.run(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{self.tls_port}", *version,
             "-CAfile", self.certs.pem("ca"), "-cert", self.certs.pem("client"),
             "-key", self.certs.key("client"), "-verify_return_error",
             "-cipher", "DEFAULT@SECLEVEL=0"],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=20, text=True)

    def test_tls_1_2_and_1_3_are_spoken_and_1_1_is_refused(self):
        for flag, name in (("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")):
            done = self.s_client(flag)
            self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
            self.assertIn(f"New, {name}, Cipher is", done.stdout)
        done = self.s_client("-tls1_1")
        self.assertNotEqual(done.returncode, 0, done.stdout)
        self.assertNotIn("New, TLSv1.1", done.stdout)
        self.assertIn("New, (NONE), Cipher is (NONE)", done.stdout)
        self.assert_round_trip(self.tls_connect(), 5)

    def test_external_login_takes_the_certificate_common_name(self):
        connection = self.tls_connect(credentials=pika.credentials.ExternalCredentials())
        self.assert_round_trip(connection, 5)

    def test_external_login_of_an_unknown_user_is_refused(self):
        with self.assertRaises(pika.exceptions.ProbableAuthenticationError):
            self.tls_connect(context=client_context(self.certs, cert="stranger"),
                             credentials=pika.credentials.ExternalCredentials())

    def test_external_login_without_tls_is_refused(self):
        parameters = pika.ConnectionParameters(
            host=self.broker.host, port=self.broker.port, connection_attempts=1,
            credentials=pika.credentials.ExternalCredentials())
        with self.assertRaises(pika.exceptions.ProbableAuthenticationError):
            pika.BlockingConnection(parameters)

    def test_plain_login_works_over_tls_with_a_certificate_of_another_user(self):
        connection = self.tls_connect(context=client_context(self.certs, cert="stranger"))
        self.assert_round_trip(connection, 5)


def run_lepusd(config_text, work_dir, plain_port=None, timeout_s=15):
    """Runs a lepusd with `config_text` until it exits or timeout_s pass; returns (code or
    None, output)."""
    config = os.path.join(work_dir, "lepusd.conf")
    with open(config, "w") as f:
        f.write(config_text)
    args = [harness.lepusd_binary(), "--config", config, "--data-dir",
            os.path.join(work_dir, "data"), "--shards", str(harness.SHARDS),
            "--journal-segment-mb", "4", "--management-listen", "none"]
    if plain_port is not None:
        args += ["--listen", f"127.0.0.1:{plain_port}"]
    try:
        done = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timeout_s)
    except subprocess.TimeoutExpired as e:
        return None, (e.stdout or b"").decode() + (e.stderr or b"").decode()
    return done.returncode, done.stdout.decode() + done.stderr.decode()


class TlsStartupTest(unittest.TestCase):
    """Settings that stop start-up, and brokers with settings of their own."""

    @classmethod
    def setUpClass(cls):
        if harness.amqp_url_override():
            raise unittest.SkipTest("starts lepusd with settings of its own")
        cls.certs = Certificates()

    @classmethod
    def tearDownClass(cls):
        cls.certs.remove()

    def setUp(self):
        self.work_dir = tempfile.mkdtemp(prefix="lepus-tls-start-")
        self.addCleanup(shutil.rmtree, self.work_dir, ignore_errors=True)

    def assert_refused_to_start(self, config_text, expected):
        code, output = run_lepusd(config_text, self.work_dir, plain_port=harness.free_port())
        self.assertEqual(code, START_REFUSED_EXIT, output)
        self.assertIn(expected, output)

    def test_a_missing_key_file_stops_start_up(self):
        missing = os.path.join(self.work_dir, "nowhere.key")
        config = tls_config(self.certs, harness.free_port()).replace(
            self.certs.key("server"), missing)
        self.assert_refused_to_start(
            config, f"ssl_options.keyfile: cannot read '{missing}': No such file or directory")

    def test_a_key_that_does_not_match_the_certificate_stops_start_up(self):
        config = tls_config(self.certs, harness.free_port()).replace(
            self.certs.key("server"), self.certs.key("client"))
        self.assert_refused_to_start(
            config, f"ssl_options.keyfile: the key in '{self.certs.key('client')}' does not "
                    "match the certificate")

    def test_a_certificate_file_that_is_no_certificate_stops_start_up(self):
        config = tls_config(self.certs, harness.free_port()).replace(
            f"certfile = {self.certs.pem('server')}", f"certfile = {self.certs.key('server')}")
        self.assert_refused_to_start(config, "ssl_options.certfile: ")

    def test_a_second_broker_on_a_busy_tls_address_refuses_to_start(self):
        tls_port = harness.free_port()
        broker = harness.own_broker(self, "a broker to be busy beside",
                                    config_text=tls_config(self.certs, tls_port))
        self.assert_refused_to_start(
            tls_config(self.certs, tls_port),
            f"listeners.ssl.default: cannot listen on 127.0.0.1:{tls_port}: "
            "Address already in use")
        connection = broker.connect()
        connection.channel()
        connection.close()

    def test_an_expired_server_certificate_fails_on_the_client(self):
        tls_port = harness.free_port()
        harness.own_broker(self, "serves an expired certificate",
                           config_text=tls_config(self.certs, tls_port, server="expired"))
        context = client_context(self.certs)
        with self.assertRaisesRegex(ssl.SSLCertVerificationError, "certificate has expired"):
            pika.BlockingConnection(pika.ConnectionParameters(
                host="127.0.0.1", port=tls_port, connection_attempts=1,
                ssl_options=pika.SSLOptions(context, "localhost")))

    def test_listeners_by_host_name_and_several_of_each_kind(self):
        ports = [harness.free_port() for _ in range(4)]
        config = (f"listeners.tcp.default = localhost:{ports[0]}\n"
                  f"listeners.tcp.other = 127.0.0.1:{ports[1]}\n" +
                  tls_config(self.certs, ports[2]) +
                  f"listeners.ssl.second = localhost:{ports[3]}\n")
        config_path = os.path.join(self.work_dir, "lepusd.conf")
        with open(config_path, "w") as f:
            f.write(config)
        process = subprocess.Popen(
            [harness.lepusd_binary(), "--config", config_path, "--data-dir",
             os.path.join(self.work_dir, "data"), "--shards", str(harness.SHARDS),
             "--journal-segment-mb", "4", "--management-listen", "none"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + harness.START_TIMEOUT_S
            while not all(harness.port_accepts("127.0.0.1", p) for p in ports):
                self.assertIsNone(process.poll(), "lepusd exited at start-up")
                self.assertLess(time.monotonic(), deadline, "lepusd did not listen")
                time.sleep(0.05)
            for port in ports[:2]:
                pika.BlockingConnection(pika.ConnectionParameters(
                    host="localhost", port=port, connection_attempts=1)).close()
            for port in ports[2:]:
                pika.BlockingConnection(pika.ConnectionParameters(
                    host="localhost", port=port, connection_attempts=1,
                    ssl_options=pika.SSLOptions(client_context(self.certs),
                                                "localhost"))).close()
        finally:
            process.terminate()
            output = process.communicate(timeout=harness.STOP_TIMEOUT_S)[0].decode()
        self.assertEqual(process.returncode, 0, output)
        self.assertIn(f"listening on 127.0.0.1:{ports[0]}, 127.0.0.1:{ports[1]}, "
                      f"127.0.0.1:{ports[2]} (TLS), 127.0.0.1:{ports[3]} (TLS)", output)


if __name__ == "__main__":
    harness.main()
