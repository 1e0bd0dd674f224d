#!/usr/bin/python3
"""Direct reply-to (amq.rabbitmq.reply-to) with pika, as RPC clients and Celery's rpc backend
use it: replies reach the requesting channel with no reply queue declared."""

import threading
import time

import pika
import pika.exceptions

import harness
from harness import BrokerTestCase, drain


class DirectReplyTest(BrokerTestCase):

    def start_server(self, queue):
        """An RPC server that answers 'reply:' + body. Its connection lives and dies in its
        own thread: pika connections must not be shared between threads."""
        self.delete_queues_after(queue)
        ready = threading.Event()
        stop = threading.Event()
        failures = []

        def on_request(ch, method, properties, body):
            ch.basic_publish('', properties.reply_to, b'reply:' + body,
                             pika.BasicProperties(correlation_id=properties.correlation_id))
            ch.basic_ack(method.delivery_tag)

        def serve():
            try:
                connection = self.broker.connect()
                channel = connection.channel()
                channel.queue_declare(queue)
                channel.basic_consume(queue, on_request)
                ready.set()
                while not stop.is_set():
                    connection.process_data_events(time_limit=0.1)
                connection.close()
            except Exception as error:  # reported by the test thread
                failures.append(error)
                ready.set()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        self.assertTrue(ready.wait(10), 'the RPC server did not start')
        self.assertEqual(failures, [])

        def shutdown():
            stop.set()
            thread.join(5)
            self.assertEqual(failures, [])
        self.addCleanup(shutdown)

    def test_replies_reach_the_requesting_channel(self):
        queue = self.unique('rpc-direct')
        self.start_server(queue)
        connection = self.connect()
        channel = connection.channel()
        replies = []
        channel.basic_consume('amq.rabbitmq.reply-to',
                              lambda ch, m, p, body: replies.append((p.correlation_id, body)),
                              auto_ack=True)
        for i in range(5):
            channel.basic_publish('', queue, f'q{i}'.encode(), pika.BasicProperties(
                reply_to='amq.rabbitmq.reply-to', correlation_id=str(i)))
        drain(connection, lambda: len(replies) >= 5)
        self.assertEqual(sorted(replies), [(str(i), f'reply:q{i}'.encode()) for i in range(5)])

    def test_reply_to_is_rewritten_to_a_channel_name(self):
        queue = self.unique('rpc-name')
        channel = self.channel()
        self.delete_queues_after(queue)
        channel.queue_declare(queue)
        channel.basic_consume('amq.rabbitmq.reply-to', lambda *args: None, auto_ack=True)
        channel.basic_publish('', queue, b'x',
                              pika.BasicProperties(reply_to='amq.rabbitmq.reply-to'))
        method, properties, _ = channel.basic_get(queue, auto_ack=True)
        self.assertIsNotNone(method)
        self.assertTrue(properties.reply_to.startswith('amq.rabbitmq.reply-to.'))
        self.assertNotEqual(properties.reply_to, 'amq.rabbitmq.reply-to.')

    def test_publishing_without_the_reply_consumer_is_refused(self):
        queue = self.unique('rpc-noconsumer')
        channel = self.channel()
        self.delete_queues_after(queue)
        channel.queue_declare(queue)
        channel.basic_publish('', queue, b'x',
                              pika.BasicProperties(reply_to='amq.rabbitmq.reply-to'))
        with self.assertRaises(pika.exceptions.ChannelClosedByBroker) as caught:
            channel.queue_declare(queue, passive=True)
        self.assertEqual(caught.exception.reply_code, 406)
        self.assertEqual(caught.exception.reply_text,
                         'PRECONDITION_FAILED - fast reply consumer does not exist')

    def test_reply_consumer_must_be_no_ack(self):
        channel = self.channel()
        with self.assertRaises(pika.exceptions.ChannelClosedByBroker) as caught:
            channel.basic_consume('amq.rabbitmq.reply-to', lambda *args: None, auto_ack=False)
        self.assertEqual(caught.exception.reply_code, 406)

    def test_reply_to_a_closed_channel_is_dropped(self):
        connection = self.connect()
        gone = connection.channel()
        gone.basic_consume('amq.rabbitmq.reply-to', lambda *args: None, auto_ack=True)
        queue = self.unique('rpc-gone')
        self.delete_queues_after(queue)
        gone.queue_declare(queue)
        gone.basic_publish('', queue, b'x',
                           pika.BasicProperties(reply_to='amq.rabbitmq.reply-to'))
        _, properties, _ = gone.basic_get(queue, auto_ack=True)
        gone.close()
        other = connection.channel()
        other.basic_publish('', properties.reply_to, b'late reply')
        time.sleep(0.2)
        # The broker and the connection carry on.
        other.queue_declare(queue, passive=True)


if __name__ == '__main__':
    harness.main()
