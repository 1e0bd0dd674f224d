#!/usr/bin/python3
"""What a logged-in client with bad intent can do, over raw sockets: pipeline a request and a
close so the reply is still travelling between shards when the connection goes. lepusd must
neither crash nor strand a message; the expectations are RabbitMQ 3.10's, which keeps every
message of an unacknowledged basic.get on a connection that closed."""

import socket
import time

import pika
import pika.spec

import harness
from harness import BrokerTestCase
from protocol_test import PROTOCOL_HEADER, RawClient


def frames(*methods, channel=1):
    return b''.join(pika.frame.Method(channel, m).marshal() for m in methods)


def connection_close():
    return pika.frame.Method(0, pika.spec.Connection.Close(
        reply_code=200, reply_text='bye', class_id=0, method_id=0)).marshal()


class PipelinedCloseTest(BrokerTestCase):

    def open_raw(self):
        client = RawClient(self.broker).handshake()
        client.send_method(1, pika.spec.Channel.Open())
        client.read_method(pika.spec.Channel.OpenOk)
        self.addCleanup(client.close)
        return client

    def fill(self, queue, count):
        channel = self.channel()
        channel.confirm_delivery()
        for i in range(count):
            channel.basic_publish('', queue, f'message {i}'.encode())

    def test_consume_and_close_in_one_write_does_not_crash(self):
        channel = self.channel()
        queue = self.queue(channel, 'hostile.consume')
        self.fill(queue, 10)
        for attempt in range(60):
            client = self.open_raw()
            client.send(frames(pika.spec.Basic.Consume(queue=queue, consumer_tag=f'c{attempt}'))
                        + connection_close())
            client.read_until_closed()
        # No consumer left behind, nothing unacknowledged: every message is ready again.
        self.assert_message_count(queue, 10)
        declared = channel.queue_declare(queue, passive=True)
        self.assertEqual(declared.method.consumer_count, 0)

    def test_get_and_close_in_one_write_strands_nothing(self):
        channel = self.channel()
        queue = self.queue(channel, 'hostile.get')
        self.fill(queue, 30)
        clients = [self.open_raw() for _ in range(30)]
        for client in clients:
            client.send(frames(pika.spec.Basic.Get(queue=queue, no_ack=False)) +
                        connection_close())
        for client in clients:
            client.read_until_closed()
        self.assert_message_count(queue, 30)


if __name__ == '__main__':
    harness.main()
