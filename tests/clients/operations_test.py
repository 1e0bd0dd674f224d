#!/usr/bin/python3
"""What operators rely on, as RabbitMQ 3.10 gives it: connection events in the log (accepted,
authenticated, closed with the reason) in key=value lines; log.file, reopened on SIGHUP after
logrotate moved it; load_definitions applied at every boot, a bad file stopping start-up; and
rabbitmq-diagnostics' health checks through lepusctl, with their outputs and exit codes."""

import json
import os
import shlex
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import pika

import harness
from harness import BrokerTestCase

TOOL_TIMEOUT_S = 60


def events(text):
    """The connection event lines of a log, each as a dict of its fields."""
    found = []
    for line in text.splitlines():
        at = line.find('connection=')
        if at < 0 or ' event=' not in line:
            continue
        fields = dict(part.split('=', 1) for part in shlex.split(line[at:]))
        found.append(fields)
    return found


def wait_for(condition, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f'condition not met within {timeout_s} s')
        time.sleep(0.05)


def local_port(connection):
    """The client side's port of a pika BlockingConnection's socket."""
    return connection._impl._transport._sock.getsockname()[1]


def lepusctl(data_dir, *args):
    result = subprocess.run([harness.lepusctl_binary(), '--data-dir', data_dir, *args],
                            capture_output=True, timeout=TOOL_TIMEOUT_S)
    return (result.returncode, result.stdout.decode('utf-8', 'replace'),
            result.stderr.decode('utf-8', 'replace'))


class ConnectionEventsTest(BrokerTestCase):
    """The log lines of each connection's life, from lepusd's stderr."""

    def setUp(self):
        super().setUp()
        if self.broker.external:
            self.skipTest("reads lepusd's own log")

    def events_of(self, port, event=None):
        peer = f'127.0.0.1:{port}'
        return [e for e in events(self.broker.stderr_text())
                if e.get('peer') == peer and (event is None or e['event'] == event)]

    def closed_event(self, port):
        return wait_for(lambda: self.events_of(port, 'closed'))[0]

    def test_a_client_close_logs_three_events_with_its_code(self):
        connection = self.broker.connect()
        port = local_port(connection)
        connection.close()
        closed = self.closed_event(port)
        accepted, authenticated = self.events_of(port)[:2]
        name = f'127.0.0.1:{port} -> 127.0.0.1:{self.broker.port}'
        self.assertEqual(accepted, {'connection': name, 'event': 'accepted',
                                    'peer': f'127.0.0.1:{port}', 'tls': 'false'})
        self.assertEqual(authenticated['event'], 'authenticated')
        self.assertEqual((authenticated['connection'], authenticated['user'],
                          authenticated['vhost'], authenticated['auth_mechanism']),
                         (name, 'guest', '/', 'PLAIN'))
        self.assertEqual(closed, {'connection': name, 'event': 'closed',
                                  'peer': f'127.0.0.1:{port}', 'user': 'guest', 'vhost': '/',
                                  'reason': 'client_close', 'code': '200',
                                  'text': 'Normal shutdown'})

    def test_the_connection_name_is_the_one_lepusctl_lists(self):
        connection = self.connect()
        port = local_port(connection)
        data_dir = os.path.join(self.broker.work_dir, 'data')
        code, out, _ = lepusctl(data_dir, '-q', '--no-table-headers', 'list_connections', 'name')
        self.assertEqual(code, 0)
        accepted = wait_for(lambda: self.events_of(port, 'accepted'))[0]
        self.assertIn(accepted['connection'], out.splitlines())

    def test_a_broker_close_logs_its_code_and_text(self):
        with self.assertRaises(pika.exceptions.ProbableAccessDeniedError):
            self.broker.connect(virtual_host='no-such-vhost')
        closed = wait_for(lambda: [e for e in events(self.broker.stderr_text())
                                   if e['event'] == 'closed' and e.get('code') == '530'])
        self.assertEqual(closed[0]['reason'], 'broker_close')
        self.assertEqual(closed[0]['text'], 'NOT_ALLOWED - vhost no-such-vhost not found')

    def test_a_dropped_socket_is_a_network_error(self):
        raw = socket.create_connection((self.broker.host, self.broker.port))
        port = raw.getsockname()[1]
        raw.sendall(b'AMQP\x00\x00\x09\x01')
        raw.recv(4096)  # connection.start
        raw.close()
        closed = self.closed_event(port)
        self.assertEqual((closed['reason'], closed['detail']),
                         ('network_error', 'peer closed the socket'))
        self.assertNotIn('user', closed, 'never logged in')

    def test_missed_heartbeats_are_a_heartbeat_timeout(self):
        connection = self.broker.connect(heartbeat=1)
        port = local_port(connection)
        time.sleep(3.5)  # pika sends nothing while its I/O loop does not run
        closed = self.closed_event(port)
        self.assertEqual((closed['reason'], closed['timeout_s']), ('heartbeat_timeout', '1'))


class LogFileTest(unittest.TestCase):
    """log.file, and logrotate's dance: move the file away, SIGHUP, a new file at the path."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='lepus-logfile-')
        self.path = os.path.join(self.dir, 'lepus.log')
        self.broker = harness.own_broker(self, 'sets log.file',
                                         config_text=f'log.file = {self.path}\n')

    def read(self, path):
        with open(path) as f:
            return f.read()

    def test_sighup_reopens_a_moved_log_file(self):
        wait_for(lambda: ' listening on ' in self.read(self.path))
        before = self.broker.connect()
        port_before = local_port(before)
        before.close()
        wait_for(lambda: any(e['event'] == 'closed' and e['peer'].endswith(f':{port_before}')
                             for e in events(self.read(self.path))))
        os.rename(self.path, self.path + '.1')
        self.broker.process.send_signal(signal.SIGHUP)
        wait_for(lambda: os.path.exists(self.path))
        after = self.broker.connect()
        port_after = local_port(after)
        after.close()
        wait_for(lambda: any(e['event'] == 'closed' and e['peer'].endswith(f':{port_after}')
                             for e in events(self.read(self.path))))
        rotated = self.read(self.path + '.1')
        self.assertIn(f'peer=127.0.0.1:{port_before}', rotated)
        self.assertNotIn(f'peer=127.0.0.1:{port_after}', rotated)
        self.assertNotIn(f'peer=127.0.0.1:{port_before}', self.read(self.path))
        # Still running, SIGHUP otherwise ignored; with a file, the console stays quiet.
        self.assertIsNone(self.broker.process.poll())
        self.assertNotIn('event=accepted', self.broker.stderr_text())


DEFINITIONS = {
    'users': [{'name': 'booted', 'password_hash': '', 'tags': ['monitoring'],
               'hashing_algorithm': 'rabbit_password_hashing_sha256'}],
    'vhosts': [{'name': 'boot'}],
    'permissions': [{'user': 'guest', 'vhost': 'boot', 'configure': '.*', 'write': '.*',
                     'read': '.*'}],
    'queues': [{'name': 'boot.q', 'vhost': 'boot', 'durable': True, 'auto_delete': False,
                'arguments': {'x-max-length': 100}}],
    'exchanges': [{'name': 'boot.x', 'vhost': 'boot', 'type': 'fanout', 'durable': True,
                   'auto_delete': False, 'internal': False, 'arguments': {}}],
    'bindings': [{'source': 'boot.x', 'vhost': 'boot', 'destination': 'boot.q',
                  'destination_type': 'queue', 'routing_key': '', 'arguments': {}}],
}


class LoadDefinitionsTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='lepus-definitions-')
        self.path = os.path.join(self.dir, 'definitions.json')

    def write(self, text):
        with open(self.path, 'w') as f:
            f.write(text)

    def test_objects_are_there_before_the_first_client_and_kept_across_boots(self):
        self.write(json.dumps(DEFINITIONS))
        broker = harness.own_broker(self, 'sets load_definitions',
                                    config_text=f'load_definitions = {self.path}\n')
        broker.vhost = 'boot'
        connection = broker.connect()
        channel = connection.channel()
        channel.basic_publish('boot.x', '', b'through the bound exchange',
                              pika.BasicProperties(delivery_mode=2))
        self.assertEqual(channel.queue_declare('boot.q', passive=True).method.message_count, 1)
        connection.close()
        data_dir = os.path.join(broker.work_dir, 'data')
        code, out, _ = lepusctl(data_dir, '-q', '--no-table-headers', 'list_users')
        self.assertIn('booted\t[monitoring]', out.splitlines())
        # Every boot applies the file again, and an existing queue keeps its messages.
        broker.restart()
        connection = broker.connect()
        self.assertEqual(connection.channel().queue_declare('boot.q', passive=True)
                         .method.message_count, 1)
        connection.close()
        self.assertIn('definitions loaded from', broker.stderr_text())

    def start_expecting_failure(self):
        if harness.amqp_url_override():
            self.skipTest('starts lepusd itself')
        result = subprocess.run(
            [harness.lepusd_binary(), '--listen', f'127.0.0.1:{harness.free_port()}',
             '--data-dir', os.path.join(self.dir, 'data'), '--shards', '1',
             '--management-listen', 'none', '--config', self.write_config()],
            capture_output=True, timeout=60)
        return result.returncode, result.stderr.decode('utf-8', 'replace')

    def write_config(self):
        config = os.path.join(self.dir, 'lepusd.conf')
        with open(config, 'w') as f:
            f.write(f'load_definitions = {self.path}\n')
        return config

    def test_a_file_that_is_not_json_stops_start_up(self):
        self.write('{"vhosts": [')
        code, err = self.start_expecting_failure()
        self.assertEqual(code, 1, err)
        self.assertIn(f'start-up failed: load_definitions: {self.path}: not a JSON object', err)

    def test_a_missing_file_stops_start_up(self):
        code, err = self.start_expecting_failure()
        self.assertEqual(code, 1, err)
        self.assertIn(f'load_definitions: {self.path}: No such file or directory', err)

    def test_invalid_definitions_stop_start_up(self):
        self.write(json.dumps({'queues': [{'name': 'q', 'vhost': '/', 'durable': 'yes'}]}))
        code, err = self.start_expecting_failure()
        self.assertEqual(code, 1, err)
        self.assertIn(f'start-up failed: load_definitions: {self.path}: ', err)


class DiagnosticsTest(BrokerTestCase):
    """rabbitmq-diagnostics' commands through lepusctl, on a broker without alarms."""

    def setUp(self):
        super().setUp()
        if self.broker.external:
            self.skipTest("the administration socket is lepusd's own")
        self.data_dir = os.path.join(self.broker.work_dir, 'data')

    def run_ctl(self, *args):
        return lepusctl(self.data_dir, *args)

    def test_ping_and_check_running(self):
        code, out, err = self.run_ctl('ping')
        self.assertEqual((code, err), (0, ''))
        self.assertRegex(out, r'^Will ping lepus@\S+\. This only checks if the OS process is '
                              r'running and registered with epmd\. Timeout: 60000 ms\.\n'
                              r'Ping succeeded\n$')
        self.assertEqual(self.run_ctl('-q', 'ping'), (0, 'Ping succeeded\n', ''))
        code, out, _ = self.run_ctl('check_running', '--formatter', 'json')
        self.assertEqual(code, 0)
        self.assertRegex(json.loads(out)['message'],
                         r'^RabbitMQ on node lepus@\S+ is fully booted and running$')

    def test_no_alarms(self):
        code, out, _ = self.run_ctl('-q', 'check_local_alarms')
        self.assertEqual(code, 0)
        self.assertRegex(out, r'^Node lepus@\S+ reported no local alarms\n$')
        self.assertEqual(self.run_ctl('check_local_alarms', '--formatter', 'json'),
                         (0, '{"result":"ok"}\n', ''))
        code, out, _ = self.run_ctl('alarms', '--formatter', 'json')
        self.assertEqual((code, json.loads(out)['alarms']), (0, []))

    def test_listeners_and_their_connectivity(self):
        code, out, _ = self.run_ctl('-q', 'listeners')
        self.assertEqual(code, 0)
        self.assertIn(f'Interface: {self.broker.host}, port: {self.broker.port}, protocol: amqp, '
                      'purpose: AMQP 0-9-1', out.splitlines())
        code, out, _ = self.run_ctl('check_port_connectivity')
        self.assertEqual(code, 0, out)
        self.assertIn(f'Successfully connected to ports {self.broker.port}', out)
        code, out, _ = self.run_ctl('check_port_connectivity', '--formatter', 'json')
        self.assertEqual((code, json.loads(out)['result']), (0, 'ok'))

    def test_environment(self):
        code, out, _ = self.run_ctl('environment', '--formatter', 'json')
        self.assertEqual(code, 0)
        rabbit = json.loads(out)['rabbit']
        self.assertEqual(rabbit['heartbeat'], 60)
        self.assertEqual(rabbit['tcp_listeners'], [[self.broker.host, self.broker.port]])
        code, out, _ = self.run_ctl('environment')
        self.assertEqual(code, 0)
        self.assertIn('{default_user,<<"guest">>}', out)

    def test_every_classic_queue_column(self):
        connection = self.connect()
        channel = connection.channel()
        name = self.queue(channel, 'columns', durable=True)
        channel.basic_publish('', name, b'abc', pika.BasicProperties(delivery_mode=2))
        channel.basic_publish('', name, b'de')
        columns = ['name', 'messages', 'messages_persistent', 'messages_ram',
                   'messages_ready_ram', 'messages_unacknowledged_ram', 'consumer_capacity',
                   'disk_reads', 'leader', 'members', 'online', 'slave_pids',
                   'synchronised_slave_pids', 'head_message_timestamp', 'message_bytes_ram',
                   'message_bytes_persistent', 'disk_writes']
        code, out, err = self.run_ctl('list_queues', '--formatter', 'json', *columns)
        self.assertEqual(code, 0, err)
        row = [r for r in json.loads(out) if r['name'] == name][0]
        self.assertEqual(list(row), columns)
        self.assertEqual((row['messages'], row['messages_persistent'], row['messages_ram'],
                          row['messages_ready_ram'], row['messages_unacknowledged_ram']),
                         (2, 1, 2, 2, 0))
        self.assertEqual((row['consumer_capacity'], row['leader'], row['slave_pids']), (0, '', ''))


class AlarmDiagnosticsTest(unittest.TestCase):
    """A memory alarm (forced by a tiny vm_memory_high_watermark.absolute) fails
    check_local_alarms as rabbitmq-diagnostics does, with exit code 69."""

    def test_a_memory_alarm_fails_check_local_alarms(self):
        broker = harness.own_broker(self, 'forces a memory alarm',
                                    config_text='vm_memory_high_watermark.absolute = 1MiB\n')
        data_dir = os.path.join(broker.work_dir, 'data')
        wait_for(lambda: lepusctl(data_dir, 'check_local_alarms')[0] != 0)
        code, out, err = lepusctl(data_dir, 'check_local_alarms')
        self.assertEqual(code, 69)
        self.assertRegex(out, r'^Asking node lepus@\S+ to report any local resource alarms '
                              r'\.\.\.\n$')
        self.assertRegex(err, r'^Error:\nMemory alarm on node lepus@\S+\n$')
        code, out, _ = lepusctl(data_dir, 'check_local_alarms', '--formatter', 'json')
        self.assertEqual(code, 69)
        answer = json.loads(out)
        self.assertEqual(answer['result'], 'error')
        self.assertRegex(answer['local'][0], r'^Memory alarm on node lepus@\S+$')
        code, out, _ = lepusctl(data_dir, '-q', 'alarms')
        self.assertEqual(code, 0, 'alarms reports, it does not check')
        self.assertRegex(out, r'^Memory alarm on node lepus@\S+\n$')


if __name__ == '__main__':
    harness.main()
