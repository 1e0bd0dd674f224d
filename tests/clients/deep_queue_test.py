"""Deep queues: past its memory budget a durable queue keeps persistent messages on disk only
(an index in memory) and reads them back as they near the head, in order and intact, for
basic.get and for consumers alike. lepusd runs with a 4 MiB budget so a modest backlog
exceeds it many times over."""
import time
import unittest

import pika

import harness

BODY_SIZE = 2048
COUNT = 24000  # 47 MiB of bodies: twelve times the budget


def body(i):
    head = f"{i:08d}:".encode()
    return head + bytes((i + k) % 251 for k in range(BODY_SIZE - len(head)))


class DeepQueueTest(unittest.TestCase):
    def setUp(self):
        self.broker = harness.own_broker(self, "needs lepusd's --queue-memory-mb",
                                         ["--queue-memory-mb", "4"])

    def test_backlog_beyond_the_budget_is_paged_and_read_back_in_order(self):
        connection = self.broker.connect()
        channel = connection.channel()
        channel.queue_declare("deep", durable=True)
        properties = pika.BasicProperties(delivery_mode=2)
        for i in range(COUNT):
            channel.basic_publish("", "deep", body(i), properties)
        declared = channel.queue_declare("deep", durable=True)  # a round trip: all routed
        self.assertEqual(declared.method.message_count, COUNT)
        time.sleep(0.3)  # written, so the paged bodies are readable
        rss_mib = harness.resident_kib(self.broker.process.pid) / 1024
        data_mib = COUNT * BODY_SIZE / (1 << 20)
        # Only the budget's worth of bodies stays resident (with the receive-buffer pages they
        # sit in); held in memory, the backlog alone would be more than the data's size.
        if not harness.sanitized():
            self.assertLess(rss_mib, data_mib,
                            f"lepusd holds {rss_mib:.0f} MiB for {data_mib:.0f} MiB of messages")

        # basic.get walks past the resident head into paged messages.
        for i in range(3000):
            method, _properties, got = channel.basic_get("deep", auto_ack=True)
            self.assertIsNotNone(method)
            self.assertEqual(got, body(i))
        # A consumer takes the rest, each read back from the journal in turn.
        channel.basic_qos(prefetch_count=500)
        expected = 3000
        for method, _properties, got in channel.consume("deep", inactivity_timeout=5):
            if method is None:
                break
            self.assertEqual(got, body(expected), f"message {expected}")
            expected += 1
            channel.basic_ack(method.delivery_tag, multiple=False)
            if expected == COUNT:
                break
        self.assertEqual(expected, COUNT)
        channel.cancel()
        connection.close()

        # Everything was acknowledged: nothing comes back after a restart.
        self.broker.restart()
        connection = self.broker.connect()
        channel = connection.channel()
        self.assertEqual(channel.queue_declare("deep", durable=True).method.message_count, 0)
        connection.close()

    def test_a_deep_backlog_survives_a_crash(self):
        connection = self.broker.connect()
        channel = connection.channel()
        channel.queue_declare("deep", durable=True)
        channel.confirm_delivery()
        properties = pika.BasicProperties(delivery_mode=2)
        count = 6000  # 12 MiB: three times the budget
        for i in range(count):
            channel.basic_publish("", "deep", body(i), properties)
        connection.close()
        self.broker.restart(graceful=False)
        connection = self.broker.connect()
        channel = connection.channel()
        for i in range(count):
            method, _properties, got = channel.basic_get("deep", auto_ack=True)
            self.assertIsNotNone(method, f"message {i} missing")
            self.assertEqual(got, body(i))
            self.assertTrue(method.redelivered)
        self.assertIsNone(channel.basic_get("deep", auto_ack=True)[0])
        connection.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
