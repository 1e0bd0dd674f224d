"""The memory alarm, as RabbitMQ's: past the high watermark, a connection that publishes is
blocked (pika hears connection.blocked, reason "low on memory") while consumers go on; once
they have drained enough, the publisher hears connection.unblocked and goes on. Nothing is
lost on the way."""
import time
import unittest

import harness

BODY = b"a" * 8192
HEADROOM_MIB = 48  # the watermark sits this far above lepusd's resident memory at rest
BATCH = 100


def rss_mib(pid):
    return harness.resident_kib(pid) // 1024


class MemoryAlarmTest(unittest.TestCase):
    def setUp(self):
        if harness.sanitized():
            self.skipTest("the sanitizers' quarantine keeps freed memory resident")
        # The watermark is relative to lepusd's own footprint on this machine, so it is
        # measured first.
        why = "sets lepusd's memory limit"
        probe = harness.own_broker(self, why)
        at_rest = rss_mib(probe.process.pid)
        probe.stop()
        self.limit_mib = at_rest + HEADROOM_MIB
        self.broker = harness.own_broker(self, why, ["--memory-limit-mb", str(self.limit_mib)])

    def test_publishers_are_blocked_until_consumers_drain(self):
        events = []
        # Heartbeats every second: a blocked connection must still hear lepusd's, or pika
        # drops it as dead while it waits.
        publisher = self.broker.connect(heartbeat=1)
        publisher.add_on_connection_blocked_callback(
            lambda _connection, frame: events.append(("blocked", frame.method.reason)))
        publisher.add_on_connection_unblocked_callback(
            lambda _connection, _frame: events.append(("unblocked", None)))
        channel = publisher.channel()
        channel.queue_declare("held")

        # Publish until lepusd says the connection is blocked; the queue's backlog is what
        # takes the memory. Without an alarm this would run to the cap and fail.
        published = 0
        cap = (self.limit_mib * 4) * (1 << 20) // len(BODY)
        deadline = time.monotonic() + 30
        while not events and published < cap and time.monotonic() < deadline:
            for _ in range(BATCH):
                channel.basic_publish("", "held", BODY)
            published += BATCH
            publisher.process_data_events(time_limit=0)
        while not events and time.monotonic() < deadline:
            publisher.process_data_events(time_limit=0.1)
        self.assertEqual(events[:1], [("blocked", "low on memory")],
                         f"published {published} messages of {len(BODY)} B, "
                         f"lepusd at {rss_mib(self.broker.process.pid)} MiB, "
                         f"limit {self.limit_mib} MiB")
        self.assertIn("memory alarm set", self.broker.stderr_text())
        # Blocked for longer than two of pika's liveness checks (every heartbeat + 5 s, each
        # wanting some byte from lepusd since the last), the connection stays open.
        publisher.process_data_events(time_limit=13)
        self.assertTrue(publisher.is_open)

        # Consumers are not blocked: a new connection drains the queue.
        consumer = self.broker.connect()
        consumer_channel = consumer.channel()
        consumer_channel.basic_qos(prefetch_count=500)
        received = 0
        for method, _properties, body in consumer_channel.consume("held",
                                                                   inactivity_timeout=3):
            if method is None:
                break
            self.assertEqual(body, BODY)
            received += 1
            consumer_channel.basic_ack(method.delivery_tag, multiple=False)
            if received == published:
                break
        consumer_channel.cancel()

        # Memory falls below the watermark: the publisher is unblocked and publishes again.
        deadline = time.monotonic() + 15
        while ("unblocked", None) not in events and time.monotonic() < deadline:
            publisher.process_data_events(time_limit=0.1)
        self.assertIn(("unblocked", None), events,
                      f"lepusd at {rss_mib(self.broker.process.pid)} MiB, "
                      f"limit {self.limit_mib} MiB")
        self.assertIn("memory alarm cleared", self.broker.stderr_text())
        channel.basic_publish("", "held", b"after")
        declared = channel.queue_declare("held", passive=True)
        # Every message published before the block was received or is still queued.
        self.assertEqual(received + declared.method.message_count, published + 1)
        publisher.close()
        consumer.close()


if __name__ == "__main__":
    harness.main()
