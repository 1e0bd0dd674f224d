#!/usr/bin/python3
"""lepus-perf, the load generator, against lepusd and against lepus-relay: every message
published arrives exactly once (no gaps, no duplicates), and with confirms every publish is
confirmed.

lepus-perf and lepus-relay are built into the same bin directory as lepusd."""

import json
import os
import subprocess
import time
import unittest

import harness
from harness import BrokerTestCase

TOOL_TIMEOUT_S = 120


def tool_binary(name):
    binary = os.path.join(os.path.dirname(harness.lepusd_binary()), name)
    if not os.access(binary, os.X_OK):
        raise AssertionError(f'no {name} at {binary}: build the {name} target')
    return binary


def run_perf(test, host, port, *args):
    """Runs lepus-perf with --json; returns the summary as a dict."""
    command = [tool_binary('lepus-perf'), '--uri', f'amqp://guest:guest@{host}:{port}/',
               '--json', '--quiet', *args]
    result = subprocess.run(command, capture_output=True, timeout=TOOL_TIMEOUT_S)
    test.assertEqual(result.returncode, 0,
                     f'{command}: stdout {result.stdout!r} stderr {result.stderr!r}')
    return json.loads(result.stdout)


class PerfToolTest(BrokerTestCase):

    def perf(self, *args):
        return run_perf(self, self.broker.host, self.broker.port, *args)

    def test_every_message_arrives_once(self):
        summary = self.perf('--count', '2000', '--queue-prefix', self.unique('perf-once'))
        self.assertEqual(summary['sent'], 2000)
        self.assertEqual(summary['received'], summary['sent'])
        self.assertEqual(summary['gaps'], 0)
        self.assertEqual(summary['duplicates'], 0)
        self.assertGreater(summary['latency_us']['max'], 0)

    def test_confirmed_persistent(self):
        summary = self.perf('--count', '2000', '--confirm', '100', '--persistent', '--durable',
                            '--queue-prefix', self.unique('perf-confirm'))
        self.assertEqual(summary['sent'], 2000)
        self.assertEqual(summary['confirmed'], summary['sent'])
        self.assertEqual(summary['received'], summary['sent'])
        self.assertEqual(summary['gaps'], 0)
        self.assertEqual(summary['duplicates'], 0)

    def test_several_queues_with_acks(self):
        summary = self.perf('--count', '1000', '--producers', '3', '--consumers', '3',
                            '--queues', '3', '--prefetch', '100', '--multi-ack-every', '10',
                            '--queue-prefix', self.unique('perf-multi'))
        self.assertEqual(summary['sent'], 3000)
        self.assertEqual(summary['received'], 3000)
        self.assertEqual(summary['gaps'], 0)
        self.assertEqual(summary['duplicates'], 0)

    def test_fanout_reaches_every_queue(self):
        summary = self.perf('--count', '500', '--exchange', self.unique('perf-fanout'),
                            '--exchange-type', 'fanout', '--queues', '4', '--consumers', '4',
                            '--queue-prefix', self.unique('perf-fan'))
        self.assertEqual(summary['received'], 4 * summary['sent'])
        self.assertEqual(summary['gaps'], 0)
        self.assertEqual(summary['duplicates'], 0)

    def test_a_producer_the_broker_does_not_read_counts_its_last_batch_unsent(self):
        # Under the memory alarm (a 1 MiB limit, passed at once) lepusd reads nothing more
        # from a connection once it has published: the producer's socket fills and its last
        # batch cannot go out. Those messages must not count as sent, or they would be
        # reported as lost by the broker.
        broker = harness.own_broker(self, 'sets the memory alarm', config_text='memory_limit_mb = 1\n')
        time.sleep(0.5)
        summary = run_perf(self, broker.host, broker.port, '--duration', '1', '--grace', '1',
                           '--size', '100000', '--queue-prefix', self.unique('perf-unsent'))
        self.assertGreater(summary['unsent'], 0, summary)
        # What went out whole either arrived or is still held by the broker: the gaps.
        self.assertEqual(summary['received'] + summary['gaps'], summary['sent'], summary)

    def test_broker_refusal_is_reported(self):
        # amq.* exchanges are only declared passively; a missing one is 404 NOT_FOUND, which
        # lepus-perf prints with the broker's text and exits non-zero.
        command = [tool_binary('lepus-perf'), '--uri',
                   f'amqp://guest:guest@{self.broker.host}:{self.broker.port}/',
                   '--count', '1', '--exchange', 'amq.perf-missing', '--quiet']
        result = subprocess.run(command, capture_output=True, timeout=TOOL_TIMEOUT_S)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn(b'404', result.stderr)


class RelayTest(unittest.TestCase):
    """lepus-perf against lepus-relay, the perfect-broker floor."""

    @classmethod
    def setUpClass(cls):
        cls.port = harness.free_port()
        cls.relay = subprocess.Popen([tool_binary('lepus-relay'), '--port', str(cls.port)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL,
                                     preexec_fn=harness._die_with_parent)
        deadline = time.monotonic() + 10
        while not harness.port_accepts('127.0.0.1', cls.port):
            if time.monotonic() > deadline or cls.relay.poll() is not None:
                raise AssertionError('lepus-relay did not start')
            time.sleep(0.05)

    @classmethod
    def tearDownClass(cls):
        cls.relay.kill()
        cls.relay.wait()

    def test_every_message_arrives_once(self):
        summary = run_perf(self, '127.0.0.1', self.port, '--count', '2000', '--confirm', '100')
        self.assertEqual(summary['received'], 2000)
        self.assertEqual(summary['confirmed'], 2000)
        self.assertEqual(summary['gaps'], 0)
        self.assertEqual(summary['duplicates'], 0)

    def test_large_bodies_are_split_into_frames(self):
        summary = run_perf(self, '127.0.0.1', self.port, '--count', '200', '--size', '300000')
        self.assertEqual(summary['received'], 200)
        self.assertEqual(summary['gaps'], 0)


if __name__ == '__main__':
    harness.main()
