"""Resident memory follows the messages held, not the way they arrived: a backlog of small
messages published one at a time costs about its own size, not a receive buffer's pages per
message."""
import unittest

import harness

COUNT = 20000
BODY = b"m" * 100


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


if __name__ == "__main__":
    harness.main()
