#!/usr/bin/python3
"""Whatever a peer sends, the broker stays up and every other client keeps working: seeded
random mutations of valid AMQP conversations, truncated and oversized frames, and garbage,
each on its own connection, then a normal client checks the broker still serves."""

import concurrent.futures
import random
import socket
import struct
import time

import harness
from harness import BrokerTestCase

PROTOCOL_HEADER = b'AMQP\x00\x00\x09\x01'


def frame(frame_type, channel, payload):
    return struct.pack('>BHI', frame_type, channel, len(payload)) + payload + b'\xce'


def shortstr(s):
    return bytes([len(s)]) + s


def longstr(s):
    return struct.pack('>I', len(s)) + s


def method(channel, class_id, method_id, arguments):
    return frame(1, channel, struct.pack('>HH', class_id, method_id) + arguments)


def handshake(user=b'guest'):
    return [
        PROTOCOL_HEADER,
        method(0, 10, 11, struct.pack('>I', 0) + shortstr(b'PLAIN') +
               longstr(b'\x00' + user + b'\x00guest') + shortstr(b'en_US')),
        method(0, 10, 31, struct.pack('>HIH', 0, 131072, 0)),
        method(0, 10, 40, shortstr(b'/') + shortstr(b'') + b'\x00'),
    ]


def conversation(queue):
    """A valid conversation after the handshake: open, declare, publish, consume, ack."""
    body = b'hello robustness'
    return [
        method(1, 20, 10, shortstr(b'')),
        method(1, 50, 10, struct.pack('>H', 0) + shortstr(queue) + b'\x00' + longstr(b'')),
        method(1, 60, 40, struct.pack('>H', 0) + shortstr(b'') + shortstr(queue) + b'\x00'),
        frame(2, 1, struct.pack('>HHQH', 60, 0, len(body), 0x9000) + shortstr(b'text/plain') +
              longstr(b'')),
        frame(3, 1, body),
        method(1, 60, 20, struct.pack('>H', 0) + shortstr(queue) + shortstr(b'tag') + b'\x00' +
               longstr(b'')),
        method(1, 60, 80, struct.pack('>QB', 1, 0)),
        method(1, 60, 80, struct.pack('>QB', 1, 0)),  # a double ack: 406
        method(1, 20, 40, struct.pack('>H', 200) + shortstr(b'bye') + struct.pack('>HH', 0, 0)),
        method(0, 10, 50, struct.pack('>H', 200) + shortstr(b'bye') + struct.pack('>HH', 0, 0)),
    ]


def mutate(data, rng):
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not data:
            break
        choice = rng.random()
        position = rng.randrange(len(data))
        if choice < 0.5:
            data[position] = rng.randrange(256)
        elif choice < 0.7:
            del data[position:position + rng.randint(1, 8)]
        elif choice < 0.9:
            data[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        else:
            data = data[:position]
    return bytes(data)


class RobustnessTest(BrokerTestCase):

    def send_and_drain(self, chunks):
        with socket.create_connection((self.broker.host, self.broker.port), timeout=5) as s:
            try:
                for chunk in chunks:
                    s.sendall(chunk)
                s.shutdown(socket.SHUT_WR)
                while s.recv(65536):
                    pass
            except OSError:
                pass  # the broker may hang up on us, which is fine

    def assert_broker_serves(self):
        channel = self.channel()
        name = self.unique('robust-check')
        self.delete_queues_after(name)
        channel.queue_declare(name)
        channel.basic_publish('', name, b'still here')
        _, _, body = channel.basic_get(name, auto_ack=True)
        self.assertEqual(body, b'still here')

    def test_valid_conversation_is_served(self):
        self.delete_queues_after('robust-valid')
        self.send_and_drain(handshake() + conversation(b'robust-valid'))
        self.assert_broker_serves()

    def test_mutated_conversations(self):
        rng = random.Random(20261121)
        conversations = []
        for i in range(150):
            chunks = handshake() + conversation(f'robust-{i % 5}'.encode())
            target = rng.randrange(len(chunks))
            chunks[target] = mutate(chunks[target], rng)
            conversations.append(chunks)
        # Side by side: a broken handshake is dropped only after RabbitMQ's 3 s delay.
        with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
            list(pool.map(self.send_and_drain, conversations))
        self.assert_broker_serves()

    def test_garbage_and_extreme_frames(self):
        rng = random.Random(7)
        cases = [
            bytes(rng.randrange(256) for _ in range(4096)),
            PROTOCOL_HEADER + bytes(rng.randrange(256) for _ in range(4096)),
            b''.join(handshake()) + struct.pack('>BHI', 1, 1, 0xFFFFFFFF),
            b''.join(handshake()) + struct.pack('>BHI', 3, 5, 10) + b'x' * 10 + b'\xce',
            b''.join(handshake()) + frame(8, 3, b''),
            b''.join(handshake()) + frame(1, 0, b'\x00'),
            b''.join(handshake()) + method(1, 20, 10, b'') + frame(2, 1, b'\x00\x3c'),
            b''.join(handshake()) + method(1, 20, 10, b'') + method(1, 99, 99, b''),
            b''.join(handshake()) + method(1, 20, 10, b'') +
            method(1, 50, 10, struct.pack('>H', 0) + b'\xff' + b'q'),
            b''.join(handshake()[:2]),   # stops half-way through the handshake
            PROTOCOL_HEADER[:5],
        ]
        for case in cases:
            # Split at random points too, so frames arrive in pieces.
            pieces = []
            data = case
            while data:
                cut = rng.randint(1, max(1, len(data)))
                pieces.append(data[:cut])
                data = data[cut:]
            self.send_and_drain(pieces)
        self.assert_broker_serves()

    def test_user_name_cannot_forge_a_log_line(self):
        """A PLAIN user name holding a newline and a whole log line: lepusd logs the refused
        login on one line with the newline escaped, so no line of its log is the forgery."""
        self.skip_if_external("reads lepusd's log")
        forged = '2026-01-01T00:00:00.000Z [error] forged: all queues deleted'
        self.send_and_drain(handshake(b'intruder\n' + forged.encode() + b'\r\n')[:2])
        deadline = time.monotonic() + 5
        while 'intruder' not in self.broker.stderr_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        lines = self.broker.stderr_text().splitlines()
        escaped = f"'intruder\\n{forged}\\r\\n'"
        mentions = [line for line in lines if 'intruder' in line]
        self.assertTrue(mentions)
        for line in mentions:  # the refused login, then the connection's close
            self.assertIn(escaped, line)
        forgeries = [line for line in lines if line.startswith(forged[:24])]
        self.assertEqual(forgeries, [])
        self.assert_broker_serves()


if __name__ == '__main__':
    harness.main()
