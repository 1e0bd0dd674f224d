#!/usr/bin/python3
"""Queue and exchange arguments as RabbitMQ 3.10 implements them, seen through pika 1.2:
argument validation, message TTL (per queue and per message), dead lettering with its x-death
header, length limits, priorities, single active consumer, alternate exchanges and queue expiry.
Every assertion here holds against RabbitMQ 3.10 (run with AMQP_URL_OVERRIDE, see harness.py),
except the refusal of x-overflow reject-publish, which RabbitMQ supports and Lepus does not.
"""

import datetime
import time

import pika
from pika.exceptions import ChannelClosedByBroker

import harness
from harness import BrokerTestCase, drain, settle


class ArgumentsTest(BrokerTestCase):

    def dead_letter_pair(self, channel, stem, **work_arguments):
        """A fanout dead-letter exchange with a queue behind it, and a work queue using it."""
        dlx = self.exchange(channel, stem + '-dlx', 'fanout')
        dead = self.queue(channel, stem + '-dead')
        channel.queue_bind(dead, dlx)
        work = self.queue(channel, stem, arguments={'x-dead-letter-exchange': dlx,
                                                    **work_arguments})
        return dlx, dead, work

    def get_eventually(self, channel, name, timeout_s=5.0):
        """basic.get, retried while the queue is empty: dead letters arrive a moment after the
        event that made them."""
        deadline = time.monotonic() + timeout_s
        while True:
            method, properties, body = channel.basic_get(name, auto_ack=True)
            if method is not None:
                return method, properties, body
            self.assertLess(time.monotonic(), deadline, f"{name} stayed empty")
            time.sleep(0.05)

    def get_all(self, channel, name):
        bodies = []
        while True:
            method, _, body = channel.basic_get(name, auto_ack=True)
            if method is None:
                return bodies
            bodies.append(body)

    def assert_declare_refused(self, arguments, text):
        channel = self.channel()
        name = self.unique('invalid')
        self.delete_queues_after(name)
        with self.assertRaises(ChannelClosedByBroker) as caught:
            channel.queue_declare(name, arguments=arguments)
        self.assertEqual(caught.exception.reply_code, 406)
        self.assertEqual(caught.exception.reply_text,
                         f"PRECONDITION_FAILED - invalid arg {text}".replace('QUEUE', name))

    def assert_recent(self, timestamp):
        self.assertIsInstance(timestamp, datetime.datetime)
        now = datetime.datetime.utcnow()
        self.assertLess(abs((now - timestamp).total_seconds()), 120, timestamp)

    # ---- validation ----

    def test_invalid_arguments_are_refused(self):
        cases = [
            ({'x-message-ttl': -1},
             "'x-message-ttl' for queue 'QUEUE' in vhost '/': {value_negative,-1}"),
            ({'x-message-ttl': 'soon'},
             "'x-message-ttl' for queue 'QUEUE' in vhost '/': \"expected integer, got longstr\""),
            ({'x-expires': 0}, "'x-expires' for queue 'QUEUE' in vhost '/': {value_zero,0}"),
            ({'x-max-length': -1},
             "'x-max-length' for queue 'QUEUE' in vhost '/': {value_negative,-1}"),
            ({'x-max-priority': 256},
             "'x-max-priority' for queue 'QUEUE' in vhost '/': {max_value_exceeded,256}"),
            ({'x-overflow': 'sideways'},
             "'x-overflow' for queue 'QUEUE' in vhost '/': invalid_overflow"),
            ({'x-dead-letter-routing-key': 'k'},
             "'x-dead-letter-routing-key' for queue 'QUEUE' in vhost '/': "
             "routing_key_but_no_dlx_defined"),
            ({'x-single-active-consumer': 'yes'},
             "'x-single-active-consumer' for queue 'QUEUE' in vhost '/': "
             "{unacceptable_type,longstr}"),
            ({'x-queue-type': 'foo'},
             "'x-queue-type' for queue 'QUEUE' in vhost '/': \"unsupported queue type 'foo'\""),
        ]
        for arguments, text in cases:
            with self.subTest(arguments=arguments):
                self.assert_declare_refused(arguments, text)
        channel = self.channel()
        name = self.unique('dlx-type')
        self.delete_queues_after(name)
        with self.assertRaises(ChannelClosedByBroker) as caught:
            channel.queue_declare(name, arguments={'x-dead-letter-exchange': 5})
        self.assertEqual(caught.exception.reply_text,
                         f"PRECONDITION_FAILED - invalid type 'signedint' for arg "
                         f"'x-dead-letter-exchange' in queue '{name}' in vhost '/'")
        # Unknown arguments are ignored.
        self.queue(self.channel(), 'unknown', arguments={'x-whatever': [1, 2]})

    def test_unsupported_overflow_modes_are_refused(self):
        if self.broker.external:
            self.skipTest("RabbitMQ supports reject-publish")
        for mode in ['reject-publish', 'reject-publish-dlx']:
            with self.subTest(mode=mode):
                self.assert_declare_refused(
                    {'x-overflow': mode, 'x-max-length': 1},
                    f"'x-overflow' for queue 'QUEUE' in vhost '/': "
                    f"\"overflow mode '{mode}' is not supported, only 'drop-head'\"")

    # ---- message TTL ----

    def test_queue_message_ttl(self):
        channel = self.channel()
        name = self.queue(channel, 'ttl', arguments={'x-message-ttl': 300})
        channel.basic_publish('', name, b'first')
        self.assertEqual(self.get_all(channel, name), [b'first'])
        channel.basic_publish('', name, b'second')
        channel.basic_publish('', name, b'third')
        self.assert_message_count(name, 2)
        time.sleep(0.6)
        self.assertEqual(self.message_count(name), 0)
        self.assertEqual(channel.basic_get(name), (None, None, None))

    def test_per_message_expiration(self):
        channel = self.channel()
        name = self.queue(channel, 'expiration')
        channel.basic_publish('', name, b'short', pika.BasicProperties(expiration='200'))
        channel.basic_publish('', name, b'kept')
        channel.basic_publish('', name, b'zero', pika.BasicProperties(expiration='0'))
        time.sleep(0.5)
        # The expired head is gone; a TTL-0 message nobody could take at once never stayed.
        self.assertEqual(self.get_all(channel, name), [b'kept'])

    def test_ttl_zero_reaches_a_waiting_consumer(self):
        connection = self.connect()
        channel = connection.channel()
        name = self.queue(channel, 'ttl-zero', arguments={'x-message-ttl': 0})
        received = []
        channel.basic_consume(name, lambda ch, m, p, body: received.append(body),
                              auto_ack=True)
        channel.basic_publish('', name, b'now or never')
        drain(connection, lambda: received)
        self.assertEqual(received, [b'now or never'])

    def test_requeued_message_keeps_its_expiry(self):
        channel = self.channel()
        name = self.queue(channel, 'ttl-requeue', arguments={'x-message-ttl': 400})
        channel.basic_publish('', name, b'm')
        method, _, _ = self.get_eventually_no_ack(channel, name)
        time.sleep(0.6)
        channel.basic_reject(method.delivery_tag, requeue=True)
        time.sleep(0.1)
        self.assertEqual(channel.basic_get(name), (None, None, None))

    def get_eventually_no_ack(self, channel, name, timeout_s=5.0):
        deadline = time.monotonic() + timeout_s
        while True:
            result = channel.basic_get(name)
            if result[0] is not None:
                return result
            self.assertLess(time.monotonic(), deadline, f"{name} stayed empty")
            time.sleep(0.05)

    # ---- dead lettering ----

    def test_dead_letter_on_reject_and_count(self):
        channel = self.channel()
        dlx, dead, work = self.dead_letter_pair(channel, 'reject')
        # The dead queue sends rejected messages back to the work queue.
        back = self.queue(channel, 'reject-back',
                          arguments={'x-dead-letter-exchange': '',
                                     'x-dead-letter-routing-key': work})
        channel.queue_unbind(dead, dlx)
        channel.queue_bind(back, dlx)
        channel.basic_publish('', work, b'body', pika.BasicProperties(
            headers={'app': 'kept'}, content_type='text/plain'))
        method, _, _ = self.get_eventually_no_ack(channel, work)
        channel.basic_reject(method.delivery_tag, requeue=False)
        method, properties, body = self.get_eventually_no_ack(channel, back)
        self.assertEqual((method.exchange, method.routing_key, body), (dlx, work, b'body'))
        self.assertEqual(properties.content_type, 'text/plain')
        headers = properties.headers
        self.assertEqual(headers['app'], 'kept')
        self.assertEqual(headers['x-first-death-reason'], 'rejected')
        self.assertEqual(headers['x-first-death-queue'], work)
        self.assertEqual(headers['x-first-death-exchange'], '')
        [death] = headers['x-death']
        self.assertEqual({k: v for k, v in death.items() if k != 'time'},
                         {'count': 1, 'reason': 'rejected', 'queue': work, 'exchange': '',
                          'routing-keys': [work]})
        self.assert_recent(death['time'])

        # Rejected again from `back`, then from `work` a second time.
        channel.basic_nack(method.delivery_tag, requeue=False)
        method, _, _ = self.get_eventually_no_ack(channel, work)
        channel.basic_reject(method.delivery_tag, requeue=False)
        method, properties, _ = self.get_eventually_no_ack(channel, back)
        channel.basic_ack(method.delivery_tag)
        deaths = properties.headers['x-death']
        self.assertEqual([(d['queue'], d['reason'], d['count']) for d in deaths],
                         [(work, 'rejected', 2), (back, 'rejected', 1)])
        self.assertEqual(properties.headers['x-first-death-queue'], work)

    def test_dead_letter_on_expiry(self):
        channel = self.channel()
        dlx, dead, work = self.dead_letter_pair(channel, 'expire',
                                                **{'x-message-ttl': 5000})
        channel.queue_bind(work, 'amq.direct', 'expire-key')  # deleted with the queue
        channel.basic_publish('amq.direct', 'expire-key', b'late',
                              pika.BasicProperties(expiration='100', priority=3))
        method, properties, body = self.get_eventually(channel, dead)
        self.assertEqual((method.exchange, method.routing_key, body),
                         (dlx, 'expire-key', b'late'))
        self.assertIsNone(properties.expiration, "the expiration is removed")
        self.assertEqual(properties.priority, 3)
        [death] = properties.headers['x-death']
        self.assertEqual({k: v for k, v in death.items() if k != 'time'},
                         {'count': 1, 'reason': 'expired', 'queue': work,
                          'exchange': 'amq.direct', 'routing-keys': ['expire-key'],
                          'original-expiration': '100'})
        self.assertEqual(properties.headers['x-first-death-exchange'], 'amq.direct')

    def test_expiry_cycle_is_dropped(self):
        channel = self.channel()
        name = self.unique('cycle')
        self.delete_queues_after(name)
        channel.queue_declare(name, arguments={'x-message-ttl': 100,
                                               'x-dead-letter-exchange': ''})
        channel.basic_publish('', name, b'round and round')
        time.sleep(0.6)
        self.assertEqual(self.message_count(name), 0)

    # ---- length limits ----

    def test_max_length_drops_the_head(self):
        channel = self.channel()
        dlx, dead, work = self.dead_letter_pair(channel, 'maxlen', **{'x-max-length': 2})
        for i in range(5):
            channel.basic_publish('', work, f'm{i}'.encode())
        self.assert_message_count(dead, 3)
        self.assertEqual(self.get_all(channel, work), [b'm3', b'm4'])
        reasons = []
        for expected in [b'm0', b'm1', b'm2']:
            _, properties, body = self.get_eventually(channel, dead)
            self.assertEqual(body, expected)
            reasons.append(properties.headers['x-death'][0]['reason'])
        self.assertEqual(reasons, ['maxlen'] * 3)

    def test_max_length_bytes(self):
        channel = self.channel()
        name = self.queue(channel, 'maxbytes', arguments={'x-max-length-bytes': 10})
        for body in [b'aaaa', b'bbbb', b'cccc']:
            channel.basic_publish('', name, body)
        self.assert_message_count(name, 2)
        self.assertEqual(self.get_all(channel, name), [b'bbbb', b'cccc'])

    # ---- priorities and consumers ----

    def test_priority_order(self):
        channel = self.channel()
        name = self.queue(channel, 'priority', arguments={'x-max-priority': 5})
        for body, priority in [(b'p1', 1), (b'p9', 9), (b'none', None), (b'p5', 5), (b'p3', 3)]:
            channel.basic_publish('', name, body, pika.BasicProperties(priority=priority))
        self.assert_message_count(name, 5)
        self.assertEqual(self.get_all(channel, name), [b'p9', b'p5', b'p3', b'p1', b'none'])

    def test_single_active_consumer(self):
        connection = self.connect()
        first = connection.channel()
        second = connection.channel()
        name = self.queue(first, 'sac', arguments={'x-single-active-consumer': True})
        received = []
        tag = first.basic_consume(name, lambda ch, m, p, body: received.append(('first', body)),
                                  auto_ack=True)
        second.basic_consume(name, lambda ch, m, p, body: received.append(('second', body)),
                             auto_ack=True)
        for i in range(4):
            first.basic_publish('', name, f'a{i}'.encode())
        drain(connection, lambda: len(received) >= 4)
        settle(connection)
        self.assertEqual([who for who, _ in received], ['first'] * 4)
        first.basic_cancel(tag)
        for i in range(3):
            second.basic_publish('', name, f'b{i}'.encode())
        drain(connection, lambda: len(received) >= 7)
        self.assertEqual(received[4:], [('second', b'b0'), ('second', b'b1'), ('second', b'b2')])

    # ---- exchanges ----

    def test_alternate_exchange(self):
        channel = self.channel()
        alternate = self.exchange(channel, 'ae', 'fanout')
        unrouted = self.queue(channel, 'ae-unrouted')
        channel.queue_bind(unrouted, alternate)
        main = self.exchange(channel, 'main', 'direct',
                             arguments={'alternate-exchange': alternate})
        routed = self.queue(channel, 'ae-routed')
        channel.queue_bind(routed, main, 'known')
        channel.confirm_delivery()
        # Mandatory, yet nothing comes back: the alternate exchange routed it.
        channel.basic_publish(main, 'unknown', b'to the alternate', mandatory=True)
        channel.basic_publish(main, 'known', b'routed', mandatory=True)
        self.assertEqual(self.get_eventually(channel, unrouted)[2], b'to the alternate')
        self.assertEqual(self.get_eventually(channel, routed)[2], b'routed')
        with self.assertRaises(ChannelClosedByBroker) as caught:
            channel.exchange_declare(self.unique('bad-ae'), 'direct',
                                     arguments={'alternate-exchange': 5})
        self.assertEqual(caught.exception.reply_code, 406)

    # ---- queue expiry ----

    def test_unused_queue_expires(self):
        channel = self.channel()
        name = self.queue(channel, 'expires', arguments={'x-expires': 300})
        kept = self.queue(channel, 'expires-consumed', arguments={'x-expires': 300})
        channel.basic_publish('', name, b'messages do not keep it')
        channel.basic_consume(kept, lambda *args: None)
        # Even a passive declare renews the lease, so look only once it is surely over.
        time.sleep(0.9)
        probe = self.channel()
        with self.assertRaises(ChannelClosedByBroker) as caught:
            probe.queue_declare(name, passive=True)
        self.assertEqual((caught.exception.reply_code, caught.exception.reply_text),
                         (404, f"NOT_FOUND - no queue '{name}' in vhost '/'"))
        self.assertEqual(self.message_count(kept), 0, "a consumed queue stays")


if __name__ == '__main__':
    harness.main()
