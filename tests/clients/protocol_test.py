#!/usr/bin/python3
"""The wire below the client libraries, over raw sockets: protocol header negotiation, the
handshake timeout, garbage and malformed frames, missed heartbeats, and the shutdown a client
sees on SIGTERM. Frames are built and parsed with pika's codec; the expectations are
RabbitMQ 3.10's.
"""

import signal
import socket
import struct
import time

import pika
import pika.frame
import pika.spec
from pika.exceptions import ConnectionClosedByBroker

import harness
from harness import Broker, BrokerTestCase

# lepusd runs with a short handshake timeout; RabbitMQ's is 10 s.
HANDSHAKE_TIMEOUT_MS = 1000
RABBITMQ_HANDSHAKE_TIMEOUT_MS = 10000
PROTOCOL_HEADER = b'AMQP\x00\x00\x09\x01'
FRAME_END = 0xCE


class RawClient:
    """An AMQP peer that speaks frame by frame, so a test can break the rules on purpose."""

    def __init__(self, broker, timeout_s=10.0):
        self.sock = socket.create_connection((broker.host, broker.port), timeout=timeout_s)
        self.buffer = b''
        self.tune = None

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def send_method(self, channel, method):
        self.send(pika.frame.Method(channel, method).marshal())

    def _recv(self, deadline):
        """More bytes, or b'' once the broker has closed (or reset) the connection."""
        self.sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            return self.sock.recv(65536)
        except ConnectionResetError:
            return b''

    def read_frame(self, timeout_s=10.0):
        """The next frame, or None when the broker closed the connection."""
        deadline = time.monotonic() + timeout_s
        while True:
            consumed, frame = pika.frame.decode_frame(self.buffer)
            if consumed:
                self.buffer = self.buffer[consumed:]
                return frame
            data = self._recv(deadline)
            if not data:
                return None
            self.buffer += data

    def read_method(self, expected_class, timeout_s=10.0):
        frame = self.read_frame(timeout_s)
        assert isinstance(frame, pika.frame.Method), frame
        assert isinstance(frame.method, expected_class), frame.method
        return frame.method

    def read_until_closed(self, timeout_s=10.0):
        """Every byte until the broker closes the connection; fails after timeout_s."""
        deadline = time.monotonic() + timeout_s
        data = self.buffer
        self.buffer = b''
        while True:
            try:
                more = self._recv(deadline)
            except socket.timeout:
                raise AssertionError(f'still open after {timeout_s} s; received {data!r}')
            if not more:
                return data
            data += more

    def handshake(self, heartbeat=0):
        self.send(PROTOCOL_HEADER)
        start = self.read_method(pika.spec.Connection.Start)
        assert b'PLAIN' in start.mechanisms.split(b' '), start.mechanisms
        self.send_method(0, pika.spec.Connection.StartOk(
            client_properties={'product': 'lepus raw test client'}, mechanism='PLAIN',
            response='\0guest\0guest', locale='en_US'))
        self.tune = self.read_method(pika.spec.Connection.Tune)
        self.send_method(0, pika.spec.Connection.TuneOk(
            channel_max=self.tune.channel_max, frame_max=self.tune.frame_max,
            heartbeat=heartbeat))
        self.send_method(0, pika.spec.Connection.Open(virtual_host='/'))
        self.read_method(pika.spec.Connection.OpenOk)
        return self

    def expect_connection_close(self, reply_code, timeout_s=10.0):
        """Reads until connection.close, answers close-ok, and waits for the socket to close.
        Returns the close method."""
        deadline = time.monotonic() + timeout_s
        while True:
            frame = self.read_frame(max(0.01, deadline - time.monotonic()))
            assert frame is not None, 'closed without connection.close'
            if isinstance(frame, pika.frame.Method) and \
                    isinstance(frame.method, pika.spec.Connection.Close):
                break
        close = frame.method
        assert close.reply_code == reply_code, (close.reply_code, close.reply_text)
        try:
            self.send_method(0, pika.spec.Connection.CloseOk())
        except (BrokenPipeError, ConnectionResetError):
            # After a frame error the broker closes the socket once its close is sent (the
            # framing is broken, so it reads no more): close-ok may find it gone already.
            pass
        self.read_until_closed(timeout_s)
        return close


class ProtocolTest(BrokerTestCase):
    CONFIG_TEXT = f'handshake_timeout_ms = {HANDSHAKE_TIMEOUT_MS}\n'

    def raw(self):
        client = RawClient(self.broker)
        self.addCleanup(client.close)
        return client

    def handshake_timeout_s(self):
        if self.broker.external:
            return RABBITMQ_HANDSHAKE_TIMEOUT_MS / 1000
        return HANDSHAKE_TIMEOUT_MS / 1000

    def assert_broker_serves_others(self):
        connection = self.connect()
        channel = connection.channel()
        queue = channel.queue_declare('', exclusive=True).method.queue
        channel.basic_publish('', queue, b'ping')
        self.assertEqual(channel.basic_get(queue, auto_ack=True)[2], b'ping')

    def test_wrong_protocol_header(self):
        for header in [b'AMQP\x01\x01\x00\x0a',  # AMQP 0-10
                       b'AMQP\x00\x01\x00\x00',  # AMQP 1.0
                       b'AMQP\x00\x00\x09\x02',  # a 0-9-2 that does not exist
                       b'GET / HTTP/1.1\r\n\r\n']:
            with self.subTest(header=header):
                client = self.raw()
                client.send(header)
                self.assertEqual(client.read_until_closed(), PROTOCOL_HEADER)
        self.assert_broker_serves_others()

    def test_handshake_succeeds(self):
        client = self.raw().handshake()
        self.assertGreaterEqual(client.tune.frame_max, 4096)
        client.send_method(0, pika.spec.Connection.Close(
            reply_code=200, reply_text='bye', class_id=0, method_id=0))
        client.read_method(pika.spec.Connection.CloseOk)

    def assert_dropped_after_handshake_timeout(self, client, started):
        timeout_s = self.handshake_timeout_s()
        client.read_until_closed(timeout_s + 5)
        elapsed = time.monotonic() - started
        # The deadline counts from the accept, which is after `started`: never early.
        self.assertGreaterEqual(elapsed, timeout_s * 0.98)

    def test_stalled_handshake_is_dropped(self):
        # Silent after connecting.
        started = time.monotonic()
        client = self.raw()
        self.assert_dropped_after_handshake_timeout(client, started)
        # Silent after the protocol header.
        started = time.monotonic()
        client = self.raw()
        client.send(PROTOCOL_HEADER)
        client.read_method(pika.spec.Connection.Start)
        self.assert_dropped_after_handshake_timeout(client, started)
        self.assert_broker_serves_others()

    def test_handshake_deadline_counts_from_the_accept_even_on_a_sleeping_shard(self):
        # An idle shard sleeps up to a quarter second between timer ticks. Connections that
        # arrive at every point of that sleep must each get the whole handshake timeout.
        time.sleep(0.5)
        clients = []
        for _ in range(12):
            clients.append((time.monotonic(), self.raw()))
            time.sleep(0.025)
        for started, client in clients:
            self.assert_dropped_after_handshake_timeout(client, started)
        self.assert_broker_serves_others()

    def test_garbage_after_handshake_closes_only_that_connection(self):
        bystander = self.connect()
        bystander_channel = bystander.channel()
        queue = bystander_channel.queue_declare('', exclusive=True).method.queue
        client = self.raw().handshake()
        client.send(b'\xde\xad\xbe\xef' * 64)
        close = client.expect_connection_close(501)
        self.assertTrue(close.reply_text.startswith('FRAME_ERROR'), close.reply_text)
        bystander_channel.basic_publish('', queue, b'unharmed')
        self.assertEqual(bystander_channel.basic_get(queue, auto_ack=True)[2], b'unharmed')
        self.assert_broker_serves_others()

    def test_bad_frame_end_is_a_frame_error(self):
        client = self.raw().handshake()
        frame = bytearray(pika.frame.Method(1, pika.spec.Channel.Open()).marshal())
        self.assertEqual(frame[-1], FRAME_END)
        frame[-1] = 0x00
        client.send(bytes(frame))
        close = client.expect_connection_close(501)
        self.assertTrue(close.reply_text.startswith('FRAME_ERROR'), close.reply_text)
        self.assert_broker_serves_others()

    def test_frame_larger_than_frame_max_is_a_frame_error(self):
        client = self.raw().handshake()
        # Well past the limit: RabbitMQ lets a frame a few bytes over frame_max through.
        size = 2 * client.tune.frame_max
        payload = struct.pack('>HH', 60, 40) + b'\x00' * (size - 4)  # a basic.publish
        client.send(struct.pack('>BHI', 1, 1, size) + payload + bytes([FRAME_END]))
        close = client.expect_connection_close(501)
        self.assertTrue(close.reply_text.startswith('FRAME_ERROR'), close.reply_text)
        self.assert_broker_serves_others()

    def test_method_on_unopened_channel_is_a_channel_error(self):
        client = self.raw().handshake()
        client.send_method(5, pika.spec.Queue.Declare(queue='', exclusive=True))
        close = client.expect_connection_close(504)
        self.assertEqual(close.reply_text, "CHANNEL_ERROR - expected 'channel.open'")

    def test_second_channel_open_is_a_channel_error(self):
        client = self.raw().handshake()
        client.send_method(1, pika.spec.Channel.Open())
        client.read_method(pika.spec.Channel.OpenOk)
        client.send_method(1, pika.spec.Channel.Open())
        close = client.expect_connection_close(504)
        self.assertEqual(close.reply_text, "CHANNEL_ERROR - second 'channel.open' seen")

    def test_missed_heartbeats_drop_the_connection(self):
        client = self.raw().handshake(heartbeat=1)
        started = time.monotonic()
        # The broker sends heartbeats and, hearing nothing back, drops the connection after
        # about two intervals.
        heartbeats = 0
        while True:
            frame = client.read_frame(timeout_s=10)
            if frame is None:
                break
            heartbeats += isinstance(frame, pika.frame.Heartbeat)
        elapsed = time.monotonic() - started
        self.assertGreaterEqual(heartbeats, 1)
        self.assertGreaterEqual(elapsed, 1.0)
        self.assertLess(elapsed, 8.0)

    def test_sigterm_closes_clients_with_connection_forced(self):
        self.skip_if_external('it stops the broker')
        broker = Broker().start()
        stopped = False
        try:
            connection = broker.connect()
            channel = connection.channel()
            channel.queue_declare('', exclusive=True)
            broker.process.send_signal(signal.SIGTERM)
            with self.assertRaises(ConnectionClosedByBroker) as caught:
                deadline = time.monotonic() + harness.STOP_TIMEOUT_S
                while time.monotonic() < deadline:
                    connection.process_data_events(time_limit=0.1)
            self.assertEqual(caught.exception.reply_code, 320)
            self.assertEqual(caught.exception.reply_text,
                             "CONNECTION_FORCED - broker forced connection closure with "
                             "reason 'shutdown'")
            code = broker.process.wait(timeout=harness.STOP_TIMEOUT_S)
            stopped = True
            self.assertEqual(code, 0, broker.stderr_text())
        finally:
            if not stopped:
                broker.stop()


# RabbitMQ 3.10 closes a connection whose handshake breaks the rules after this delay, without a
# connection.close, and logs why.
SILENT_CLOSE_DELAY_S = 3.0


class HandshakeRulesTest(BrokerTestCase):
    """Handshake methods out of turn and tune-ok values outside the server's limits, answered as
    RabbitMQ 3.10 answers them (each case checked against it)."""

    def started(self):
        client = RawClient(self.broker)
        self.addCleanup(client.close)
        client.send(PROTOCOL_HEADER)
        client.read_method(pika.spec.Connection.Start)
        return client

    def tuning(self):
        client = self.started()
        client.send_method(0, pika.spec.Connection.StartOk(
            client_properties={}, mechanism='PLAIN', response='\0guest\0guest',
            locale='en_US'))
        client.read_method(pika.spec.Connection.Tune)
        return client

    def assert_dropped_silently(self, clients):
        """Every client's socket closes after about SILENT_CLOSE_DELAY_S, with nothing sent."""
        started = time.monotonic()
        for client in clients:
            self.assertEqual(client.read_until_closed(timeout_s=10), b'')
        self.assertGreater(time.monotonic() - started, SILENT_CLOSE_DELAY_S - 0.5)

    def test_tune_ok_outside_the_limits_is_refused(self):
        cases = [  # channel_max, frame_max, RabbitMQ's log text
            (0, 131072, 'negotiated channel_max = 0 (no limit) is higher than the maximum '
                        'allowed value (2047)'),
            (2047, 0, 'negotiated frame_max = 0 is higher than the maximum allowed value '
                      '(131072)'),
            (3000, 131072, 'negotiated channel_max = 3000 is higher than the maximum allowed '
                           'value (2047)'),
            (2047, 200000, 'negotiated frame_max = 200000 is higher than the maximum allowed '
                           'value (131072)'),
            (2047, 1000, 'negotiated frame_max = 1000 is lower than the minimum allowed value '
                         '(4096)'),
        ]
        clients = []
        for channel_max, frame_max, _ in cases:
            client = self.tuning()
            client.send_method(0, pika.spec.Connection.TuneOk(
                channel_max=channel_max, frame_max=frame_max, heartbeat=0))
            client.send_method(0, pika.spec.Connection.Open(virtual_host='/'))
            clients.append(client)
        self.assert_dropped_silently(clients)
        if not self.broker.external:
            log = self.broker.stderr_text()
            for _, _, text in cases:
                self.assertIn('failed to negotiate connection parameters: ' + text, log)

    def test_handshake_methods_out_of_turn_drop_the_connection(self):
        open_early = self.tuning()
        open_early.send_method(0, pika.spec.Connection.Open(virtual_host='/'))
        tune_ok_early = self.started()
        tune_ok_early.send_method(0, pika.spec.Connection.TuneOk(
            channel_max=2047, frame_max=131072, heartbeat=0))
        start_ok_twice = self.tuning()
        start_ok_twice.send_method(0, pika.spec.Connection.StartOk(
            client_properties={}, mechanism='PLAIN', response='\0guest\0guest',
            locale='en_US'))
        self.assert_dropped_silently([open_early, tune_ok_early, start_ok_twice])
        if not self.broker.external:
            log = self.broker.stderr_text()
            self.assertIn('unexpected method in connection state tuning (connection.open)', log)
            self.assertIn('unexpected method in connection state starting '
                          '(connection.tune-ok)', log)

    def test_connection_open_when_open_is_a_channel_error(self):
        client = RawClient(self.broker).handshake()
        self.addCleanup(client.close)
        client.send_method(0, pika.spec.Connection.Open(virtual_host='/'))
        close = client.expect_connection_close(504)
        self.assertEqual(close.reply_text,
                         'CHANNEL_ERROR - unexpected method in connection state running')
        self.assertEqual((close.class_id, close.method_id), (10, 40))

    def test_nan_in_arguments_closes_the_connection(self):
        # RabbitMQ 3.10 cannot decode a NaN and drops the connection; lepusd closes it with 502.
        client = RawClient(self.broker).handshake()
        self.addCleanup(client.close)
        client.send_method(1, pika.spec.Channel.Open())
        client.read_method(pika.spec.Channel.OpenOk)
        nan = b'\x05x-foo' + b'd' + struct.pack('>d', float('nan'))
        declare = struct.pack('>HH', 50, 10) + struct.pack('>H', 0) + b'\x03nan' + b'\x00' + \
            struct.pack('>I', len(nan)) + nan
        client.send(struct.pack('>BHI', 1, 1, len(declare)) + declare + b'\xce')
        if self.broker.external:
            client.read_until_closed()
            return
        close = client.expect_connection_close(502)
        self.assertEqual(close.reply_text, 'SYNTAX_ERROR - malformed queue.declare')


if __name__ == '__main__':
    harness.main()
