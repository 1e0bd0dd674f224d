#!/usr/bin/python3
"""Error cases seen through pika: the reply codes, and RabbitMQ's reply texts where clients or
people may rely on them. Soft errors close the channel and leave the connection usable; hard
errors close the connection. Every assertion here holds against RabbitMQ 3.10.
"""

from pika.exceptions import (ChannelClosedByBroker, ConnectionClosedByBroker,
                             ProbableAccessDeniedError, ProbableAuthenticationError)

import harness
from harness import BrokerTestCase

EXCLUSIVE_LOCKED = ("RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '{}' in "
                    "vhost '/'. It could be originally declared on another connection or the "
                    "exclusive property value does not match that of the original declaration.")
LOGIN_REFUSED = ("ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. "
                 "For details see the broker logfile.")


class ErrorsTest(BrokerTestCase):

    def assert_channel_error(self, code, text, operation, connection=None):
        """Runs operation(channel) on a fresh channel and expects the broker to close that
        channel with code and text, leaving the connection usable on a new channel."""
        connection = connection or self.connect()
        channel = connection.channel()
        with self.assertRaises(ChannelClosedByBroker) as caught:
            operation(channel)
            # Errors from asynchronous methods (publish, ack) surface at the next synchronous
            # call on the channel.
            channel.basic_qos(prefetch_count=0)
        self.assertEqual((caught.exception.reply_code, caught.exception.reply_text),
                         (code, text))
        self.assertTrue(channel.is_closed)
        self.assertTrue(connection.is_open)
        self.assert_connection_usable(connection)
        return connection

    def assert_connection_usable(self, connection):
        channel = connection.channel()
        queue = channel.queue_declare('', exclusive=True).method.queue
        channel.basic_publish('', queue, b'still here')
        method, _, body = channel.basic_get(queue, auto_ack=True)
        self.assertEqual(body, b'still here')
        channel.close()

    def test_passive_declare_of_missing_queue(self):
        name = self.unique('missing')
        self.assert_channel_error(
            404, f"NOT_FOUND - no queue '{name}' in vhost '/'",
            lambda ch: ch.queue_declare(name, passive=True))

    def test_redeclare_with_other_durable_flag(self):
        name = self.unique('durable')
        self.delete_queues_after(name)
        self.channel().queue_declare(name, durable=False)
        self.assert_channel_error(
            406, f"PRECONDITION_FAILED - inequivalent arg 'durable' for queue '{name}' in "
                 "vhost '/': received 'true' but current is 'false'",
            lambda ch: ch.queue_declare(name, durable=True))

    def test_redeclare_with_other_auto_delete_flag(self):
        name = self.unique('auto-delete')
        self.delete_queues_after(name)
        self.channel().queue_declare(name)
        self.assert_channel_error(
            406, f"PRECONDITION_FAILED - inequivalent arg 'auto_delete' for queue '{name}' in "
                 "vhost '/': received 'true' but current is 'false'",
            lambda ch: ch.queue_declare(name, auto_delete=True))

    def test_redeclare_with_other_arguments(self):
        """RabbitMQ compares the x-arguments it knows, and names both values."""
        name = self.unique('arguments')
        self.delete_queues_after(name)
        self.channel().queue_declare(name, arguments={'x-message-ttl': 1000, 'x-custom': 'a'})
        prefix = f"PRECONDITION_FAILED - inequivalent arg "
        self.assert_channel_error(
            406, prefix + f"'x-message-ttl' for queue '{name}' in vhost '/': received '2000' "
                          "but current is '1000'",
            lambda ch: ch.queue_declare(name, arguments={'x-message-ttl': 2000}))
        self.assert_channel_error(
            406, prefix + f"'x-message-ttl' for queue '{name}' in vhost '/': received none but "
                          "current is the value '1000' of type 'signedint'",
            lambda ch: ch.queue_declare(name))
        self.assert_channel_error(
            406, prefix + f"'x-max-length' for queue '{name}' in vhost '/': received the value "
                          "'5' of type 'signedint' but current is none",
            lambda ch: ch.queue_declare(name, arguments={'x-message-ttl': 1000,
                                                         'x-max-length': 5}))
        # Arguments RabbitMQ does not know may differ.
        channel = self.channel()
        channel.queue_declare(name, arguments={'x-message-ttl': 1000, 'x-custom': 'b'})

    def test_redeclare_with_same_flags_is_fine(self):
        name = self.unique('same')
        self.delete_queues_after(name)
        channel = self.channel()
        channel.queue_declare(name, durable=True)
        self.assertEqual(channel.queue_declare(name, durable=True).method.queue, name)
        self.assertEqual(channel.queue_declare(name, passive=True).method.queue, name)

    def test_exclusive_queue_from_another_connection(self):
        name = self.unique('exclusive')
        self.channel().queue_declare(name, exclusive=True)
        other = self.connect()
        text = EXCLUSIVE_LOCKED.format(name)
        operations = {
            'consume': lambda ch: ch.basic_consume(name, lambda *a: None),
            'declare': lambda ch: ch.queue_declare(name, exclusive=True),
            'passive declare': lambda ch: ch.queue_declare(name, passive=True),
            'get': lambda ch: ch.basic_get(name),
            'purge': lambda ch: ch.queue_purge(name),
            'delete': lambda ch: ch.queue_delete(name),
            'bind': lambda ch: ch.queue_bind(name, 'amq.direct', 'k'),
        }
        for what, operation in operations.items():
            with self.subTest(what):
                self.assert_channel_error(405, text, operation, connection=other)

    def test_double_ack(self):
        name = self.unique('double-ack')
        self.delete_queues_after(name)

        def double_ack(channel):
            channel.queue_declare(name)
            channel.basic_publish('', name, b'once')
            method, _, _ = channel.basic_get(name)
            self.assertEqual(method.delivery_tag, 1)
            channel.basic_ack(method.delivery_tag)
            channel.basic_ack(method.delivery_tag)

        self.assert_channel_error(406, 'PRECONDITION_FAILED - unknown delivery tag 1', double_ack)

    def test_unknown_delivery_tag(self):
        text = 'PRECONDITION_FAILED - unknown delivery tag 42'
        self.assert_channel_error(406, text, lambda ch: ch.basic_ack(42))
        self.assert_channel_error(406, text, lambda ch: ch.basic_nack(42))
        self.assert_channel_error(406, text, lambda ch: ch.basic_reject(42))

    def test_reserved_amq_prefix(self):
        self.assert_channel_error(
            403, "ACCESS_REFUSED - exchange name 'amq.lepus' contains reserved prefix 'amq.*'",
            lambda ch: ch.exchange_declare('amq.lepus', 'direct'))
        self.assert_channel_error(
            403, "ACCESS_REFUSED - queue name 'amq.lepus' contains reserved prefix 'amq.*'",
            lambda ch: ch.queue_declare('amq.lepus'))

    def test_predeclared_exchanges(self):
        channel = self.channel()
        for name, kind in [('amq.direct', 'direct'), ('amq.fanout', 'fanout'),
                           ('amq.topic', 'topic'), ('amq.headers', 'headers'),
                           ('amq.match', 'headers')]:
            channel.exchange_declare(name, kind, passive=True)
            channel.exchange_declare(name, kind, durable=True)  # an equivalent redeclare
        self.assert_channel_error(
            403, "ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '/' "
                 "not allowed",
            lambda ch: ch.exchange_delete('amq.direct'))

    def test_default_exchange_is_off_limits(self):
        text = 'ACCESS_REFUSED - operation not permitted on the default exchange'
        self.assert_channel_error(403, text, lambda ch: ch.exchange_declare('', 'direct'))
        self.assert_channel_error(403, text, lambda ch: ch.exchange_delete(''))
        name = self.unique('default-bind')

        def bind(channel):
            channel.queue_declare(name, exclusive=True)
            channel.queue_bind(name, '', 'k')

        self.assert_channel_error(403, text, bind)

    def test_exchange_redeclare_with_other_type(self):
        name = self.unique('typed')
        self.delete_exchanges_after(name)
        self.channel().exchange_declare(name, 'direct')
        self.assert_channel_error(
            406, f"PRECONDITION_FAILED - inequivalent arg 'type' for exchange '{name}' in "
                 "vhost '/': received 'fanout' but current is 'direct'",
            lambda ch: ch.exchange_declare(name, 'fanout'))
        self.assert_channel_error(
            406, f"PRECONDITION_FAILED - inequivalent arg 'durable' for exchange '{name}' in "
                 "vhost '/': received 'true' but current is 'false'",
            lambda ch: ch.exchange_declare(name, 'direct', durable=True))

    def test_unknown_exchange_type_is_a_connection_error(self):
        connection = self.connect()
        channel = connection.channel()
        with self.assertRaises(ConnectionClosedByBroker) as caught:
            channel.exchange_declare(self.unique('odd'), 'no-such-type')
        self.assertEqual((caught.exception.reply_code, caught.exception.reply_text),
                         (503, "COMMAND_INVALID - unknown exchange type 'no-such-type'"))
        self.assertTrue(connection.is_closed)
        self.assert_connection_usable(self.connect())

    def test_publish_to_missing_exchange(self):
        name = self.unique('nowhere')
        self.assert_channel_error(
            404, f"NOT_FOUND - no exchange '{name}' in vhost '/'",
            lambda ch: ch.basic_publish(name, 'key', b'lost'))

    def test_missing_exchange_or_queue_elsewhere(self):
        queue = self.unique('missing-q')
        exchange = self.unique('missing-x')
        no_queue = f"NOT_FOUND - no queue '{queue}' in vhost '/'"
        no_exchange = f"NOT_FOUND - no exchange '{exchange}' in vhost '/'"
        self.assert_channel_error(404, no_exchange,
                                  lambda ch: ch.exchange_declare(exchange, passive=True))
        self.assert_channel_error(404, no_queue,
                                  lambda ch: ch.queue_bind(queue, 'amq.direct', 'k'))
        self.assert_channel_error(404, no_queue,
                                  lambda ch: ch.basic_consume(queue, lambda *a: None))
        self.assert_channel_error(404, no_queue, lambda ch: ch.basic_get(queue))
        self.assert_channel_error(404, no_queue, lambda ch: ch.queue_purge(queue))
        bound = self.unique('bound')

        def bind_to_missing_exchange(channel):
            channel.queue_declare(bound, exclusive=True)
            channel.queue_bind(bound, exchange, 'k')

        self.assert_channel_error(404, no_exchange, bind_to_missing_exchange)

    def test_deleting_what_is_missing_is_fine(self):
        channel = self.channel()
        self.assertEqual(channel.queue_delete(self.unique('gone')).method.message_count, 0)
        channel.exchange_delete(self.unique('gone'))
        name = self.unique('unbound')
        channel.queue_declare(name, exclusive=True)
        channel.queue_unbind(name, 'amq.direct', 'never-bound')
        self.assert_connection_usable(channel.connection)

    def test_unbinding_what_is_missing_is_fine(self):
        channel = self.channel()
        name = self.unique('bound-nowhere')
        channel.queue_declare(name, exclusive=True)
        channel.queue_unbind(self.unique('gone'), 'amq.direct', 'k')
        channel.queue_unbind(name, self.unique('gone'), 'k')
        channel.queue_unbind(self.unique('gone'), self.unique('gone'), 'k')
        channel.exchange_unbind(self.unique('gone'), self.unique('gone'), 'k')
        self.assert_connection_usable(channel.connection)

    def test_binding_names_the_default_exchange_then_the_exchange_then_the_queue(self):
        queue, exchange = self.unique('missing-q'), self.unique('missing-x')
        self.assert_channel_error(
            403, 'ACCESS_REFUSED - operation not permitted on the default exchange',
            lambda ch: ch.queue_bind(queue, '', 'k'))
        self.assert_channel_error(404, f"NOT_FOUND - no exchange '{exchange}' in vhost '/'",
                                  lambda ch: ch.queue_bind(queue, exchange, 'k'))

    def test_an_unknown_tag_in_a_transaction_fails_at_the_ack(self):
        def ack_in_tx(channel):
            channel.tx_select()
            channel.basic_ack(42)

        self.assert_channel_error(406, 'PRECONDITION_FAILED - unknown delivery tag 42', ack_in_tx)

    def test_delete_if_empty_and_if_unused(self):
        name = self.unique('conditional')
        self.delete_queues_after(name)
        channel = self.channel()
        channel.queue_declare(name)
        channel.basic_publish('', name, b'x')
        self.assert_channel_error(
            406, f"PRECONDITION_FAILED - queue '{name}' in vhost '/' not empty",
            lambda ch: ch.queue_delete(name, if_empty=True))
        channel.basic_consume(name, lambda *a: None)
        self.assert_channel_error(
            406, f"PRECONDITION_FAILED - queue '{name}' in vhost '/' in use",
            lambda ch: ch.queue_delete(name, if_unused=True))
        exchange = self.unique('used')
        self.delete_exchanges_after(exchange)
        channel.exchange_declare(exchange, 'direct')
        channel.queue_bind(name, exchange, 'k')
        self.assert_channel_error(
            406, f"PRECONDITION_FAILED - exchange '{exchange}' in vhost '/' in use",
            lambda ch: ch.exchange_delete(exchange, if_unused=True))

    def test_transaction_misuse(self):
        self.assert_channel_error(406, 'PRECONDITION_FAILED - channel is not transactional',
                                  lambda ch: ch.tx_commit())
        self.assert_channel_error(406, 'PRECONDITION_FAILED - channel is not transactional',
                                  lambda ch: ch.tx_rollback())

        def confirm_then_tx(channel):
            channel.confirm_delivery()
            channel.tx_select()

        def tx_then_confirm(channel):
            channel.tx_select()
            channel.confirm_delivery()

        self.assert_channel_error(
            406, 'PRECONDITION_FAILED - cannot switch from confirm to tx mode', confirm_then_tx)
        self.assert_channel_error(
            406, 'PRECONDITION_FAILED - cannot switch from tx to confirm mode', tx_then_confirm)

    def test_unknown_vhost_is_refused(self):
        with self.assertRaises(ProbableAccessDeniedError) as caught:
            self.connect(virtual_host='no-such-vhost')
        self.assertIn("(530) 'NOT_ALLOWED - vhost no-such-vhost not found'",
                      str(caught.exception))

    def test_wrong_password_is_refused(self):
        for user, password in [('guest', 'wrong'), ('nobody', 'guest')]:
            with self.subTest(user=user):
                with self.assertRaises(ProbableAuthenticationError) as caught:
                    self.connect(user=user, password=password)
                self.assertIn(f"(403) '{LOGIN_REFUSED}'", str(caught.exception))
        self.assert_connection_usable(self.connect())

    def test_many_channel_errors_on_one_connection(self):
        connection = self.connect()
        for i in range(20):
            name = self.unique(f'missing-{i}')
            self.assert_channel_error(
                404, f"NOT_FOUND - no queue '{name}' in vhost '/'",
                lambda ch: ch.queue_declare(name, passive=True), connection=connection)


if __name__ == '__main__':
    harness.main()
