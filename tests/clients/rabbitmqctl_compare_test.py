#!/usr/bin/python3
"""lepusctl's rabbitmqctl commands against lepusd, through the administration socket in its
data directory (net/admin/README.md), checked against what rabbitmqctl 3.10 prints and exits
with for the same commands.

One command sequence drives both classes:
- LepusctlAdminTest runs it against a lepusd and checks each step's exit code, stdout and
  stderr against rabbitmqctl 3.10's, written down in the sequence.
- RabbitmqctlCompareTest, where RabbitMQ is installed, starts one private RabbitMQ node (its
  own ports, epmd, cookie and directories, stopped at the end) and one lepusd, runs the same
  sequence through rabbitmqctl and through lepusctl, and compares the two line by line. Only
  what must differ is normalized: node names, pids, and the name of the tool in a hint.

The lepusctl binary comes from the LEPUSCTL environment variable, or sits next to lepusd."""

import json
import os
import re
import shutil
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
RABBITMQ_BIN = '/usr/lib/rabbitmq/bin'
RABBITMQ_START_TIMEOUT_S = 90

DONE_ADD_USER = ("Done. Don't forget to grant the user permissions to some virtual hosts! "
                 "See 'TOOL help set_permissions' to learn more.\n")
NOT_A_USER = 'Error:\nUser "nobody" does not exist\n'


# --- the sequence --------------------------------------------------------------------------
#
# A step is a command line with what rabbitmqctl 3.10 does: exit code, stdout, stderr (None:
# not checked literally). `order` says that rows come in no particular order (RabbitMQ lists
# from hash tables), so lines are compared as sorted lists; `usage` that only the first line
# of stderr is compared (the rest is each tool's usage text).

class Step:
    def __init__(self, args, code=0, out='', err='', order=False, usage=False, json_rows=False):
        self.args = args
        self.code = code
        self.out = out
        self.err = err
        self.order = order
        self.usage = usage
        self.json_rows = json_rows


class Amqp:
    """A step that changes the broker over AMQP (pika) instead of a command. Its action takes
    connect(virtual_host) and returns a connection to keep open, or None."""

    def __init__(self, action):
        self.action = action


def declare_objects(connect):
    connection = connect('v1')
    channel = connection.channel()
    channel.queue_declare('q1', durable=True,
                          arguments={'x-max-length': 10, 'x-message-ttl': 5000})
    channel.queue_declare('q2')
    channel.exchange_declare('e1', 'topic', durable=True,
                             arguments={'alternate-exchange': 'amq.fanout'})
    channel.queue_bind('q1', 'e1', 'a.#')
    channel.queue_bind('q2', 'amq.headers', '', arguments={'k': 'v', 'x-match': 'all'})
    for _ in range(3):
        channel.basic_publish('', 'q1', b'hello')
    connection.close()


def hold_consumer(connect):
    """One connection with two channels: a consumer on q2 (prefetch 5) and a confirm channel."""
    connection = connect('v1')
    channel = connection.channel()
    channel.basic_qos(prefetch_count=5)
    channel.basic_consume('q2', lambda *args: None, consumer_tag='ctag1',
                          arguments={'x-priority': 3})
    confirming = connection.channel()
    confirming.confirm_delivery()
    connection.process_data_events(time_limit=0.2)
    return connection


def publish_to_q2(connect):
    connection = connect('v1')
    connection.channel().basic_publish('', 'q2', b'x')
    connection.close()


SEQUENCE = [
    # users
    Step(['add_user', 'alice', 'secret'], 0, 'Adding user "alice" ...\n' + DONE_ADD_USER),
    Step(['add_user', 'alice', 'secret'], 70, 'Adding user "alice" ...\n',
         'Error:\nUser "alice" already exists\n'),
    Step(['-q', 'add_user', 'bob', 'pw'], 0, ''),
    Step(['delete_user', 'nobody'], 67, 'Deleting user "nobody" ...\n', NOT_A_USER),
    Step(['change_password', 'nobody', 'x'], 67,
         'Changing password for user "nobody" ...\n', NOT_A_USER),
    Step(['change_password', 'alice', 's2'], 0, 'Changing password for user "alice" ...\n'),
    Step(['authenticate_user', 'alice', 's2'], 0,
         'Authenticating user "alice" ...\nSuccess\n'),
    Step(['authenticate_user', 'alice', 'wrong'], 65, 'Authenticating user "alice" ...\n',
         'Error:\nError: failed to authenticate user "alice"\n'
         "user 'alice' - invalid credentials\n"),
    Step(['-q', 'authenticate_user', 'alice', 's2'], 0, 'Success\n'),
    Step(['clear_password', 'alice'], 0, 'Clearing password for user "alice" ...\n'),
    Step(['set_user_tags', 'bob', 'administrator', 'monitoring'], 0,
         'Setting tags for user "bob" to [administrator, monitoring] ...\n'),
    Step(['set_user_tags', 'nobody'], 67, 'Setting tags for user "nobody" to [] ...\n',
         NOT_A_USER),
    Step(['list_users'], 0,
         'Listing users ...\nuser\ttags\nalice\t[]\nbob\t[administrator, monitoring]\n'
         'guest\t[administrator]\n', order=True),
    Step(['list_users', '-q', '--no-table-headers'], 0,
         'alice\t[]\nbob\t[administrator, monitoring]\nguest\t[administrator]\n', order=True),
    Step(['list_users', '--formatter', 'json'], 0,
         '[{"user":"alice","tags":[]},{"user":"bob","tags":["administrator","monitoring"]},'
         '{"user":"guest","tags":["administrator"]}]', json_rows=True),

    # virtual hosts
    Step(['add_vhost', 'v1'], 0, 'Adding vhost "v1" ...\n'),
    Step(['delete_vhost', 'nov'], 65, 'Deleting vhost "nov" ...\n',
         "Virtual host 'nov' does not exist\n"),
    Step(['add_vhost', 'v2', '--formatter', 'json'], 0, '{"node":"NODE","result":"ok"}\n'),
    Step(['delete_vhost', 'nov', '--formatter', 'json'], 65, '',
         "Virtual host 'nov' does not exist\n"),
    Step(['-q', 'delete_vhost', 'v2'], 0, ''),
    Step(['list_vhosts'], 0, 'Listing vhosts ...\nname\n/\nv1\n', order=True),
    Step(['list_vhosts', 'name', 'tracing'], 0,
         'Listing vhosts ...\nname\ttracing\n/\tfalse\nv1\tfalse\n', order=True),

    # permissions
    Step(['set_permissions', '-p', 'v1', 'bob', '.*', '', 'a.*'], 0,
         'Setting permissions for user "bob" in vhost "v1" ...\n'),
    Step(['set_permissions', '-p', 'nov', 'bob', '.*', '', ''], 69,
         'Setting permissions for user "bob" in vhost "nov" ...\n',
         'Error:\nVirtual host nov does not exist\n'),
    Step(['set_permissions', '-p', 'v1', 'nobody', '.*', '', ''], 67,
         'Setting permissions for user "nobody" in vhost "v1" ...\n',
         'Error:\nUser nobody does not exist\n'),
    Step(['-q', 'set_permissions', '--vhost', 'v1', 'guest', '.*', '.*', '.*'], 0, ''),
    Step(['list_permissions', '-p', 'v1'], 0,
         'Listing permissions for vhost "v1" ...\nuser\tconfigure\twrite\tread\n'
         'bob\t.*\t\ta.*\nguest\t.*\t.*\t.*\n', order=True),
    Step(['list_permissions', '-p', 'nov'], 65, 'Listing permissions for vhost "nov" ...\n',
         "Virtual host 'nov' does not exist\n"),
    Step(['list_permissions'], 0,
         'Listing permissions for vhost "/" ...\nuser\tconfigure\twrite\tread\n'
         'guest\t.*\t.*\t.*\n'),
    Step(['list_user_permissions', 'bob'], 0,
         'Listing permissions for user "bob" ...\nvhost\tconfigure\twrite\tread\n'
         'v1\t.*\t\ta.*\n'),
    Step(['list_user_permissions', 'nobody'], 69, 'Listing permissions for user "nobody" ...\n',
         'Error:\n{:no_such_user, "nobody"}\n'),
    Step(['list_user_permissions', 'alice'], 0, 'Listing permissions for user "alice" ...\n\n'),
    Step(['list_permissions', '-p', 'v1', '--formatter', 'json'], 0,
         '[{"user":"bob","configure":".*","write":"","read":"a.*"},'
         '{"user":"guest","configure":".*","write":".*","read":".*"}]', json_rows=True),
    Step(['clear_permissions', '-p', 'v1', 'bob'], 0,
         'Clearing permissions for user "bob" in vhost "v1" ...\n'),
    Step(['clear_permissions', '-p', 'v1', 'bob'], 0,
         'Clearing permissions for user "bob" in vhost "v1" ...\n'),
    Step(['clear_permissions', '-p', 'v1', 'nobody'], 67,
         'Clearing permissions for user "nobody" in vhost "v1" ...\n',
         'Error:\nUser nobody does not exist\n'),
    Step(['clear_permissions', '-p', 'nov', 'bob'], 69,
         'Clearing permissions for user "bob" in vhost "nov" ...\n',
         'Error:\nVirtual host nov does not exist\n'),

    # topic permissions
    Step(['set_topic_permissions', '-p', 'v1', 'bob', 'amq.topic', '^a', '^b'], 0,
         'Setting topic permissions on "amq.topic" for user "bob" in vhost "v1" ...\n'),
    Step(['set_topic_permissions', '-p', 'v1', 'nobody', 'amq.topic', '^a', '^b'], 67,
         'Setting topic permissions on "amq.topic" for user "nobody" in vhost "v1" ...\n',
         'Error:\nUser nobody does not exist\n'),
    Step(['set_topic_permissions', '-p', 'nov', 'bob', 'amq.topic', '^a', '^b'], 69,
         'Setting topic permissions on "amq.topic" for user "bob" in vhost "nov" ...\n',
         'Error:\nVirtual host nov does not exist\n'),
    Step(['list_topic_permissions', '-p', 'v1'], 0,
         'Listing topic permissions for vhost "v1" ...\nuser\texchange\twrite\tread\n'
         'bob\tamq.topic\t^a\t^b\n'),
    Step(['list_topic_permissions', '-p', 'nov'], 65,
         'Listing topic permissions for vhost "nov" ...\n',
         "Virtual host 'nov' does not exist\n"),
    # rabbitmqctl 3.10 prints this listing without its header line.
    Step(['list_user_topic_permissions', 'bob'], 0,
         'Listing topic permissions for user "bob" ...\nv1\tamq.topic\t^a\t^b\n'),
    Step(['list_user_topic_permissions', 'nobody'], 69,
         'Listing topic permissions for user "nobody" ...\n',
         'Error:\n{:no_such_user, "nobody"}\n'),
    Step(['clear_topic_permissions', '-p', 'v1', 'bob', 'amq.topic'], 0,
         'Clearing topic permissions on "amq.topic" for user "bob" in vhost "v1" ...\n'),
    Step(['clear_topic_permissions', '-p', 'v1', 'bob'], 0,
         'Clearing topic permissions for user "bob" in vhost "v1" ...\n'),
    Step(['clear_topic_permissions', '-p', 'nov', 'bob'], 69,
         'Clearing topic permissions for user "bob" in vhost "nov" ...\n',
         'Error:\nVirtual host nov does not exist\n'),
    Step(['list_topic_permissions', '-p', 'v1'], 0,
         'Listing topic permissions for vhost "v1" ...\n\n'),
    Step(['list_topic_permissions', '-p', 'v1', '--formatter', 'json'], 0, '[]\n'),

    # virtual host limits
    Step(['set_vhost_limits', '-p', 'v1', '{"max-connections": 10, "max-queues": 5}'], 0,
         'Setting vhost limits to "{"max-connections": 10, "max-queues": 5}" for vhost '
         '"v1" ...\n'),
    Step(['set_vhost_limits', '-p', 'nov', '{"max-connections": 10}'], 65,
         'Setting vhost limits to "{"max-connections": 10}" for vhost "nov" ...\n',
         "Virtual host 'nov' does not exist\n"),
    Step(['list_vhost_limits', '-p', 'v1'], 0,
         'Listing limits for vhost "v1" ...\n{"max-connections":10,"max-queues":5}\n'),
    Step(['list_vhost_limits', '--global'], 0,
         'Listing limits for all vhosts ...\nvhost\tlimits\n'
         'v1\t{"max-connections":10,"max-queues":5}\n'),
    Step(['list_vhost_limits', '-p', '/'], 0, 'Listing limits for vhost "/" ...\n\n'),
    Step(['list_vhost_limits', '-p', 'nov'], 65, 'Listing limits for vhost "nov" ...\n',
         "Virtual host 'nov' does not exist\n"),
    Step(['clear_vhost_limits', '-p', 'v1'], 0, 'Clearing vhost "v1" limits ...\n'),

    # user limits
    Step(['set_user_limits', 'bob', '{"max-connections": 10, "max-channels": 5}'], 0,
         'Setting user limits to "{"max-connections": 10, "max-channels": 5}" for user '
         '"bob" ...\n'),
    Step(['set_user_limits', 'nobody', '{"max-connections": 10}'], 69,
         'Setting user limits to "{"max-connections": 10}" for user "nobody" ...\n',
         'Error:\n{:no_such_user, "nobody"}\n'),
    Step(['list_user_limits', '--user', 'bob'], 0,
         'Listing limits for user "bob" ...\n{"max-channels":5,"max-connections":10}\n'),
    Step(['list_user_limits', '--global'], 0,
         'Listing limits for all users ...\nuser\tlimits\n'
         'bob\t{"max-channels":5,"max-connections":10}\n'),
    Step(['list_user_limits', '--user', 'alice'], 0,
         'Listing limits for user "alice" ...\n{}\n'),
    Step(['list_user_limits', '--user', 'nobody'], 69,
         'Listing limits for user "nobody" ...\n', 'Error:\n{:no_such_user, "nobody"}\n'),
    Step(['clear_user_limits', 'bob', 'max-channels'], 0,
         'Clearing "max-channels" limit for user "bob" ...\n'),
    Step(['clear_user_limits', 'bob', 'all'], 0, 'Clearing all limits for user "bob" ...\n'),
    Step(['clear_user_limits', 'nobody', 'all'], 69,
         'Clearing all limits for user "nobody" ...\n', 'Error:\n{:no_such_user, "nobody"}\n'),

    # queues, exchanges, bindings
    Amqp(declare_objects),
    Step(['list_queues', '-p', 'v1'], 0,
         'Timeout: 60.0 seconds ...\nListing queues for vhost v1 ...\nname\tmessages\n'
         'q1\t3\nq2\t0\n', order=True),
    Step(['list_queues', '-p', 'v1', '-t', '5', 'name', 'durable', 'auto_delete', 'exclusive',
          'arguments', 'messages_ready', 'messages_unacknowledged', 'messages', 'consumers',
          'policy', 'owner_pid', 'state', 'type'], 0,
         'Timeout: 5.0 seconds ...\nListing queues for vhost v1 ...\n'
         'name\tdurable\tauto_delete\texclusive\targuments\tmessages_ready\t'
         'messages_unacknowledged\tmessages\tconsumers\tpolicy\towner_pid\tstate\ttype\n'
         'q1\ttrue\tfalse\tfalse\t[{"x-max-length",10},{"x-message-ttl",5000}]\t3\t0\t3\t0\t'
         '\t\trunning\tclassic\n'
         'q2\tfalse\tfalse\tfalse\t[]\t0\t0\t0\t0\t\t\trunning\tclassic\n', order=True),
    Step(['list_queues', '-p', 'v1', '--formatter', 'json', 'name', 'durable', 'arguments'], 0,
         '[{"name":"q1","durable":true,"arguments":[["x-max-length","signedint",10],'
         '["x-message-ttl","signedint",5000]]},{"name":"q2","durable":false,"arguments":[]}]',
         json_rows=True),
    Step(['list_queues', '-p', 'nov'], 0,
         'Timeout: 60.0 seconds ...\nListing queues for vhost nov ...\n'),
    Step(['list_queues', '-q', '-p', 'nov'], 0, ''),
    Step(['list_exchanges', '-p', 'v1', 'name', 'type', 'durable', 'auto_delete', 'internal',
          'arguments', 'policy'], 0,
         'Listing exchanges for vhost v1 ...\n'
         'name\ttype\tdurable\tauto_delete\tinternal\targuments\tpolicy\n'
         '\tdirect\ttrue\tfalse\tfalse\t[]\t\n'
         'amq.direct\tdirect\ttrue\tfalse\tfalse\t[]\t\n'
         'amq.fanout\tfanout\ttrue\tfalse\tfalse\t[]\t\n'
         'amq.headers\theaders\ttrue\tfalse\tfalse\t[]\t\n'
         'amq.match\theaders\ttrue\tfalse\tfalse\t[]\t\n'
         'amq.topic\ttopic\ttrue\tfalse\tfalse\t[]\t\n'
         'e1\ttopic\ttrue\tfalse\tfalse\t[{"alternate-exchange","amq.fanout"}]\t\n',
         order=True),
    Step(['list_bindings', '-p', 'v1'], 0,
         'Listing bindings for vhost v1...\n'
         'source_name\tsource_kind\tdestination_name\tdestination_kind\trouting_key\targuments\n'
         '\texchange\tq1\tqueue\tq1\t[]\n'
         '\texchange\tq2\tqueue\tq2\t[]\n'
         'amq.headers\texchange\tq2\tqueue\t\t[{"k","v"},{"x-match","all"}]\n'
         'e1\texchange\tq1\tqueue\ta.#\t[]\n', order=True),
    Step(['list_bindings', '-p', 'v1', '--formatter', 'json', 'source_name', 'routing_key',
          'arguments'], 0,
         '[{"source_name":"","routing_key":"q1","arguments":[]},'
         '{"source_name":"","routing_key":"q2","arguments":[]},'
         '{"source_name":"amq.headers","routing_key":"","arguments":'
         '[["k","longstr","v"],["x-match","longstr","all"]]},'
         '{"source_name":"e1","routing_key":"a.#","arguments":[]}]', json_rows=True),
    Step(['list_bindings', '-p', 'nov'], 0, 'Listing bindings for vhost nov...\n'),

    # policies and operator policies
    Step(['set_policy', '-p', 'v1', '--priority', '2', '--apply-to', 'queues', 'lim', '^q1$',
          '{"max-length":5}'], 0,
         'Setting policy "lim" for pattern "^q1$" to "{"max-length":5}" with priority "2" for '
         'vhost "v1" ...\n'),
    Step(['set_policy', '-p', 'v1', '--apply-to', 'exchanges', 'ae', '^e1$',
          '{"alternate-exchange": "amq.direct"}'], 0,
         'Setting policy "ae" for pattern "^e1$" to "{"alternate-exchange": "amq.direct"}" with '
         'priority "0" for vhost "v1" ...\n'),
    Step(['set_operator_policy', '-p', 'v1', 'cap', '^q', '{"max-length":3}'], 0,
         'Setting operator policy override "cap" for pattern "^q" to "{"max-length":3}" with '
         'priority "0" for vhost "v1" ...\n'),
    Step(['list_policies', '-p', 'v1'], 0,
         'Listing policies for vhost "v1" ...\n'
         'vhost\tname\tpattern\tapply-to\tdefinition\tpriority\n'
         'v1\tae\t^e1$\texchanges\t{"alternate-exchange":"amq.direct"}\t0\n'
         'v1\tlim\t^q1$\tqueues\t{"max-length":5}\t2\n', order=True),
    Step(['list_policies', '-p', 'v1', '--formatter', 'json'], 0,
         '[{"vhost":"v1","name":"ae","pattern":"^e1$","apply-to":"exchanges",'
         '"definition":"{\\"alternate-exchange\\":\\"amq.direct\\"}","priority":0},'
         '{"vhost":"v1","name":"lim","pattern":"^q1$","apply-to":"queues",'
         '"definition":"{\\"max-length\\":5}","priority":2}]', json_rows=True),
    Step(['-q', 'list_operator_policies', '-p', 'v1'], 0,
         'vhost\tname\tpattern\tapply-to\tdefinition\tpriority\n'
         'v1\tcap\t^q\tall\t{"max-length":3}\t0\n'),
    Step(['list_queues', '-p', 'v1', 'name', 'policy', 'messages'], 0,
         'Timeout: 60.0 seconds ...\nListing queues for vhost v1 ...\nname\tpolicy\tmessages\n'
         'q1\tlim\t3\nq2\t\t0\n', order=True),
    Step(['list_exchanges', '-p', 'v1', 'name', 'policy'], 0,
         'Listing exchanges for vhost v1 ...\nname\tpolicy\n\t\namq.direct\t\namq.fanout\t\n'
         'amq.headers\t\namq.match\t\namq.topic\t\ne1\tae\n', order=True),
    Step(['set_policy', '-p', 'v1', 'bad', '(', '{"max-length":1}'], 69,
         'Setting policy "bad" for pattern "(" to "{"max-length":1}" with priority "0" for '
         'vhost "v1" ...\n',
         'Error:\nValidation failed\n\npattern should be regular expression but is invalid: '
         '{"missing )",1}\n\n'),
    Step(['set_policy', '-p', 'v1', 'bad', 'x', '{"foo":1,"max-length":-1}'], 69,
         'Setting policy "bad" for pattern "x" to "{"foo":1,"max-length":-1}" with priority "0" '
         'for vhost "v1" ...\n',
         'Error:\nValidation failed\n\n-1 is not a valid maximum length\n\n'),
    Step(['set_policy', '-p', 'v1', 'bad', 'x', '{"foo":1,"bar":"b"}'], 69,
         'Setting policy "bad" for pattern "x" to "{"foo":1,"bar":"b"}" with priority "0" for '
         'vhost "v1" ...\n',
         'Error:\nValidation failed\n\n[{<<"bar">>,<<"b">>},{<<"foo">>,1}] are not recognised '
         'policy settings\n\n'),
    Step(['set_policy', '-p', 'v1', '--apply-to', 'both', 'bad', 'x', '{"max-length":1}'], 69,
         'Setting policy "bad" for pattern "x" to "{"max-length":1}" with priority "0" for '
         'vhost "v1" ...\n',
         "Error:\nValidation failed\n\napply-to 'both' unrecognised; should be 'queues', "
         "'exchanges' or 'all'\n\n"),
    Step(['set_operator_policy', '-p', 'v1', 'bad', 'x', '{"alternate-exchange":"a"}'], 69,
         'Setting operator policy override "bad" for pattern "x" to '
         '"{"alternate-exchange":"a"}" with priority "0" for vhost "v1" ...\n',
         'Error:\nValidation failed\n\n[{<<"alternate-exchange">>,<<"a">>}] are not '
         'recognised policy settings\n\n'),
    Step(['set_policy', '-p', 'v1', 'bad', 'x', '{bad'], 69,
         'Setting policy "bad" for pattern "x" to "{bad" with priority "0" for vhost "v1" ...\n',
         'Error:\nJSON decoding error. Reason: badarg\n'),
    Step(['set_policy', '-p', 'nov', 'p', 'x', '{"max-length":1}'], 65,
         'Setting policy "p" for pattern "x" to "{"max-length":1}" with priority "0" for vhost '
         '"nov" ...\n', "Virtual host 'nov' does not exist\n"),
    Step(['set_policy', '--priority', 'high', 'p', 'x', '{}'], 64, '',
         'Error (argument validation): Invalid options for this command:\n', usage=True),
    Step(['set_policy', 'p', 'x'], 64, '',
         'Error (argument validation): not enough arguments.\n', usage=True),
    Step(['list_policies', '-p', 'nov'], 65, 'Listing policies for vhost "nov" ...\n',
         "Virtual host 'nov' does not exist\n"),
    Step(['clear_policy', '-p', 'v1', 'nope'], 69,
         'Clearing policy "nope" on vhost "v1" ...\n', 'Error:\nParameter does not exist\n'),
    Step(['clear_policy', '-p', 'v1', 'cap'], 69,
         'Clearing policy "cap" on vhost "v1" ...\n', 'Error:\nParameter does not exist\n'),
    Step(['clear_operator_policy', '-p', 'v1', 'cap'], 0,
         'Clearing operator policy "cap" on vhost "v1" ...\n'),
    Step(['clear_policy', '-p', 'v1', '--formatter', 'json', 'lim'], 0,
         '{"node":"NODE","result":"ok"}\n'),
    Step(['-q', 'clear_policy', '-p', 'v1', 'ae'], 0, ''),
    Step(['list_policies', '-q', '-p', 'v1'], 0, '\n'),
    Step(['list_operator_policies', '-p', 'v1'], 0,
         'Listing operator policy overrides for vhost "v1" ...\n\n'),

    # connections, channels, consumers (one connection held open on v1)
    Step(['list_connections'], 0, 'Listing connections ...\n'),
    Step(['list_connections', '--formatter', 'json'], 0, '[\n]\n'),
    Step(['-q', 'close_all_connections', '--global', 'bye'], 0, 'Closed 0 connections\n'),
    Step(['close_all_connections', '-p', 'nov', 'bye', '--formatter', 'json'], 0,
         '{"node":"NODE","result":"ok","value":"Closed 0 connections"}\n'),
    Amqp(hold_consumer),
    Step(['list_consumers', '-p', 'v1'], 0,
         'Listing consumers in vhost v1 ...\nqueue_name\tchannel_pid\tconsumer_tag\t'
         'ack_required\tprefetch_count\tactive\targuments\n'
         'q2\t<PID>\tctag1\ttrue\t5\ttrue\t[{"x-priority",3}]\n'),
    Step(['list_consumers', '-p', 'v1', '--formatter', 'json', 'queue_name', 'consumer_tag',
          'activity_status', 'arguments'], 0,
         '[\n{"queue_name":"q2","consumer_tag":"ctag1","activity_status":"up",'
         '"arguments":[["x-priority","signedint",3]]}\n]\n'),
    Step(['list_consumers', '-p', 'nov'], 0, 'Listing consumers in vhost nov ...\n'),
    Step(['list_connections', 'user', 'vhost', 'channels', 'state', 'protocol',
          'auth_mechanism', 'ssl', 'frame_max', 'channel_max', 'timeout'], 0,
         'Listing connections ...\nuser\tvhost\tchannels\tstate\tprotocol\tauth_mechanism\t'
         'ssl\tframe_max\tchannel_max\ttimeout\n'
         'guest\tv1\t2\trunning\t{0,9,1}\tPLAIN\tfalse\t131072\t2047\t60\n'),
    Step(['list_channels'], 0,
         'Listing channels ...\npid\tuser\tconsumer_count\tmessages_unacknowledged\n'
         '<PID>\tguest\t0\t0\n<PID>\tguest\t1\t0\n', order=True),
    Step(['list_channels', 'number', 'user', 'vhost', 'transactional', 'confirm',
          'consumer_count', 'messages_unacknowledged', 'messages_uncommitted',
          'acks_uncommitted', 'messages_unconfirmed', 'prefetch_count',
          'global_prefetch_count'], 0,
         'Listing channels ...\nnumber\tuser\tvhost\ttransactional\tconfirm\tconsumer_count\t'
         'messages_unacknowledged\tmessages_uncommitted\tacks_uncommitted\t'
         'messages_unconfirmed\tprefetch_count\tglobal_prefetch_count\n'
         '1\tguest\tv1\tfalse\tfalse\t1\t0\t0\t0\t0\t5\t0\n'
         '2\tguest\tv1\tfalse\ttrue\t0\t0\t0\t0\t0\t0\t0\n', order=True),
    Step(['close_all_connections', '-p', 'v1', 'bye'], 0,
         'Closing all connections in vhost v1, reason: bye...\nClosed 1 connections\n'),
    Step(['close_all_connections', '-p', 'nov', 'bye'], 0,
         'Closing all connections in vhost nov, reason: bye...\nClosed 0 connections\n'),

    # purging and deleting queues
    Step(['purge_queue', '-p', 'v1', 'q1'], 0, "Purging queue 'q1' in vhost 'v1' ...\n"),
    Step(['purge_queue', '-p', 'v1', 'nosuch'], 69,
         "Purging queue 'nosuch' in vhost 'v1' ...\n", 'Error:\nnot_found\n'),
    Step(['delete_queue', '-p', 'v1', '--if-empty', 'q1'], 0,
         "Deleting queue 'q1' on vhost 'v1' if queue is empty ...\n"
         'Queue was successfully deleted with 0 ready messages\n'),
    Amqp(publish_to_q2),
    Step(['delete_queue', '-p', 'v1', '-e', 'q2'], 64,
         "Deleting queue 'q2' on vhost 'v1' if queue is empty ...\n",
         'Error:\nQueue is not empty\n'),
    Step(['delete_queue', '-p', 'v1', 'q2'], 0,
         "Deleting queue 'q2' on vhost 'v1' ...\n"
         'Queue was successfully deleted with 1 ready messages\n'),
    Step(['delete_queue', '-p', 'v1', 'nosuch'], 64,
         "Deleting queue 'nosuch' on vhost 'v1' ...\n", 'Error:\nQueue not found\n'),

    # usage errors: exit 64 and rabbitmqctl's first line
    Step(['add_user', 'a', 'b', 'c'], 64, '',
         'Error (argument validation): too many arguments.\n', usage=True),
    Step(['delete_user'], 64, '', 'Error (argument validation): not enough arguments.\n',
         usage=True),
    Step(['list_users', 'extra'], 64, '', 'Error (argument validation): too many arguments.\n',
         usage=True),
    Step(['list_vhosts', 'bogus'], 64, '',
         'Error (argument validation): Info key(s) bogus are not supported\n', usage=True),
    Step(['close_all_connections'], 64, '',
         'Error (argument validation): not enough arguments.\n', usage=True),
    Step(['export_definitions'], 64, '',
         'Error (argument validation): not enough arguments.\n', usage=True),
    Step(['list_users', '-t', 'abc'], 64, '',
         'Error (argument validation): Invalid options for this command:\n', usage=True),
    Step(['frobnicate'], 64, '', '\n', usage=True),

    # cleaning up
    Step(['delete_vhost', 'v1'], 0, 'Deleting vhost "v1" ...\n'),
    Step(['delete_user', 'alice'], 0, 'Deleting user "alice" ...\n'),
    Step(['-q', 'delete_user', 'bob'], 0, ''),
    Step(['list_users', '-q'], 0, 'user\ttags\nguest\t[administrator]\n'),
    Step(['await_startup'], 0, ''),
]

# rabbitmq-diagnostics' commands on a node without alarms, as 3.10 prints them (after
# normalize(): the node's name, with the full stop that ends a sentence, is NODE).
DIAGNOSTICS = [
    Step(['ping'], 0, 'Will ping NODE This only checks if the OS process is running and '
                      'registered with epmd. Timeout: 60000 ms.\nPing succeeded\n'),
    Step(['ping', '--formatter', 'json'], 0, '{"message":"Ping succeeded"}\n'),
    Step(['-q', 'ping'], 0, 'Ping succeeded\n'),
    Step(['check_running'], 0, 'Checking if RabbitMQ is running on node NODE ...\n'
                               'RabbitMQ on node NODE is fully booted and running\n'),
    Step(['check_running', '--formatter', 'json'], 0,
         '{"message":"RabbitMQ on node NODE is fully booted and running"}\n'),
    Step(['check_local_alarms'], 0,
         'Asking node NODE to report any local resource alarms ...\n'
         'Node NODE reported no local alarms\n'),
    Step(['check_local_alarms', '--formatter', 'json'], 0, '{"result":"ok"}\n'),
    Step(['-q', 'check_local_alarms'], 0, 'Node NODE reported no local alarms\n'),
    Step(['alarms'], 0, 'Asking node NODE to report any known resource alarms ...\n'
                        'Node NODE reported no alarms, local or clusterwide\n'),
    Step(['alarms', '--formatter', 'json'], 0, '{"alarms":[],"node":"NODE","result":"ok"}\n'),
    Step(['listeners', '--frobnicate'], 64, '',
         'Error (argument validation): Invalid options for this command:\n', usage=True),
]


DEFINITIONS = {
    'users': [{'name': 'imported', 'password_hash': '', 'tags': ['monitoring'],
               'hashing_algorithm': 'rabbit_password_hashing_sha256'}],
    'vhosts': [{'name': 'v3'}],
    'permissions': [{'user': 'imported', 'vhost': 'v3', 'configure': '.*', 'write': '',
                     'read': '.*'}],
    'queues': [{'name': 'iq', 'vhost': 'v3', 'durable': True, 'auto_delete': False,
                'arguments': {}}],
    'exchanges': [], 'bindings': [],
}


# --- running and normalizing ---------------------------------------------------------------

def normalize(text):
    """What must differ between two brokers: pids, node names, and the tool's name in hints."""
    text = re.sub(r'#PID<[\d.]+>', '<PID>', text)
    text = re.sub(r'<[^<>\s]+@[^<>\s]+>', '<PID>', text)
    text = re.sub(r'[\w.-]+@[\w.-]+', 'NODE', text)
    text = text.replace("'rabbitmqctl help set_permissions'", "'TOOL help set_permissions'")
    text = text.replace("'lepusctl set_permissions --help'", "'TOOL help set_permissions'")
    # RabbitMQ's tracing exchange, which Lepus does not have.
    text = re.sub(r'^amq\.rabbitmq\.trace\t.*\n', '', text, flags=re.M)
    return text


def json_rows(text):
    """A JSON listing's rows, in a stable order."""
    rows = json.loads(text)
    return sorted(json.dumps(row, sort_keys=True) for row in rows)


def comparable(step, code, out, err):
    """(code, stdout, stderr) as the step compares them."""
    out, err = normalize(out), normalize(err)
    if step.usage:
        err = err.split('\n', 1)[0] + '\n'
    if step.json_rows and code == 0:
        out = json_rows(out)
    elif step.order:
        out = sorted(out.splitlines())
    return code, out, err


def expected(step):
    out = step.out
    if step.json_rows:
        out = json_rows(out)
    elif step.order:
        out = sorted(out.splitlines())
    return step.code, out, step.err


def run_lepusctl(data_dir, args, stdin=None):
    result = subprocess.run([harness.lepusctl_binary(), '--data-dir', data_dir, *args], input=stdin,
                            capture_output=True, timeout=TOOL_TIMEOUT_S)
    return (result.returncode, result.stdout.decode('utf-8', 'replace'),
            result.stderr.decode('utf-8', 'replace'))


def run_sequence(connect, command):
    """Runs SEQUENCE, each command through `command(args) -> (code, out, err)` and each AMQP
    step with `connect`; yields each step with its comparable result and the raw one."""
    held = []
    try:
        for step in SEQUENCE:
            if isinstance(step, Amqp):
                connection = step.action(connect)
                if connection is not None:
                    held.append(connection)
                continue
            code, out, err = command(step.args)
            yield step, comparable(step, code, out, err), (code, out, err)
    finally:
        for connection in held:
            try:
                connection.close()
            except Exception:  # closed by close_all_connections
                pass


def amqp_connector(host, port):
    def connect(virtual_host):
        return pika.BlockingConnection(pika.ConnectionParameters(
            host=host, port=port, virtual_host=virtual_host, connection_attempts=1,
            credentials=pika.PlainCredentials('guest', 'guest')))
    return connect


# --- against lepusd --------------------------------------------------------------------------

class LepusctlAdminTest(BrokerTestCase):

    def setUp(self):
        super().setUp()
        if self.broker.external:
            self.skipTest('the administration socket is lepusd\'s own')
        self.data_dir = os.path.join(self.broker.work_dir, 'data')

    def lepusctl(self, *args, stdin=None):
        return run_lepusctl(self.data_dir, list(args), stdin)

    def test_sequence_prints_what_rabbitmqctl_prints(self):
        connect = amqp_connector(self.broker.host, self.broker.port)
        for step, got, raw in run_sequence(connect, lambda args: self.lepusctl(*args)):
            with self.subTest(args=step.args):
                self.assertEqual(got, expected(step), f'lepusctl {step.args}: {raw!r}')

    def test_definitions_round_trip(self):
        with tempfile.TemporaryDirectory() as scratch:
            path = os.path.join(scratch, 'definitions.json')
            with open(path, 'w') as f:
                json.dump(DEFINITIONS, f)
            code, out, err = self.lepusctl('import_definitions', path)
            self.assertEqual((code, err), (0, ''), out)
            self.assertEqual(out, f'Importing definitions in JSON from a file at "{path}" ...\n'
                                  'Successfully started definition import. This process is '
                                  'asynchronous and can take some time.\n')
            code, out, _ = self.lepusctl('list_users', '-q', '--no-table-headers')
            self.assertIn('imported\t[monitoring]\n', out)
            exported = os.path.join(scratch, 'exported.json')
            code, out, err = self.lepusctl('export_definitions', exported)
            self.assertEqual((code, err), (0, ''))
            self.assertEqual(out, f'Exporting definitions in JSON to a file at "{exported}" ...\n')
            with open(exported) as f:
                definitions = json.load(f)
            self.assertIn('imported', [user['name'] for user in definitions['users']])
            self.assertIn('v3', [vhost['name'] for vhost in definitions['vhosts']])
            self.assertIn(('iq', 'v3'),
                          [(queue['name'], queue['vhost']) for queue in definitions['queues']])
            code, out, err = self.lepusctl('export_definitions', '-')
            self.assertEqual(code, 0, err)
            self.assertEqual(json.loads(out)['vhosts'], definitions['vhosts'])
            code, out, err = self.lepusctl('import_definitions', stdin=b'{bad')
            self.assertEqual(code, 65)
            self.assertTrue(err.startswith('Error:\nFailed to deserialise input (format: JSON)'),
                            err)
            code, _, err = self.lepusctl('import_definitions', os.path.join(scratch, 'none'))
            self.assertEqual(code, 65)
            self.assertIn('does not exist', err)
            self.lepusctl('-q', 'delete_vhost', 'v3')
            self.lepusctl('-q', 'delete_user', 'imported')

    def test_close_connection_by_name(self):
        connection = self.connect()
        code, out, _ = self.lepusctl('list_connections', '-q', '--no-table-headers', 'name')
        self.assertEqual(code, 0)
        names = out.splitlines()
        self.assertEqual(len(names), 1, out)
        code, out, err = self.lepusctl('close_connection', names[0], 'go away')
        self.assertEqual((code, out, err),
                         (0, f'Closing connection {names[0]}, reason: go away...\n', ''))
        with self.assertRaises(pika.exceptions.ConnectionClosedByBroker) as raised:
            harness.drain(connection, lambda: False, timeout_s=5)
        self.assertEqual(raised.exception.reply_code, 320)
        self.assertIn('go away', raised.exception.reply_text)

    def test_status(self):
        code, out, err = self.lepusctl('status')
        self.assertEqual((code, err), (0, ''))
        lines = out.splitlines()
        self.assertRegex(lines[0], r'^Status of node lepus@\S+ \.\.\.$')
        for title in ('Runtime', 'Data directory', 'Config files', 'Alarms', 'Memory',
                      'File Descriptors', 'Free Disk Space', 'Totals', 'Listeners'):
            self.assertIn(f'\x1b[1m{title}\x1b[0m', lines)
        self.assertIn(f'Node data directory: {os.path.realpath(self.data_dir)}',
                      [normalize_path(line) for line in lines])
        self.assertIn(f'Interface: {self.broker.host}, port: {self.broker.port}, protocol: amqp, '
                      'purpose: AMQP 0-9-1', lines)
        code, out, _ = self.lepusctl('status', '--formatter', 'json')
        self.assertEqual(code, 0)
        status = json.loads(out)
        self.assertEqual(status['product_name'], 'Lepus')
        self.assertIn(self.broker.port, [listener['port'] for listener in status['listeners']])

    def test_status_with_amqp_options_is_the_amqp_status(self):
        result = subprocess.run([harness.lepusctl_binary(), 'status', '--host',
                                 f'{self.broker.host}:{self.broker.port}'],
                                capture_output=True, timeout=TOOL_TIMEOUT_S)
        self.assertEqual(result.returncode, 0, result.stderr)
        out = result.stdout.decode()
        self.assertIn('product: Lepus\n', out)
        self.assertIn('protocol: AMQP 0-9-1\n', out)

    def test_commands_work_with_every_user_deleted(self):
        code, _, err = self.lepusctl('-q', 'delete_user', 'guest')
        self.assertEqual((code, err), (0, ''))
        self.addCleanup(self.restore_guest)
        code, out, _ = self.lepusctl('list_users', '-q')
        self.assertEqual((code, out), (0, '\n'))

    def restore_guest(self):
        self.lepusctl('-q', 'add_user', 'guest', 'guest')
        self.lepusctl('-q', 'set_user_tags', 'guest', 'administrator')
        self.lepusctl('-q', 'set_permissions', 'guest', '.*', '.*', '.*')

    def test_diagnostics_print_what_rabbitmq_diagnostics_prints(self):
        for step in DIAGNOSTICS:
            code, out, err = self.lepusctl(*step.args)
            with self.subTest(args=step.args):
                self.assertEqual(comparable(step, code, out, err), expected(step),
                                 (code, out, err))

    def test_environment_names_the_data_directory(self):
        environment = dict(os.environ, LEPUS_DATA_DIR=self.data_dir)
        result = subprocess.run([harness.lepusctl_binary(), '-q', 'list_vhosts'], env=environment,
                                capture_output=True, timeout=TOOL_TIMEOUT_S)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(b'\n/\n', result.stdout)


def normalize_path(line):
    prefix = 'Node data directory: '
    if line.startswith(prefix):
        return prefix + os.path.realpath(line[len(prefix):])
    return line


class LepusctlWithoutBrokerTest(unittest.TestCase):
    """What lepusctl does when nothing answers: rabbitmqctl's exit codes for a node that is
    down (69) and for a timeout (75)."""

    def setUp(self):
        self.scratch = tempfile.mkdtemp(prefix='lepusctl-')
        self.addCleanup(shutil.rmtree, self.scratch, ignore_errors=True)

    def test_no_socket_is_unavailable(self):
        code, out, err = run_lepusctl(self.scratch, ['list_users'])
        self.assertEqual((code, out), (69, ''))
        self.assertTrue(err.startswith("Error: unable to perform an operation on node 'lepus@"),
                        err)
        self.assertIn(os.path.join(self.scratch, 'lepusctl.sock'), err)

    def test_await_startup_gives_up_after_its_timeout(self):
        started = time.monotonic()
        code, _, err = run_lepusctl(self.scratch, ['await_startup', '-t', '1'])
        self.assertEqual(code, 69, err)
        self.assertGreaterEqual(time.monotonic() - started, 0.8)

    def test_a_broker_that_does_not_answer_is_a_timeout(self):
        listener = socket.socket(socket.AF_UNIX)
        self.addCleanup(listener.close)
        listener.bind(os.path.join(self.scratch, 'lepusctl.sock'))
        listener.listen(1)  # never accepted: the request waits in the backlog
        code, out, err = run_lepusctl(self.scratch, ['list_users', '-t', '1'])
        self.assertEqual(code, 75, err)
        self.assertEqual(out, 'Listing users ...\n')
        self.assertRegex(err, r'^Error: operation list_users on node lepus@\S+ timed out\. '
                              r'Timeout value used: 1000\n$')

    def test_unknown_command_is_a_usage_error(self):
        code, out, err = run_lepusctl(self.scratch, ['frobnicate'])
        self.assertEqual((code, out), (64, ''))
        self.assertTrue(err.startswith("\nCommand 'frobnicate' not found. \n"), err)


# --- against RabbitMQ ------------------------------------------------------------------------

def rabbitmq_available():
    return all(os.access(os.path.join(RABBITMQ_BIN, tool), os.X_OK)
               for tool in ('rabbitmq-server', 'rabbitmqctl'))


class RabbitNode:
    """A private RabbitMQ node: its own epmd port, distribution and AMQP ports, cookie (in its
    own HOME) and directories, so it touches neither a system node nor another test's."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix='lepus-rabbit-')
        self.amqp_port = harness.free_port()
        self.name = f'lepuscompare{os.getpid()}@localhost'
        self.env = dict(
            os.environ, HOME=self.dir, ERL_EPMD_PORT=str(harness.free_port()),
            ERL_EPMD_ADDRESS='127.0.0.1', RABBITMQ_NODENAME=self.name,
            RABBITMQ_NODE_IP_ADDRESS='127.0.0.1', RABBITMQ_NODE_PORT=str(self.amqp_port),
            RABBITMQ_DIST_PORT=str(harness.free_port()),
            RABBITMQ_MNESIA_BASE=os.path.join(self.dir, 'mnesia'),
            RABBITMQ_LOG_BASE=os.path.join(self.dir, 'log'),
            RABBITMQ_ENABLED_PLUGINS_FILE=os.path.join(self.dir, 'enabled_plugins'),
            RABBITMQ_CONFIG_FILE=os.path.join(self.dir, 'rabbitmq.conf'),
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}")
        self.process = None

    def start(self):
        open(self.env['RABBITMQ_CONFIG_FILE'], 'w').close()  # defaults, whatever /etc holds
        self.output = open(os.path.join(self.dir, 'server.out'), 'wb')
        self.process = subprocess.Popen([os.path.join(RABBITMQ_BIN, 'rabbitmq-server')],
                                        env=self.env, stdin=subprocess.DEVNULL,
                                        stdout=self.output, stderr=self.output,
                                        start_new_session=True)
        # await_startup fails at once while the node's VM is not up yet: ask until it waits.
        deadline = time.monotonic() + RABBITMQ_START_TIMEOUT_S
        while True:
            left = max(1, int(deadline - time.monotonic()))
            code, _, err = self.ctl(['-t', str(left), 'await_startup'], timeout=left + 30)
            if code == 0:
                return
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise unittest.SkipTest(f'RabbitMQ did not start: {err}')
            time.sleep(1)

    def ctl(self, args, stdin=None, timeout=TOOL_TIMEOUT_S, tool='rabbitmqctl'):
        for _ in range(3):  # a second rabbitmqctl may collide with the first on its CLI node name
            result = subprocess.run([os.path.join(RABBITMQ_BIN, tool), '-n', self.name,
                                     *args], env=self.env, input=stdin, capture_output=True,
                                    timeout=timeout)
            err = result.stderr.decode('utf-8', 'replace')
            # The node's own log lines (a warning before an error) are not the command's output.
            err = re.sub(r'^\n?\d\d:\d\d:\d\d\.\d+ \[\w+\] .*\n', '', err, flags=re.M)
            if 'Protocol \'inet_tcp\': the name' not in err:
                return (result.returncode, result.stdout.decode('utf-8', 'replace'), err)
        return (result.returncode, result.stdout.decode('utf-8', 'replace'), err)

    def stop(self):
        if self.process is None:
            return
        try:
            self.ctl(['shutdown'], timeout=60)
            self.process.wait(timeout=60)
        except Exception:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        # The node started an epmd of its own on its private port, which outlives the node.
        epmd = shutil.which('epmd') or '/usr/bin/epmd'
        subprocess.run([epmd, '-port', self.env['ERL_EPMD_PORT'], '-kill'], env=self.env,
                       capture_output=True, timeout=30)
        self.output.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@unittest.skipUnless(rabbitmq_available(), 'RabbitMQ (rabbitmq-server) is not installed')
class RabbitmqctlCompareTest(unittest.TestCase):
    rabbit = None
    broker = None

    @classmethod
    def setUpClass(cls):
        if harness.amqp_url_override():
            raise unittest.SkipTest('compares its own lepusd with its own RabbitMQ node')
        cls.broker = harness.Broker().start()
        cls.rabbit = RabbitNode()
        try:
            cls.rabbit.start()
        except BaseException:
            cls.broker.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.rabbit is not None:
            cls.rabbit.stop()
        if cls.broker is not None:
            cls.broker.stop()

    def test_diagnostics_match_rabbitmq_diagnostics(self):
        data_dir = os.path.join(self.broker.work_dir, 'data')
        for step in DIAGNOSTICS:
            theirs = self.rabbit.ctl(step.args, tool='rabbitmq-diagnostics')
            ours = run_lepusctl(data_dir, step.args)
            with self.subTest(args=step.args):
                self.assertEqual(comparable(step, *ours), comparable(step, *theirs),
                                 f'{step.args}\nrabbitmq-diagnostics: {theirs!r}\n'
                                 f'lepusctl:             {ours!r}')

    def test_sequence_matches_rabbitmqctl(self):
        data_dir = os.path.join(self.broker.work_dir, 'data')
        rabbit = run_sequence(amqp_connector('127.0.0.1', self.rabbit.amqp_port),
                              self.rabbit.ctl)
        lepus = run_sequence(amqp_connector(self.broker.host, self.broker.port),
                             lambda args: run_lepusctl(data_dir, args))
        # In lockstep, so that both brokers hold the same state at each step.
        for (step, theirs, raw_theirs), (_, ours, raw_ours) in zip(rabbit, lepus):
            with self.subTest(args=step.args):
                self.assertEqual(ours, theirs,
                                 f'{step.args}\nrabbitmqctl: {raw_theirs!r}\n'
                                 f'lepusctl:    {raw_ours!r}')


if __name__ == '__main__':
    harness.main()
