#!/usr/bin/python3
"""Direct reply-to (amq.rabbitmq.reply-to) with pika, as RPC clients and Celery's rpc backend
use it: replies reach the requesting channel with no reply queue declared."""

import random
import threading

import pika
import pika.exceptions

import harness
from harness import BrokerTestCase, drain, settle

REPLY_TO = 'amq.rabbitmq.reply-to'


def flip_secret(name, position):
    """The name with one character of its last part (the secret, in lepusd and RabbitMQ alike)
    replaced by another that is valid in both hex and base64."""
    routing, _, secret = name.rpartition('.')
    position %= len(secret)
    replacement = '0' if secret[position] != '0' else '1'
    return f'{routing}.{secret[:position]}{replacement}{secret[position + 1:]}'


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

    def reply_name(self, channel, queue):
        """The name the broker gives `channel`'s reply consumer, read back from a request."""
        channel.basic_publish('', queue, b'request', pika.BasicProperties(reply_to=REPLY_TO))
        method, properties, _ = channel.basic_get(queue, auto_ack=True)
        self.assertIsNotNone(method)
        return properties.reply_to

    def test_guessed_names_deliver_nothing(self):
        """Another client that guesses reply names reaches no one, however many it tries: the
        names carry 128 secret bits. Names in the old unauthenticated form (the channel's key
        in base 36, which took ~24,000 guesses to hit) are all refused, and so is the victim's
        own name with its secret changed. Genuine replies still arrive."""
        queue = self.unique('rpc-guess')
        self.start_server(queue)
        victim_connection = self.connect()
        victim = victim_connection.channel()
        replies = []
        victim.basic_consume(REPLY_TO, lambda ch, m, p, body: replies.append(body),
                             auto_ack=True)
        scratch = self.queue(victim, 'rpc-guess-name')
        name = self.reply_name(victim, scratch)

        guesses = [flip_secret(name, i) for i in range(8)]
        rng = random.Random(7)
        routing = name.rpartition('.')[0]
        guesses += [f'{routing}.{rng.getrandbits(128):032x}' for _ in range(64)]
        # The old form: the channel's key alone, which a lepusd name still starts with (so
        # the victim's exact old name is among these), and small keys around it.
        key = name[len(REPLY_TO) + 1:].split('.')[:5]
        if len(key) == 5:
            guesses.append(f'{REPLY_TO}.' + '.'.join(key))
        guesses += [f'{REPLY_TO}.{shard}.{slot}.{generation}.{channel}.{channel_generation}'
                    for shard in range(2) for slot in range(8) for generation in range(8)
                    for channel in range(1, 3) for channel_generation in range(4)]
        attacker = self.connect().channel()
        for guess in guesses:
            attacker.basic_publish('', guess, b'forged')
        attacker.queue_declare(scratch, passive=True)  # all of them have been handled

        for i in range(3):
            victim.basic_publish('', queue, f'q{i}'.encode(),
                                 pika.BasicProperties(reply_to=REPLY_TO))
        drain(victim_connection, lambda: len(replies) >= 3)
        settle(victim_connection)
        self.assertEqual(sorted(replies), [b'reply:q0', b'reply:q1', b'reply:q2'])

    def test_name_of_an_earlier_reply_consumer_is_dead(self):
        """A channel that cancels its reply consumer and starts another gets a new name; the
        old one delivers nothing, to the new consumer or anyone."""
        connection = self.connect()
        channel = connection.channel()
        queue = self.queue(channel, 'rpc-renamed')
        channel.basic_consume(REPLY_TO, lambda *args: None, auto_ack=True, consumer_tag='first')
        first = self.reply_name(channel, queue)
        channel.basic_cancel('first')
        replies = []
        channel.basic_consume(REPLY_TO, lambda ch, m, p, body: replies.append(body),
                              auto_ack=True, consumer_tag='second')
        second = self.reply_name(channel, queue)
        self.assertNotEqual(first, second)

        other = self.connect().channel()
        other.basic_publish('', first, b'to the old name')
        other.basic_publish('', second, b'to the new name')
        drain(connection, lambda: len(replies) >= 1)
        settle(connection)
        self.assertEqual(replies, [b'to the new name'])

    def test_publishing_to_reply_names_is_never_routed(self):
        """As RabbitMQ 3.10 does (checked on 3.10.8): a publish to any name under
        amq.rabbitmq.reply-to. counts as unrouted, so with mandatory it comes back as
        basic.return 312 NO_ROUTE, and the channel stays open. This holds for a live name (the
        reply is delivered and returned both), a malformed one ('garbage', the old base-36
        form, the bare prefix), a well-formed one with a wrong secret, the name of an earlier
        reply consumer of a channel and that of a closed channel. Without mandatory nothing
        comes back. The bare amq.rabbitmq.reply-to is no queue: NO_ROUTE as well."""
        victim_connection = self.connect()
        victim = victim_connection.channel()
        delivered = []
        victim.basic_consume(REPLY_TO, lambda ch, m, p, body: delivered.append(body),
                             auto_ack=True)
        queue = self.queue(victim, 'rpc-return')
        live = self.reply_name(victim, queue)
        gone = victim_connection.channel()
        gone.basic_consume(REPLY_TO, lambda *args: None, auto_ack=True)
        closed = self.reply_name(gone, queue)
        gone.close()
        names = [live, f'{REPLY_TO}.garbage', f'{REPLY_TO}.0.1.1.1.1', f'{REPLY_TO}.',
                 flip_secret(live, 0), closed, REPLY_TO]

        connection = self.connect()
        channel = connection.channel()
        returned = []
        channel.add_on_return_callback(
            lambda ch, m, p, body: returned.append((m.reply_code, m.reply_text, m.routing_key)))
        for name in names:
            channel.basic_publish('', name, b'plain')
            channel.basic_publish('', name, b'mandatory', mandatory=True)
        channel.queue_declare(queue, passive=True)  # a round trip: the channel is still open
        drain(connection, lambda: len(returned) >= len(names))
        settle(connection)
        self.assertEqual(returned, [(312, 'NO_ROUTE', name) for name in names])
        drain(victim_connection, lambda: len(delivered) >= 2)
        settle(victim_connection)
        self.assertEqual(delivered, [b'plain', b'mandatory'])
        self.assertTrue(channel.is_open)

    def test_declaring_reply_names(self):
        """RabbitMQ 3.10 answers queue.declare, passive or not, of amq.rabbitmq.reply-to and of
        a live reply name with declare-ok, 0 messages and 1 consumer, on any channel (of any
        connection); of a malformed or dead name with 404 NOT_FOUND, closing the channel."""
        connection = self.connect()
        owner = connection.channel()
        owner.basic_consume(REPLY_TO, lambda *args: None, auto_ack=True)
        queue = self.queue(owner, 'rpc-declare')
        live = self.reply_name(owner, queue)
        for passive in (True, False):
            for name in (REPLY_TO, live):
                ok = self.channel().queue_declare(name, passive=passive).method
                self.assertEqual((ok.queue, ok.message_count, ok.consumer_count), (name, 0, 1))
            for name in (f'{REPLY_TO}.garbage', f'{REPLY_TO}.0.1.1.1.1', f'{REPLY_TO}.',
                         flip_secret(live, 0)):
                with self.assertRaises(pika.exceptions.ChannelClosedByBroker) as caught:
                    self.channel().queue_declare(name, passive=passive)
                self.assertEqual(caught.exception.reply_code, 404)
                self.assertEqual(caught.exception.reply_text,
                                 f"NOT_FOUND - no queue '{name}' in vhost '/'")

    def test_reply_to_a_closed_channel_is_dropped(self):
        """A reply to a channel that has closed reaches no one: not the channel that reuses its
        number on the same connection and consumes replies as well, which gets only its own.
        The broker and both connections carry on."""
        connection = self.connect()
        gone = connection.channel()
        number = gone.channel_number
        gone.basic_consume(REPLY_TO, lambda *args: None, auto_ack=True)
        queue = self.queue(gone, 'rpc-gone')
        old = self.reply_name(gone, queue)
        gone.close()
        successor = connection.channel(channel_number=number)
        replies = []
        successor.basic_consume(REPLY_TO, lambda ch, m, p, body: replies.append(body),
                                auto_ack=True)
        new = self.reply_name(successor, queue)
        self.assertNotEqual(old, new)

        other_connection = self.connect()
        other = other_connection.channel()
        other.basic_publish('', old, b'late reply')
        other.basic_publish('', new, b'reply for the successor')
        other.queue_declare(queue, passive=True)  # a round trip: both were handled
        drain(connection, lambda: len(replies) >= 1)
        settle(connection)
        self.assertEqual(replies, [b'reply for the successor'])
        self.assertTrue(other.is_open and successor.is_open)


if __name__ == '__main__':
    harness.main()
