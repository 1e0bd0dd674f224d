#!/usr/bin/python3
"""The amqp-tools command-line clients (rabbitmq-c) against the broker: declare, publish, get,
consume and delete, with their exit codes as RabbitMQ gives them."""

import shutil
import subprocess
import time
import unittest

from pika.exceptions import ChannelClosedByBroker

import harness
from harness import BrokerTestCase

TOOLS = ['amqp-declare-queue', 'amqp-publish', 'amqp-get', 'amqp-consume', 'amqp-delete-queue']
TOOL_TIMEOUT_S = 30


@unittest.skipUnless(all(shutil.which(tool) for tool in TOOLS), 'amqp-tools is not installed')
class AmqpToolsTest(BrokerTestCase):

    def run_tool(self, tool, *args, stdin=None, expect_code=0):
        command = [tool, f'--server={self.broker.host}', f'--port={self.broker.port}',
                   '--username=guest', '--password=guest', *args]
        result = subprocess.run(command, input=stdin, capture_output=True,
                                timeout=TOOL_TIMEOUT_S)
        self.assertEqual(result.returncode, expect_code,
                         f'{command}: stdout {result.stdout!r} stderr {result.stderr!r}')
        return result

    def consumer_count(self, name):
        """The queue's consumers; 0 while it does not exist."""
        channel = self.channel()
        try:
            count = channel.queue_declare(name, passive=True).method.consumer_count
        except ChannelClosedByBroker:
            return 0
        channel.close()
        return count

    def test_declare_publish_get_delete(self):
        name = self.unique('tools')
        self.delete_queues_after(name)
        declared = self.run_tool('amqp-declare-queue', '-q', name, '-d')
        self.assertEqual(declared.stdout, f'{name}\n'.encode())
        self.run_tool('amqp-publish', '-r', name, '-b', 'hello', '-p', '-C', 'text/plain',
                      '-H', 'origin: amqp-tools')
        self.run_tool('amqp-publish', '-r', name, '-l', stdin=b'line one\nline two\n')

        # The properties set on the command line arrive as set.
        channel = self.channel()
        method, properties, body = channel.basic_get(name, auto_ack=False)
        self.assertEqual(body, b'hello')
        self.assertEqual(properties.delivery_mode, 2)
        self.assertEqual(properties.content_type, 'text/plain')
        self.assertEqual(properties.headers, {'origin': 'amqp-tools'})
        self.assertEqual(method.message_count, 2)
        channel.basic_reject(method.delivery_tag, requeue=True)
        channel.close()

        self.assertEqual(self.run_tool('amqp-get', '-q', name).stdout, b'hello')
        # -l makes one message of each line, the newline included.
        self.assertEqual(self.run_tool('amqp-get', '-q', name).stdout, b'line one\n')
        self.assertEqual(self.run_tool('amqp-get', '-q', name).stdout, b'line two\n')
        empty = self.run_tool('amqp-get', '-q', name, expect_code=2)  # 2: the queue is empty
        self.assertEqual(empty.stdout, b'')

        self.run_tool('amqp-publish', '-r', name, '-b', 'left behind')
        deleted = self.run_tool('amqp-delete-queue', '-q', name)
        self.assertEqual(deleted.stdout.strip(), b'1')  # the number of messages deleted
        missing = self.run_tool('amqp-get', '-q', name, expect_code=1)
        self.assertIn(f"server channel error 404, message: NOT_FOUND - no queue '{name}' "
                      f"in vhost '/'".encode(), missing.stderr)

    def test_server_named_queue(self):
        declared = self.run_tool('amqp-declare-queue', '-q', '')
        self.assertTrue(declared.stdout.startswith(b'amq.gen-'), declared.stdout)

    def test_consume_with_count(self):
        name = self.unique('tools-consume')
        self.delete_queues_after(name)
        self.run_tool('amqp-declare-queue', '-q', name)
        for body in ['first', 'second', 'third']:
            self.run_tool('amqp-publish', '-r', name, '-b', body)
        # amqp-consume runs the command once per message, the body on its standard input.
        consumed = self.run_tool('amqp-consume', '-q', name, '-c', '2', '-p', '1', 'cat')
        self.assertEqual(consumed.stdout, b'firstsecond')
        self.assertEqual(self.run_tool('amqp-get', '-q', name).stdout, b'third')

    def test_consume_bound_to_exchange_while_publishing(self):
        # With -e, amqp-consume declares the queue itself (auto-delete) and binds it.
        name = self.unique('tools-bound')
        self.delete_queues_after(name)
        command = ['amqp-consume', f'--server={self.broker.host}',
                   f'--port={self.broker.port}', '-q', name, '-e', 'amq.direct', '-r', 'tools',
                   '-c', '2', 'cat']
        consumer = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 10
            while self.consumer_count(name) == 0:
                if consumer.poll() is not None:
                    self.fail(f'amqp-consume exited early: {consumer.communicate()}')
                self.assertLess(time.monotonic(), deadline, 'amqp-consume never consumed')
                time.sleep(0.05)
            self.run_tool('amqp-publish', '-e', 'amq.direct', '-r', 'tools', '-b', 'one')
            self.run_tool('amqp-publish', '-e', 'amq.direct', '-r', 'elsewhere', '-b', 'not')
            self.run_tool('amqp-publish', '-e', 'amq.direct', '-r', 'tools', '-b', 'two')
            stdout, stderr = consumer.communicate(timeout=TOOL_TIMEOUT_S)
        finally:
            if consumer.poll() is None:
                consumer.kill()
                consumer.communicate()
        self.assertEqual(consumer.returncode, 0, stderr)
        self.assertEqual(stdout, b'onetwo')


if __name__ == '__main__':
    harness.main()
