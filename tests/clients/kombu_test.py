#!/usr/bin/python3
"""kombu (over py-amqp) against the broker: SimpleQueue, and a Producer and Consumer over a
direct exchange, as Celery and other kombu users drive a broker."""

import socket

import kombu

import harness
from harness import BrokerTestCase


class KombuTest(BrokerTestCase):

    def url(self):
        return f'amqp://guest:guest@{self.broker.host}:{self.broker.port}//'

    def kombu_connection(self):
        connection = kombu.Connection(self.url(), transport='pyamqp', connect_timeout=10)
        self.addCleanup(connection.release)
        return connection

    def test_login_mechanisms(self):
        """py-amqp (kombu's transport) logs in with AMQPLAIN or PLAIN; a wrong password is
        refused with RabbitMQ's text, naming the mechanism."""
        import amqp
        host = f'{self.broker.host}:{self.broker.port}'
        for mechanism in ('AMQPLAIN', 'PLAIN'):
            connection = amqp.Connection(host, userid='guest', password='guest',
                                         login_method=mechanism, connect_timeout=10)
            connection.connect()
            self.assertTrue(connection.connected)
            connection.close()
            refused = amqp.Connection(host, userid='guest', password='wrong',
                                      login_method=mechanism, connect_timeout=10)
            with self.assertRaises(amqp.exceptions.AccessRefused) as caught:
                refused.connect()
            self.assertIn('ACCESS_REFUSED - Login was refused using authentication mechanism '
                          f'{mechanism}.', str(caught.exception))

    def test_simple_queue_put_get(self):
        name = self.unique('kombu-simple')
        self.delete_queues_after(name)
        self.delete_exchanges_after(name)
        connection = self.kombu_connection()
        queue = connection.SimpleQueue(name)
        payloads = [{'hello': 'world', 'n': i, 'list': [1, 2, 3]} for i in range(3)]
        for payload in payloads:
            queue.put(payload)
        received = []
        for _ in payloads:
            message = queue.get(block=True, timeout=10)
            received.append(message.payload)
            message.ack()
        self.assertEqual(received, payloads)
        self.assertEqual(len(queue), 0)
        with self.assertRaises(queue.Empty):
            queue.get(block=True, timeout=0.5)
        queue.close()

    def test_producer_consumer_over_direct_exchange(self):
        exchange_name = self.unique('kombu-direct')
        queue_name = self.unique('kombu-queue')
        self.delete_queues_after(queue_name)
        self.delete_exchanges_after(exchange_name)
        exchange = kombu.Exchange(exchange_name, type='direct', durable=False)
        queue = kombu.Queue(queue_name, exchange, routing_key='work', durable=False)
        connection = self.kombu_connection()

        producer = connection.Producer(serializer='json')
        for i in range(5):
            producer.publish({'task': i}, exchange=exchange, routing_key='work',
                             declare=[queue])
        producer.publish({'task': 'stray'}, exchange=exchange, routing_key='elsewhere')

        received = []

        def on_message(body, message):
            received.append((body, message.delivery_info['routing_key'],
                             message.content_type))
            message.ack()

        with connection.Consumer(queue, callbacks=[on_message], prefetch_count=2):
            while len(received) < 5:
                connection.drain_events(timeout=10)
            try:
                connection.drain_events(timeout=0.3)
            except socket.timeout:
                pass
        self.assertEqual(received,
                         [({'task': i}, 'work', 'application/json') for i in range(5)])


if __name__ == '__main__':
    harness.main()
