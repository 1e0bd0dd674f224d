"""Resident memory follows what the broker holds: a backlog of small messages published one at
a time costs about its own size, not a receive buffer's pages per message; and what thousands of
channels or queues took goes back to the kernel once they are gone and the broker is idle."""
import time
import unittest

import pika.frame
import pika.spec

import harness
from protocol_test import RawClient

COUNT = 20000
BODY = b"m" * 100

CONNECTIONS = 10
CHANNELS_PER_CONNECTION = 2000
QUEUES = 5000


class MemoryTest(unittest.TestCase):
    def setUp(self):
        if harness.sanitized():
            self.skipTest("the sanitizers' shadow memory hides the broker's own")
        self.broker = harness.own_broker(self, "reads lepusd's resident set")

    def test_small_messages_published_one_by_one_do_not_pin_receive_buffers(self):
        connection = self.broker.connect()
        channel = connection.channel()
        channel.queue_declare("backlog")
        before_kib = harness.resident_kib(self.broker.process.pid)
        # pika writes each publish as it is made, so most arrive in a receive of their own.
        for _ in range(COUNT):
            channel.basic_publish("", "backlog", BODY)
        declared = channel.queue_declare("backlog", passive=True)
        self.assertEqual(declared.method.message_count, COUNT)
        grown_kib = harness.resident_kib(self.broker.process.pid) - before_kib
        # A message costs a few hundred bytes of bookkeeping beside its body. Pinning the
        # receive buffer it arrived in cost about 8 KiB each (160 MiB here).
        self.assertLess(grown_kib, COUNT * 2,
                        f"{COUNT} messages of {len(BODY)} B grew lepusd by {grown_kib} KiB")
        # The backlog is intact.
        got = 0
        while True:
            method, _properties, body = channel.basic_get("backlog", auto_ack=True)
            if method is None:
                break
            self.assertEqual(body, BODY)
            got += 1
        self.assertEqual(got, COUNT)
        connection.close()

    def test_memory_of_closed_channels_goes_back_to_the_kernel(self):
        pid = self.broker.process.pid
        before_kib = harness.resident_kib(pid)
        clients = [RawClient(self.broker).handshake() for _ in range(CONNECTIONS)]
        # Every open in one write, as a hostile client sends them: the receive buffers refilled
        # in the middle of such a burst must not keep the memory of the channels resident.
        opens = b"".join(pika.frame.Method(number, pika.spec.Channel.Open()).marshal()
                         for number in range(1, CHANNELS_PER_CONNECTION + 1))
        for client in clients:
            client.send(opens)
        for client in clients:
            for _ in range(CHANNELS_PER_CONNECTION):
                client.read_method(pika.spec.Channel.OpenOk)
        peak_kib = harness.resident_kib(pid)
        grown_kib = peak_kib - before_kib
        channels = CONNECTIONS * CHANNELS_PER_CONNECTION
        # About 3 KiB a channel: the check below means something only if they cost memory.
        self.assertGreater(grown_kib, channels, f"{channels} channels took {grown_kib} KiB")
        for client in clients:
            client.close()

        self.assert_given_back(before_kib, grown_kib, f"{channels} channels", "they closed")

    def test_memory_of_deleted_queues_goes_back_to_the_kernel(self):
        pid = self.broker.process.pid
        before_kib = harness.resident_kib(pid)
        connection = self.broker.connect()
        channel = connection.channel()
        names = [f"memory-queue-{i}" for i in range(QUEUES)]
        for name in names:
            channel.queue_declare(name)
            channel.basic_publish("", name, BODY)
        self.assertEqual(channel.queue_declare(names[-1], passive=True).method.message_count, 1)
        grown_kib = harness.resident_kib(pid) - before_kib
        # About 12 KiB a queue with its message.
        self.assertGreater(grown_kib, QUEUES, f"{QUEUES} queues took {grown_kib} KiB")
        for name in names:
            channel.queue_delete(name)
        connection.close()
        self.assert_given_back(before_kib, grown_kib, f"{QUEUES} queues", "they were deleted")

    def assert_given_back(self, before_kib, grown_kib, what, after_what):
        # lepusd hands memory back once a shard has been idle for a second.
        pid = self.broker.process.pid
        deadline = time.monotonic() + 5
        while True:
            kept_kib = harness.resident_kib(pid) - before_kib
            if kept_kib < grown_kib * 0.2 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertLess(kept_kib, grown_kib * 0.2,
                        f"{what} grew lepusd by {grown_kib} KiB; {kept_kib} KiB of that was "
                        f"still resident after {after_what}")


if __name__ == "__main__":
    harness.main()
