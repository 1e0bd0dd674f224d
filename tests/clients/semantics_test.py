#!/usr/bin/python3
"""AMQP 0-9-1 semantics as RabbitMQ implements them, seen through pika 1.2: returns, confirms,
basic.get, acknowledgements and requeueing, queue lifetimes, exchange-to-exchange bindings,
headers exchanges, transactions, prefetch, cancel notifications and heartbeats. Every
assertion here holds against RabbitMQ 3.10.
"""

import datetime
import decimal
import time

import pika
from pika.exceptions import ChannelClosedByBroker, UnroutableError

import harness
from harness import BrokerTestCase, drain, settle


class SemanticsTest(BrokerTestCase):

    def get_eventually(self, channel, name, timeout_s=5.0):
        """basic.get, retried while the queue is empty: a message requeued by a channel or
        connection that closed reaches the queue a moment after the close."""
        deadline = time.monotonic() + timeout_s
        while True:
            method, properties, body = channel.basic_get(name)
            if method is not None:
                return method, properties, body
            self.assertLess(time.monotonic(), deadline, f"{name} stayed empty")
            time.sleep(0.05)

    def get_all(self, channel, name, auto_ack=True):
        bodies = []
        while True:
            method, _, body = channel.basic_get(name, auto_ack=auto_ack)
            if method is None:
                return bodies
            bodies.append(body)

    def assert_queue_gone(self, name, timeout_s=5.0):
        """Deletion that follows a cancel or a close may trail the reply by a moment."""
        deadline = time.monotonic() + timeout_s
        while True:
            channel = self.channel()
            try:
                channel.queue_declare(name, passive=True)
            except ChannelClosedByBroker as e:
                self.assertEqual((e.reply_code, e.reply_text),
                                 (404, f"NOT_FOUND - no queue '{name}' in vhost '/'"))
                return
            channel.close()
            if time.monotonic() > deadline:
                self.fail(f"queue {name} still exists")
            time.sleep(0.05)

    def test_mandatory_unroutable_is_returned(self):
        connection = self.connect()
        channel = connection.channel()
        returned = []
        channel.add_on_return_callback(
            lambda ch, method, properties, body: returned.append(
                (method.reply_code, method.reply_text, method.exchange, method.routing_key,
                 properties.content_type, body)))
        channel.basic_publish('amq.direct', 'nobody-home', b'lost', mandatory=True,
                              properties=pika.BasicProperties(content_type='text/plain'))
        channel.basic_publish('', self.unique('no-such-queue'), b'lost too', mandatory=True)
        name = self.queue(channel, 'routable')
        channel.basic_publish('', name, b'kept', mandatory=True)
        channel.basic_publish('amq.direct', 'nobody-home', b'dropped', mandatory=False)
        drain(connection, lambda: len(returned) >= 2)
        settle(connection)
        self.assertEqual(returned[0], (312, 'NO_ROUTE', 'amq.direct', 'nobody-home',
                                       'text/plain', b'lost'))
        self.assertEqual(returned[1][:2], (312, 'NO_ROUTE'))
        self.assertEqual(returned[1][5], b'lost too')
        self.assertEqual(len(returned), 2)
        self.assert_message_count(name, 1)

    def test_mandatory_unroutable_with_confirms(self):
        channel = self.channel()
        channel.confirm_delivery()
        with self.assertRaises(UnroutableError) as caught:
            channel.basic_publish('amq.direct', 'nobody-home', b'lost', mandatory=True)
        [message] = caught.exception.messages
        self.assertEqual((message.method.reply_code, message.method.reply_text, message.body),
                         (312, 'NO_ROUTE', b'lost'))
        # Unroutable without mandatory is simply confirmed.
        channel.basic_publish('amq.direct', 'nobody-home', b'dropped')

    def test_publisher_confirms(self):
        channel = self.channel()
        name = self.queue(channel, 'confirmed', durable=True)
        channel.confirm_delivery()
        count = 500
        for i in range(count):
            channel.basic_publish('', name, f'm{i}'.encode(),
                                  properties=pika.BasicProperties(delivery_mode=2))
        self.assert_message_count(name, count)
        self.assertEqual(self.get_all(channel, name), [f'm{i}'.encode() for i in range(count)])

    def test_basic_get_and_get_empty(self):
        channel = self.channel()
        name = self.queue(channel, 'get')
        self.assertEqual(channel.basic_get(name), (None, None, None))
        for body in [b'a', b'b', b'c']:
            channel.basic_publish('', name, body)
        seen = []
        for expected_body, expected_remaining in [(b'a', 2), (b'b', 1), (b'c', 0)]:
            method, properties, body = channel.basic_get(name, auto_ack=True)
            seen.append(body)
            self.assertEqual(body, expected_body)
            self.assertEqual(method.message_count, expected_remaining)
            self.assertEqual((method.exchange, method.routing_key, method.redelivered),
                             ('', name, False))
        self.assertEqual(channel.basic_get(name), (None, None, None))

    def test_nack_and_reject_requeue_in_order(self):
        channel = self.channel()
        name = self.queue(channel, 'requeue')
        for body in [b'm1', b'm2', b'm3']:
            channel.basic_publish('', name, body)
        tags = [channel.basic_get(name)[0].delivery_tag for _ in range(3)]
        self.assertEqual(tags, [1, 2, 3])
        channel.basic_nack(delivery_tag=3, multiple=True, requeue=True)
        redelivered = [channel.basic_get(name) for _ in range(3)]
        self.assertEqual([body for _, _, body in redelivered], [b'm1', b'm2', b'm3'])
        self.assertEqual([m.redelivered for m, _, _ in redelivered], [True, True, True])
        self.assertEqual([m.delivery_tag for m, _, _ in redelivered], [4, 5, 6])

        # Rejecting the middle one puts it back, ahead of what was never delivered.
        channel.basic_publish('', name, b'm4')
        channel.basic_reject(delivery_tag=5, requeue=True)
        method, _, body = channel.basic_get(name)
        self.assertEqual((body, method.redelivered), (b'm2', True))
        # Reject and nack without requeue drop the message.
        channel.basic_reject(delivery_tag=4, requeue=False)
        channel.basic_nack(delivery_tag=6, multiple=False, requeue=False)
        channel.basic_ack(delivery_tag=method.delivery_tag)
        method, _, body = channel.basic_get(name, auto_ack=True)
        self.assertEqual((body, method.redelivered, method.message_count), (b'm4', False, 0))

    def test_requeued_messages_reach_a_consumer_as_redelivered(self):
        connection = self.connect()
        channel = connection.channel()
        name = self.queue(channel, 'consumer-requeue')
        for body in [b'a', b'b', b'c']:
            channel.basic_publish('', name, body)
        deliveries = []
        channel.basic_consume(name, lambda ch, method, properties, body: deliveries.append(
            (body, method.redelivered, method.delivery_tag)))
        drain(connection, lambda: len(deliveries) >= 3)
        channel.basic_nack(delivery_tag=0, multiple=True, requeue=True)  # 0 + multiple: all
        drain(connection, lambda: len(deliveries) >= 6)
        settle(connection)
        self.assertEqual(deliveries, [(b'a', False, 1), (b'b', False, 2), (b'c', False, 3),
                                      (b'a', True, 4), (b'b', True, 5), (b'c', True, 6)])

    def test_multiple_ack(self):
        channel = self.channel()
        name = self.queue(channel, 'multi-ack')
        for i in range(5):
            channel.basic_publish('', name, f'm{i}'.encode())
        for _ in range(5):
            channel.basic_get(name)
        channel.basic_ack(delivery_tag=3, multiple=True)
        channel.close()
        # Closing the channel requeues only the two that were not acknowledged.
        self.assert_message_count(name, 2)
        channel = self.channel()
        got = [channel.basic_get(name, auto_ack=True) for _ in range(2)]
        self.assertEqual([(body, m.redelivered) for m, _, body in got],
                         [(b'm3', True), (b'm4', True)])

    def test_unacked_requeued_when_consumer_channel_closes(self):
        connection = self.connect()
        channel = connection.channel()
        name = self.queue(channel, 'close-requeue')
        for i in range(5):
            channel.basic_publish('', name, f'm{i}'.encode())
        consumer_channel = connection.channel()
        consumer_channel.basic_qos(prefetch_count=3)
        received = []
        consumer_channel.basic_consume(
            name, lambda ch, method, properties, body: received.append(body))
        drain(connection, lambda: len(received) >= 3)
        settle(connection)
        self.assertEqual(received, [b'm0', b'm1', b'm2'])
        self.assert_message_count(name, 2)
        consumer_channel.close()
        self.assert_message_count(name, 5)
        got = [channel.basic_get(name, auto_ack=True) for _ in range(5)]
        self.assertEqual([(body, m.redelivered) for m, _, body in got],
                         [(b'm0', True), (b'm1', True), (b'm2', True), (b'm3', False),
                          (b'm4', False)])

    def test_unacked_requeued_when_connection_closes(self):
        channel = self.channel()
        name = self.queue(channel, 'conn-requeue')
        channel.basic_publish('', name, b'x')
        other = self.broker.connect()
        other.channel().basic_get(name)
        other.close()
        method, _, body = self.get_eventually(channel, name)
        self.assertEqual((body, method.redelivered), (b'x', True))

    def test_purge_and_delete_counts(self):
        channel = self.channel()
        name = self.queue(channel, 'counts')
        for _ in range(5):
            channel.basic_publish('', name, b'x')
        self.assertEqual(channel.queue_purge(name).method.message_count, 5)
        self.assertEqual(channel.queue_purge(name).method.message_count, 0)
        for _ in range(2):
            channel.basic_publish('', name, b'y')
        # An unacknowledged message is neither purged nor counted by delete.
        channel.basic_get(name)
        self.assertEqual(channel.queue_declare(name, passive=True).method.message_count, 1)
        self.assertEqual(channel.queue_delete(name).method.message_count, 1)
        self.assert_queue_gone(name)

    def test_auto_delete_after_last_consumer_cancels(self):
        channel = self.channel()
        name = self.queue(channel, 'auto-delete', auto_delete=True)
        # Without ever having had a consumer, an auto-delete queue stays.
        self.assert_message_count(name, 0)
        first = channel.basic_consume(name, lambda *a: None)
        second = channel.basic_consume(name, lambda *a: None)
        channel.basic_cancel(first)
        self.assert_message_count(name, 0)  # still there: one consumer is left
        channel.basic_cancel(second)
        self.assert_queue_gone(name)

    def test_auto_delete_after_consumer_channel_closes(self):
        channel = self.channel()
        name = self.queue(channel, 'auto-delete-close', auto_delete=True)
        consumer_channel = self.channel()
        consumer_channel.basic_consume(name, lambda *a: None)
        consumer_channel.close()
        self.assert_queue_gone(name)

    def test_exclusive_queue_gone_after_connection_closes(self):
        name = self.unique('exclusive')
        owner = self.broker.connect()
        owner_channel = owner.channel()
        owner_channel.queue_declare(name, exclusive=True)
        owner_channel.basic_publish('', name, b'x')
        owner.close()
        self.assert_queue_gone(name)
        # The name is free again.
        channel = self.channel()
        channel.queue_declare(name, exclusive=True)

    def test_exchange_to_exchange_binding(self):
        connection = self.connect()
        channel = connection.channel()
        source = self.exchange(channel, 'e2e-source', 'direct')
        destination = self.exchange(channel, 'e2e-destination', 'fanout')
        name = self.queue(channel, 'e2e')
        channel.queue_bind(name, destination)
        channel.exchange_bind(destination=destination, source=source, routing_key='k')
        channel.basic_publish(source, 'k', b'through')
        channel.basic_publish(source, 'other', b'not bound')
        channel.basic_publish(destination, 'anything', b'direct to fanout')
        self.assertEqual(self.get_all(channel, name), [b'through', b'direct to fanout'])
        channel.exchange_unbind(destination=destination, source=source, routing_key='k')
        channel.basic_publish(source, 'k', b'after unbind')
        self.assertEqual(self.get_all(channel, name), [])

    def test_exchange_to_exchange_cycle_delivers_once(self):
        channel = self.channel()
        a = self.exchange(channel, 'cycle-a', 'fanout')
        b = self.exchange(channel, 'cycle-b', 'fanout')
        channel.exchange_bind(destination=b, source=a)
        channel.exchange_bind(destination=a, source=b)
        name = self.queue(channel, 'cycle')
        channel.queue_bind(name, a)
        channel.queue_bind(name, b)
        channel.basic_publish(a, '', b'once')
        self.assertEqual(self.get_all(channel, name), [b'once'])

    def test_headers_exchange(self):
        channel = self.channel()
        exchange = self.exchange(channel, 'headers', 'headers')
        queue_all = self.queue(channel, 'headers-all')
        queue_any = self.queue(channel, 'headers-any')
        queue_default = self.queue(channel, 'headers-default')
        channel.queue_bind(queue_all, exchange,
                           arguments={'x-match': 'all', 'format': 'pdf', 'type': 'report'})
        channel.queue_bind(queue_any, exchange,
                           arguments={'x-match': 'any', 'format': 'pdf', 'type': 'log'})
        channel.queue_bind(queue_default, exchange, arguments={'format': 'pdf'})  # all
        messages = [
            (b'pdf report', {'format': 'pdf', 'type': 'report'}),
            (b'pdf log', {'format': 'pdf', 'type': 'log'}),
            (b'zip log', {'format': 'zip', 'type': 'log'}),
            (b'zip', {'format': 'zip'}),
            (b'pdf report extra', {'format': 'pdf', 'type': 'report', 'extra': 1}),
            (b'no headers', None),
        ]
        for body, headers in messages:
            channel.basic_publish(exchange, 'ignored', body,
                                  properties=pika.BasicProperties(headers=headers))
        self.assertEqual(self.get_all(channel, queue_all),
                         [b'pdf report', b'pdf report extra'])
        self.assertEqual(self.get_all(channel, queue_any),
                         [b'pdf report', b'pdf log', b'zip log', b'pdf report extra'])
        self.assertEqual(self.get_all(channel, queue_default),
                         [b'pdf report', b'pdf log', b'pdf report extra'])

    def test_transactions(self):
        channel = self.channel()
        name = self.queue(channel, 'tx')
        channel.tx_select()
        channel.basic_publish('', name, b'rolled back')
        self.assert_message_count(name, 0)  # nothing is visible before commit
        channel.tx_rollback()
        self.assert_message_count(name, 0)
        channel.basic_publish('', name, b'committed')
        channel.tx_commit()
        self.assert_message_count(name, 1)

        # An acknowledgement is transactional too: rolled back, the message stays unacked.
        method, _, body = channel.basic_get(name)
        self.assertEqual(body, b'committed')
        channel.basic_ack(method.delivery_tag)
        channel.tx_rollback()
        channel.close()
        channel = self.channel()
        method, _, body = self.get_eventually(channel, name)
        self.assertEqual((body, method.redelivered), (b'committed', True))
        channel.tx_select()
        channel.basic_ack(method.delivery_tag)
        channel.tx_commit()
        channel.close()
        self.assert_message_count(name, 0)

    def consume_unacked(self, global_qos):
        """Two consumers on one channel, each on a queue of five messages, prefetch 2."""
        connection = self.connect()
        channel = connection.channel()
        names = [self.queue(channel, f'qos-{i}') for i in range(2)]
        for name in names:
            for i in range(5):
                channel.basic_publish('', name, f'm{i}'.encode())
        channel.basic_qos(prefetch_count=2, global_qos=global_qos)
        received = {name: [] for name in names}
        for name in names:
            channel.basic_consume(name, lambda ch, method, properties, body, name=name:
                                  received[name].append(method.delivery_tag))
        drain(connection, lambda: sum(len(v) for v in received.values()) >= 2)
        settle(connection, 0.5)
        return connection, channel, received

    def test_qos_per_consumer(self):
        _, _, received = self.consume_unacked(global_qos=False)
        self.assertEqual([len(tags) for tags in received.values()], [2, 2])

    def test_qos_global_is_per_channel(self):
        connection, channel, received = self.consume_unacked(global_qos=True)
        self.assertEqual(sum(len(tags) for tags in received.values()), 2)
        # Each acknowledgement lets exactly one more delivery through.
        channel.basic_ack(delivery_tag=1)
        drain(connection, lambda: sum(len(v) for v in received.values()) >= 3)
        settle(connection)
        self.assertEqual(sum(len(tags) for tags in received.values()), 3)

    def test_consumer_priorities(self):
        """x-priority: the higher-priority consumer takes messages while it has room."""
        connection = self.connect()
        channel = connection.channel()
        name = self.queue(channel, 'consumer-priority')
        channel.basic_qos(prefetch_count=2)
        received = {'low': [], 'high': []}
        channel.basic_consume(name, lambda ch, m, p, body: received['low'].append(body),
                              arguments={'x-priority': 1})
        channel.basic_consume(name, lambda ch, m, p, body: received['high'].append(body),
                              arguments={'x-priority': 10})
        for i in range(5):
            channel.basic_publish('', name, f'm{i}'.encode())
        drain(connection, lambda: len(received['low']) + len(received['high']) >= 4)
        settle(connection)
        self.assertEqual(received['high'], [b'm0', b'm1'])
        self.assertEqual(received['low'], [b'm2', b'm3'])

    def test_consumer_priority_must_be_an_integer(self):
        channel = self.channel()
        name = self.queue(channel, 'bad-priority')
        with self.assertRaises(pika.exceptions.ChannelClosedByBroker) as caught:
            channel.basic_consume(name, lambda *args: None, arguments={'x-priority': 'high'})
        self.assertEqual(caught.exception.reply_code, 406)
        self.assertEqual(caught.exception.reply_text,
                         f"PRECONDITION_FAILED - invalid arg 'x-priority' for queue '{name}' in "
                         "vhost '/': \"expected integer, got longstr\"")

    def test_prefetch_limits_deliveries_until_ack(self):
        connection = self.connect()
        channel = connection.channel()
        name = self.queue(channel, 'prefetch')
        for i in range(10):
            channel.basic_publish('', name, f'm{i}'.encode())
        channel.basic_qos(prefetch_count=3)
        received = []
        channel.basic_consume(name, lambda ch, method, properties, body: received.append(
            (method.delivery_tag, body)))
        drain(connection, lambda: len(received) >= 3)
        settle(connection)
        self.assertEqual(len(received), 3)
        channel.basic_ack(delivery_tag=2, multiple=True)
        drain(connection, lambda: len(received) >= 5)
        settle(connection)
        self.assertEqual([body for _, body in received], [f'm{i}'.encode() for i in range(5)])

    def test_round_robin_between_consumers(self):
        connection = self.connect()
        channel = connection.channel()
        name = self.queue(channel, 'round-robin')
        received = {'a': [], 'b': []}
        for tag in received:
            channel.basic_consume(name, lambda ch, method, properties, body, tag=tag:
                                  received[tag].append(body), auto_ack=True, consumer_tag=tag)
        for i in range(10):
            channel.basic_publish('', name, f'm{i}'.encode())
        drain(connection, lambda: len(received['a']) + len(received['b']) >= 10)
        settle(connection)
        self.assertEqual(sorted(received['a'] + received['b']),
                         sorted(f'm{i}'.encode() for i in range(10)))
        self.assertEqual([len(received['a']), len(received['b'])], [5, 5])

    def test_exclusive_consumer(self):
        channel = self.channel()
        name = self.queue(channel, 'exclusive-consumer')
        channel.basic_consume(name, lambda *a: None, exclusive=True)
        other = self.channel()
        with self.assertRaises(ChannelClosedByBroker) as caught:
            other.basic_consume(name, lambda *a: None)
        self.assertEqual((caught.exception.reply_code, caught.exception.reply_text),
                         (403, f"ACCESS_REFUSED - queue '{name}' in vhost '/' in exclusive use"))

    def test_cancel_notification_when_queue_is_deleted(self):
        connection = self.connect()
        channel = connection.channel()
        name = self.queue(channel, 'cancelled')
        cancelled = []
        channel.add_on_cancel_callback(lambda frame: cancelled.append(frame.method.consumer_tag))
        tag = channel.basic_consume(name, lambda *a: None)
        self.channel().queue_delete(name)
        drain(connection, lambda: cancelled)
        self.assertEqual(cancelled, [tag])
        self.assertTrue(channel.is_open)
        self.assertEqual(channel.consumer_tags, [])
        channel.queue_declare('', exclusive=True)  # the channel carries on

    def test_properties_round_trip(self):
        channel = self.channel()
        name = self.queue(channel, 'properties')
        headers = {
            'string': 'text', 'unicode': 'Grüße', 'int': 7, 'negative': -3,
            'big': 2 ** 40, 'true': True, 'false': False,
            'decimal': decimal.Decimal('3.14'), 'none': None,
            'timestamp': datetime.datetime(2024, 5, 1, 12, 30, 0),
            'table': {'nested': 'yes', 'depth': {'n': 1}}, 'array': [1, 'two', [3]],
        }
        properties = pika.BasicProperties(
            content_type='application/json', content_encoding='gzip', headers=headers,
            delivery_mode=2, priority=5, correlation_id='corr', reply_to='replies',
            expiration='60000', message_id='id-1', timestamp=1700000000, type='kind',
            user_id='guest', app_id='lepus-tests')
        channel.basic_publish('', name, b'{}', properties=properties)
        _, got, body = channel.basic_get(name, auto_ack=True)
        self.assertEqual(body, b'{}')
        for field in ['content_type', 'content_encoding', 'delivery_mode', 'priority',
                      'correlation_id', 'reply_to', 'expiration', 'message_id', 'timestamp',
                      'type', 'user_id', 'app_id']:
            self.assertEqual(getattr(got, field), getattr(properties, field), field)
        self.assertEqual(got.headers, headers)

    def test_user_id_must_match_the_login(self):
        channel = self.channel()
        with self.assertRaises(ChannelClosedByBroker) as caught:
            channel.basic_publish('amq.direct', 'k', b'x',
                                  properties=pika.BasicProperties(user_id='someone-else'))
            channel.basic_qos(prefetch_count=0)
        self.assertEqual((caught.exception.reply_code, caught.exception.reply_text),
                         (406, "PRECONDITION_FAILED - user_id property set to 'someone-else' "
                               "but authenticated user was 'guest'"))

    def test_bodies_of_every_size(self):
        channel = self.channel()
        name = self.queue(channel, 'sizes')
        # Empty, one byte, around the 128 KiB frame size, and several frames long.
        sizes = [0, 1, 131072 - 9, 131072 - 8, 131072, 131072 * 3 + 17, 4 * 1024 * 1024]
        bodies = [bytes((i + size) % 251 for i in range(size)) for size in sizes]
        for body in bodies:
            channel.basic_publish('', name, body)
        got = self.get_all(channel, name)
        self.assertEqual([len(b) for b in got], sizes)
        self.assertTrue(got == bodies)

    def test_heartbeats(self):
        connection = self.connect(heartbeat=2)
        checker = connection._impl._heartbeat_checker
        self.assertEqual(connection._impl.params.heartbeat, 2)
        self.assertIsNotNone(checker)
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            connection.process_data_events(time_limit=0.5)
        self.assertTrue(connection.is_open)
        # The broker sends heartbeats at half the timeout while the connection is idle.
        self.assertGreaterEqual(checker._heartbeat_frames_received, 2)
        channel = connection.channel()
        channel.queue_declare('', exclusive=True)


if __name__ == '__main__':
    harness.main()
