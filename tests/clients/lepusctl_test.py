#!/usr/bin/python3
"""lepusctl, the operator's command-line tool, against the broker: every command with its
output and exit code (0 success, 1 refused by the broker, 2 usage error, 3 no answer), and
messages passed both ways between lepusctl and pika.

The lepusctl binary comes from the LEPUSCTL environment variable, or sits next to lepusd (both
are built into the same bin directory)."""

import socket
import subprocess
import time
import unittest

import pika

import harness
from harness import BrokerTestCase

TOOL_TIMEOUT_S = 30


class LepusctlTest(BrokerTestCase):

    def lepusctl(self, *args, stdin=None, expect_code=0, host=None):
        """Runs lepusctl against the test broker; returns (stdout, stderr) as text."""
        host = host or f'{self.broker.host}:{self.broker.port}'
        command = [harness.lepusctl_binary(), '--host', host, '--vhost', self.broker.vhost, *args]
        result = subprocess.run(command, input=stdin, capture_output=True,
                                timeout=TOOL_TIMEOUT_S)
        self.assertEqual(result.returncode, expect_code,
                         f'{command}: stdout {result.stdout!r} stderr {result.stderr!r}')
        return (result.stdout.decode('utf-8', 'replace'),
                result.stderr.decode('utf-8', 'replace'))

    def declared_queue(self, stem):
        name = self.unique(stem)
        self.delete_queues_after(name)
        self.lepusctl('declare-queue', name)
        return name

    def message_count(self, name):
        stdout, _ = self.lepusctl('queue-info', name)
        return int(fields(stdout)['messages'])

    # --- usage -------------------------------------------------------------------------------

    def test_help(self):
        stdout, _ = self.lepusctl('--help')
        for command in ('status', 'declare-queue', 'delete-queue', 'purge-queue', 'queue-info',
                        'declare-exchange', 'delete-exchange', 'bind-queue', 'unbind-queue',
                        'publish', 'get'):
            self.assertIn(f'  {command}', stdout)
        stdout, _ = self.lepusctl('publish', '--help')
        self.assertIn('--confirm', stdout)
        self.assertIn('--header KEY=VALUE', stdout)

    def test_usage_errors_exit_2(self):
        cases = [
            [],                                        # no command
            ['frobnicate'],                            # unknown command
            ['declare-queue'],                         # missing NAME
            ['declare-queue', 'a', 'b'],               # one operand too many
            ['get', 'q', '--durable'],                 # an option of another command
            ['get', 'q', '--count', '0'],              # out of range
            ['declare-queue', 'q', '--arg', 'novalue'],
            ['declare-queue', 'x' * 256],              # longer than a shortstr
            ['--timeout', 'soon', 'status'],
        ]
        for args in cases:
            with self.subTest(args=args):
                _, stderr = self.lepusctl(*args, expect_code=2)
                self.assertTrue(stderr.startswith('lepusctl: '), stderr)

    # --- status ------------------------------------------------------------------------------

    def test_status(self):
        stdout, _ = self.lepusctl('status')
        status = fields(stdout)
        for key in ('product', 'version', 'platform', 'capabilities', 'frame_max'):
            self.assertIn(key, status)
        if not self.broker.external:
            self.assertEqual(status['product'], 'Lepus')
        self.assertIn('publisher_confirms', status['capabilities'])
        self.assertEqual(status['protocol'], 'AMQP 0-9-1')

    # --- queues ------------------------------------------------------------------------------

    def test_queue_lifecycle(self):
        name = self.unique('ctl-queue')
        self.delete_queues_after(name)
        stdout, _ = self.lepusctl('declare-queue', name, '--durable')
        self.assertEqual(stdout, f'queue: {name}\nmessages: 0\nconsumers: 0\n')
        for i in range(3):
            self.assertEqual(self.lepusctl('publish', '', name, f'm{i}')[0], 'published\n')
        stdout, _ = self.lepusctl('queue-info', name)
        self.assertEqual(stdout, f'queue: {name}\nmessages: 3\nconsumers: 0\n')
        stdout, _ = self.lepusctl('purge-queue', name)
        self.assertEqual(stdout, f'queue: {name}\nmessages_purged: 3\n')
        self.lepusctl('publish', '', name, 'left behind')
        stdout, _ = self.lepusctl('delete-queue', name)
        self.assertEqual(stdout, f'queue: {name}\nmessages_deleted: 1\n')
        self.lepusctl('queue-info', name, expect_code=1)

    def test_queue_info_of_missing_queue_is_refused(self):
        name = self.unique('ctl-missing')
        stdout, stderr = self.lepusctl('queue-info', name, expect_code=1)
        self.assertEqual(stdout, '')
        self.assertEqual(stderr, f"lepusctl: 404 NOT_FOUND - no queue '{name}' in vhost "
                                 f"'{self.broker.vhost}'\n")

    def test_delete_conditions(self):
        name = self.declared_queue('ctl-conditions')
        self.lepusctl('publish', '', name, 'keep me')
        _, stderr = self.lepusctl('delete-queue', name, '--if-empty', expect_code=1)
        self.assertIn('406 PRECONDITION_FAILED', stderr)
        self.assertEqual(self.message_count(name), 1)

    def test_queue_arguments_are_typed(self):
        # An integer argument goes out as an integer: a broker checks the type of x-max-length,
        # and a redeclaration with another value is inequivalent.
        name = self.unique('ctl-args')
        self.delete_queues_after(name)
        self.lepusctl('declare-queue', name, '--arg', 'x-max-length=10')
        self.lepusctl('declare-queue', name, '--arg', 'x-max-length=10')
        _, stderr = self.lepusctl('declare-queue', name, '--arg', 'x-max-length=11',
                                  expect_code=1)
        self.assertIn('406 PRECONDITION_FAILED', stderr)
        channel = self.channel()
        channel.queue_declare(name, arguments={'x-max-length': 10})  # equivalent to pika's

    # --- publish and get ---------------------------------------------------------------------

    def test_publish_then_get_acks(self):
        name = self.declared_queue('ctl-get')
        stdout, _ = self.lepusctl('publish', '', name, 'hello', '--persistent',
                                  '--header', 'origin=lepusctl', '--header', 'n=7', '--confirm')
        self.assertEqual(stdout, 'published, confirmed\n')
        stdout, stderr = self.lepusctl('get', name)
        message = fields(stdout)
        self.assertEqual(message['body'], 'hello')
        self.assertEqual(message['routing_key'], name)
        self.assertEqual(message['exchange'], '')
        self.assertEqual(message['redelivered'], 'false')
        self.assertEqual(message['delivery_mode'], '2')
        self.assertIn('"origin": S:"lepusctl"', message['headers'])
        self.assertIn('"n": I:7', message['headers'])
        self.assertEqual(stderr, '')
        self.assertEqual(self.message_count(name), 0)  # acked

    def test_get_requeue_puts_messages_back(self):
        name = self.declared_queue('ctl-requeue')
        for body in ('one', 'two'):
            self.lepusctl('publish', '', name, body)
        stdout, _ = self.lepusctl('get', name, '--count', '2', '--requeue')
        messages = [fields(block) for block in stdout.split('\n\n')]
        self.assertEqual([m['body'] for m in messages], ['one', 'two'])
        self.assertEqual([m['redelivered'] for m in messages], ['false', 'false'])
        self.assertEqual(self.message_count(name), 2)

        stdout, _ = self.lepusctl('get', name, '--count', '5')  # more than there are
        messages = [fields(block) for block in stdout.split('\n\n')]
        self.assertEqual([m['body'] for m in messages], ['one', 'two'])
        self.assertEqual([m['redelivered'] for m in messages], ['true', 'true'])
        self.assertEqual(self.message_count(name), 0)

    def test_get_from_empty_queue(self):
        name = self.declared_queue('ctl-empty')
        stdout, stderr = self.lepusctl('get', name)
        self.assertEqual(stdout, '')
        self.assertEqual(stderr, f"lepusctl: queue '{name}' is empty\n")

    def test_large_body_from_stdin_spans_frames(self):
        # Larger than frame_max (131072 by default), so lepusctl must split it into body frames.
        name = self.declared_queue('ctl-large')
        body = bytes(range(256)) * 1500
        stdout, _ = self.lepusctl('publish', '', name, '-', '--confirm', stdin=body)
        self.assertEqual(stdout, 'published, confirmed\n')
        channel = self.channel()
        method, _, received = channel.basic_get(name, auto_ack=True)
        self.assertIsNotNone(method)
        self.assertEqual(received, body)

    def test_get_reads_what_pika_published(self):
        name = self.declared_queue('ctl-from-pika')
        channel = self.channel()
        channel.basic_publish('', name, b'x' * 200000, pika.BasicProperties(
            content_type='text/plain', headers={'k': 'v'}))
        stdout, _ = self.lepusctl('get', name)
        message = fields(stdout)
        self.assertEqual(message['content_type'], 'text/plain')
        self.assertEqual(message['body_size'], '200000')
        self.assertEqual(message['body'], 'x' * 200000)

    def test_publish_to_missing_exchange_is_refused(self):
        exchange = self.unique('ctl-no-exchange')
        for extra in ([], ['--confirm']):
            with self.subTest(extra=extra):
                stdout, stderr = self.lepusctl('publish', exchange, 'k', 'body', *extra,
                                               expect_code=1)
                self.assertEqual(stdout, '')
                self.assertIn(f"404 NOT_FOUND - no exchange '{exchange}'", stderr)

    def test_mandatory_unroutable_is_refused(self):
        key = self.unique('ctl-nowhere')
        for extra in ([], ['--confirm']):
            with self.subTest(extra=extra):
                _, stderr = self.lepusctl('publish', '', key, 'body', '--mandatory', *extra,
                                          expect_code=1)
                self.assertIn('312 NO_ROUTE', stderr)

    # --- exchanges and bindings --------------------------------------------------------------

    def test_exchange_and_bindings(self):
        exchange = self.unique('ctl-topic')
        name = self.declared_queue('ctl-bound')
        self.delete_exchanges_after(exchange)
        stdout, _ = self.lepusctl('declare-exchange', exchange, 'topic', '--durable')
        self.assertEqual(stdout, f"exchange '{exchange}' declared\n")
        stdout, _ = self.lepusctl('bind-queue', name, exchange, 'a.*')
        self.assertEqual(stdout, f"queue '{name}' bound to exchange '{exchange}' with routing "
                                 f"key 'a.*'\n")
        self.lepusctl('publish', exchange, 'a.b', 'routed', '--mandatory', '--confirm')
        self.assertEqual(self.message_count(name), 1)

        _, stderr = self.lepusctl('delete-exchange', exchange, '--if-unused', expect_code=1)
        self.assertIn('406 PRECONDITION_FAILED', stderr)

        self.lepusctl('unbind-queue', name, exchange, 'a.*')
        self.lepusctl('publish', exchange, 'a.b', 'dropped', '--mandatory', expect_code=1)
        self.assertEqual(self.message_count(name), 1)
        stdout, _ = self.lepusctl('delete-exchange', exchange, '--if-unused')
        self.assertEqual(stdout, f"exchange '{exchange}' deleted\n")
        _, stderr = self.lepusctl('declare-exchange', exchange, 'no-such-type', expect_code=1)
        self.assertRegex(stderr, r'lepusctl: (503 COMMAND_INVALID|406 PRECONDITION_FAILED)')

    def test_headers_binding_arguments(self):
        exchange = self.unique('ctl-headers')
        name = self.declared_queue('ctl-headers-queue')
        self.delete_exchanges_after(exchange)
        self.lepusctl('declare-exchange', exchange, 'headers')
        self.lepusctl('bind-queue', name, exchange, '--arg', 'x-match=all', '--arg', 'k=v')
        self.lepusctl('publish', exchange, '', 'match', '--header', 'k=v', '--mandatory')
        self.lepusctl('publish', exchange, '', 'miss', '--header', 'k=w', '--mandatory',
                      expect_code=1)
        self.assertEqual(self.message_count(name), 1)

    # --- connection failures -----------------------------------------------------------------

    def test_bad_password_is_refused(self):
        _, stderr = self.lepusctl('--password', 'wrong', 'status', expect_code=1)
        self.assertIn('403 ACCESS_REFUSED', stderr)

    def test_missing_vhost_is_refused(self):
        _, stderr = self.lepusctl('--vhost', self.unique('no-vhost'), 'status', expect_code=1)
        self.assertIn('530 NOT_ALLOWED', stderr)

    def test_nothing_listening_exits_3(self):
        _, stderr = self.lepusctl('status', host=f'127.0.0.1:{harness.free_port()}',
                                  expect_code=3)
        self.assertIn('cannot connect', stderr)

    def test_silent_server_times_out(self):
        # The kernel completes the connection from the listen backlog; nothing ever answers.
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
            silent.bind(('127.0.0.1', 0))
            silent.listen(1)
            port = silent.getsockname()[1]
            started = time.monotonic()
            _, stderr = self.lepusctl('--timeout', '0.5', 'status', host=f'127.0.0.1:{port}',
                                      expect_code=3)
            self.assertLess(time.monotonic() - started, 5)
        self.assertIn('no answer from the broker within 500 ms', stderr)


def fields(text):
    """'key: value' lines into a dict; the body is the rest of its line."""
    result = {}
    for line in text.splitlines():
        key, separator, value = line.partition(': ')
        if separator:
            result.setdefault(key, value)
    return result


if __name__ == '__main__':
    harness.main()
