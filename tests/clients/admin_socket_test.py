"""The administration socket (net/admin/README.md), spoken to directly in its JSON.

lepusctl's rabbitmqctl commands are clients of this socket; these tests pin what the socket
itself promises: who may connect, that changes are on disk and applied everywhere before the
answer, that it works with every user deleted, that rows are gathered from every shard, and
that bad requests get a clear answer while the broker goes on.
"""
import json
import os
import socket
import stat
import subprocess
import time
import unittest

import pika
from pika.exceptions import ConnectionClosedByBroker

import harness


def socket_path(broker):
    return os.path.join(broker.work_dir, "data", "lepusctl.sock")


def raw_request(path, payload, timeout_s=10.0):
    """Sends bytes, shuts the writing side, returns every byte of the answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout_s)
        s.connect(path)
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk


def request(broker, command, **fields):
    fields["command"] = command
    answer = raw_request(socket_path(broker), json.dumps(fields).encode())
    return json.loads(answer)


class AdminSocketTest(unittest.TestCase):
    def setUp(self):
        self.broker = harness.own_broker(self, "needs its own lepusd's data directory")

    def ok(self, command, **fields):
        answer = request(self.broker, command, **fields)
        self.assertTrue(answer.get("ok"), f"{command}: {answer}")
        return answer

    def refused(self, command, reason, **fields):
        answer = request(self.broker, command, **fields)
        self.assertFalse(answer.get("ok"), f"{command}: {answer}")
        self.assertEqual(answer.get("reason"), reason, answer)
        return answer["error"]

    def test_socket_is_owned_by_lepusd_and_private(self):
        st = os.stat(socket_path(self.broker))
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertEqual(st.st_uid, os.geteuid())

    def test_another_user_is_refused_even_where_the_file_lets_them_in(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to connect as another user")
        path = socket_path(self.broker)
        probe = ("import socket,sys\n"
                 "s=socket.socket(socket.AF_UNIX)\n"
                 "try:\n"
                 f"    s.connect({path!r})\n"
                 "except OSError as e:\n"
                 "    print('connect-failed', e.errno); sys.exit(0)\n"
                 "try:\n"
                 "    s.sendall(b'{\"command\":\"list_users\"}'); s.shutdown(socket.SHUT_WR)\n"
                 "    print('answer', repr(s.recv(65536)))\n"
                 "except OSError:\n"
                 "    print('answer', repr(b''))\n")
        run = ["runuser", "-u", "nobody", "--", "/usr/bin/python3", "-c", probe]
        # The file's mode keeps others out first, even where its directories let them through.
        os.chmod(self.broker.work_dir, 0o711)
        os.chmod(os.path.dirname(path), 0o711)
        out = subprocess.run(run, capture_output=True, text=True, timeout=30).stdout
        self.assertIn("connect-failed", out)
        # With the file opened to everyone, SO_PEERCRED still refuses: no answer, a log line.
        os.chmod(path, 0o666)
        try:
            out = subprocess.run(run, capture_output=True, text=True, timeout=30).stdout
        finally:
            os.chmod(path, 0o600)
        self.assertIn("answer b''", out)
        deadline = time.monotonic() + 5
        while "neither root nor lepusd's user" not in self.broker.stderr_text():
            self.assertLess(time.monotonic(), deadline, self.broker.stderr_text())
            time.sleep(0.05)
        self.ok("ping")

    def test_changes_are_durable_when_answered_and_log_in_through_any_shard(self):
        self.ok("add_vhost", vhost="app")
        self.ok("add_user", user="app", password="s3cret", tags=["monitoring", "custom"])
        self.ok("set_permissions", user="app", vhost="app", configure="^app\\.",
                write="^app\\.", read="^app\\.")
        self.ok("set_topic_permissions", user="app", vhost="app", exchange="amq.topic",
                write="^a", read="^b")
        self.ok("set_vhost_limits", vhost="app", definition='{"max-queues": 7}')
        self.ok("set_user_limits", user="app", definition='{"max-channels": 9}')
        # SIGKILL right after the answers: each was on disk before it was given.
        self.broker.restart(graceful=False)
        users = {row["user"]: row["tags"] for row in self.ok("list_users")["rows"]}
        self.assertEqual(users["app"], ["monitoring", "custom"])
        self.assertEqual(self.ok("list_permissions", vhost="app")["rows"],
                         [{"user": "app", "configure": "^app\\.", "write": "^app\\.",
                           "read": "^app\\."}])
        self.assertEqual(self.ok("list_topic_permissions", vhost="app")["rows"],
                         [{"user": "app", "exchange": "amq.topic", "write": "^a",
                           "read": "^b"}])
        self.assertEqual(self.ok("list_vhost_limits", vhost="app")["rows"],
                         [{"vhost": "app", "limits": {"max-queues": 7}}])
        self.assertEqual(self.ok("list_user_limits", user="app")["rows"],
                         [{"user": "app", "limits": {"max-channels": 9}}])
        # Connections land on both shards: each logs in with what the answer promised.
        for _ in range(4):
            connection = pika.BlockingConnection(
                self.broker.parameters(user="app", password="s3cret", virtual_host="app"))
            connection.channel().queue_declare("app.q")
            connection.close()
        self.ok("authenticate_user", user="app", password="s3cret")
        self.assertEqual(self.refused("authenticate_user", "refused", user="app",
                                      password="wrong"),
                         "user 'app' - invalid credentials")

    def test_refusals_carry_rabbitmqctl_texts(self):
        self.ok("add_user", user="dup", password="x")
        self.assertEqual(self.refused("add_user", "already_exists", user="dup", password="y"),
                         'User "dup" already exists')
        self.assertEqual(self.refused("delete_user", "no_such_user", user="ghost"),
                         'User "ghost" does not exist')
        self.assertEqual(self.refused("set_permissions", "no_such_vhost", user="dup",
                                      vhost="nowhere", configure="", write="", read=""),
                         "Virtual host nowhere does not exist")
        self.assertEqual(self.refused("set_permissions", "invalid_argument", user="dup",
                                      vhost="/", configure="(", write="", read=""),
                         "regular expression '(' is invalid")
        self.assertEqual(self.refused("list_permissions", "no_such_vhost", vhost="nowhere"),
                         "Virtual host 'nowhere' does not exist")
        self.assertEqual(self.refused("list_user_permissions", "no_such_user", user="ghost"),
                         '{:no_such_user, "ghost"}')
        self.assertEqual(self.ok("list_queues", vhost="nowhere")["rows"], [])
        self.assertEqual(self.refused("delete_queue", "not_found", vhost="/", queue="none"),
                         "Queue not found")
        self.assertEqual(self.refused("purge_queue", "not_found", vhost="/", queue="none"),
                         "not_found")
        self.assertIn("Unrecognised terms",
                      self.refused("set_vhost_limits", "invalid_argument", vhost="/",
                                   definition='{"max-bananas": 1}'))

    def test_every_user_deleted_the_socket_still_administers(self):
        self.ok("delete_user", user="guest")
        self.assertEqual(self.ok("list_users")["rows"], [])
        with self.assertRaises(pika.exceptions.AMQPConnectionError):
            self.broker.connect()
        self.ok("add_user", user="rescue", password="r", tags=["administrator"])
        self.ok("set_permissions", user="rescue", vhost="/", configure=".*", write=".*",
                read=".*")
        self.broker.connect(user="rescue", password="r").close()

    def test_rows_come_from_every_shard(self):
        # The kernel picks each connection's shard: connect until both shards hold some.
        connections = []
        n = 0
        while n < 6 or len({row["pid"].split(".")[1]
                            for row in self.ok("list_connections")["rows"]}) < 2:
            self.assertLess(n, 40, "every connection landed on one shard")
            connection = self.broker.connect(client_properties={"connection_name": f"c{n}"})
            channel = connection.channel()
            channel.basic_qos(prefetch_count=5 + n)
            name = f"q{n}"
            channel.queue_declare(name)
            for _ in range(n):
                channel.basic_publish("", name, b"m")
            channel.basic_consume(name, lambda *a: None, consumer_tag=f"tag{n}")
            connections.append(connection)
            n += 1
        harness.settle(connections[-1])
        rows = self.ok("list_connections")["rows"]
        self.assertEqual(len(rows), n)
        names = sorted(row["client_properties"]["connection_name"] for row in rows)
        self.assertEqual(names, sorted(f"c{i}" for i in range(n)))
        for row in rows:
            self.assertEqual((row["user"], row["vhost"], row["state"]), ("guest", "/", "running"))
            self.assertEqual(row["auth_mechanism"], "PLAIN")
            self.assertTrue(row["name"].endswith(f"-> 127.0.0.1:{self.broker.port}"), row)
        channels = self.ok("list_channels")["rows"]
        self.assertEqual(sorted(row["prefetch_count"] for row in channels),
                         [5 + i for i in range(n)])
        pids = {row["pid"] for row in rows}
        self.assertTrue(all(row["connection"] in pids for row in channels))
        queues = {row["name"]: row for row in self.ok("list_queues", vhost="/")["rows"]}
        for i in range(n):
            self.assertEqual(queues[f"q{i}"]["consumers"], 1)
            self.assertEqual(queues[f"q{i}"]["messages"], i)  # ready or unacknowledged
        consumers = self.ok("list_consumers", vhost="/")["rows"]
        self.assertEqual(sorted(row["consumer_tag"] for row in consumers),
                         sorted(f"tag{i}" for i in range(n)))
        channel_pids = {row["pid"] for row in channels}
        self.assertTrue(all(row["channel_pid"] in channel_pids for row in consumers))
        for connection in connections:
            connection.close()

    def test_queue_counts_purge_and_delete(self):
        connection = self.broker.connect()
        channel = connection.channel()
        channel.confirm_delivery()
        channel.queue_declare("depth", durable=True, arguments={"x-max-length": 100})
        for _ in range(5):
            channel.basic_publish("", "depth", b"12345")
        queues = {row["name"]: row for row in self.ok("list_queues", vhost="/")["rows"]}
        row = queues["depth"]
        self.assertEqual((row["messages"], row["messages_ready"], row["durable"]), (5, 5, True))
        self.assertEqual(row["arguments"], {"x-max-length": 100})
        self.assertEqual(row["message_bytes"], 25)
        self.assertEqual(self.ok("purge_queue", vhost="/", queue="depth")["messages"], 5)
        channel.basic_publish("", "depth", b"x")
        self.assertEqual(self.ok("delete_queue", vhost="/", queue="depth")["messages"], 1)
        self.assertNotIn("depth",
                         [r["name"] for r in self.ok("list_queues", vhost="/")["rows"]])
        connection.close()

    def test_operator_closes_connections(self):
        first = self.broker.connect()
        second = self.broker.connect()
        pids = [row["pid"] for row in self.ok("list_connections")["rows"]]
        self.assertEqual(len(pids), 2)
        self.assertEqual(self.ok("close_connection", name="<nobody>", reason="x")["closed"], 0)
        closed = self.ok("close_connection", name=pids[0], reason="maintenance")["closed"]
        self.assertEqual(closed, 1)
        texts = []
        for connection in (first, second):
            try:
                connection.process_data_events(0.5)
            except ConnectionClosedByBroker as e:
                texts.append((e.reply_code, e.reply_text))
        self.assertEqual(texts, [(320, "CONNECTION_FORCED - maintenance")])
        self.assertEqual(self.ok("close_all_connections", reason="bye")["closed"], 1)

    def test_close_all_connections_in_a_vhost_with_a_limit(self):
        self.ok("add_vhost", vhost="other")
        self.ok("set_permissions", user="guest", vhost="other", configure=".*", write=".*",
                read=".*")
        kept = [self.broker.connect() for _ in range(2)]
        doomed = [self.broker.connect(virtual_host="other") for _ in range(5)]
        answer = self.ok("close_all_connections", vhost="other", limit=3, reason="r")
        self.assertEqual(answer["closed"], 3)
        answer = self.ok("close_all_connections", vhost="other", reason="r")
        self.assertEqual(answer["closed"], 2)
        for connection in kept:
            connection.process_data_events(0.1)
            self.assertTrue(connection.is_open)
            connection.close()
        del doomed

    def test_delete_vhost_takes_its_queues_and_connections(self):
        self.ok("add_vhost", vhost="gone")
        self.ok("set_permissions", user="guest", vhost="gone", configure=".*", write=".*",
                read=".*")
        connection = self.broker.connect(virtual_host="gone")
        channel = connection.channel()
        channel.queue_declare("inside", durable=True)
        channel.basic_publish("", "inside", b"m", pika.BasicProperties(delivery_mode=2))
        self.ok("delete_vhost", vhost="gone")
        with self.assertRaises(ConnectionClosedByBroker) as closed:
            connection.process_data_events(1.0)
        self.assertEqual(closed.exception.reply_text, "CONNECTION_FORCED - vhost 'gone' is down")
        self.assertNotIn("gone", [row["name"] for row in self.ok("list_vhosts")["rows"]])
        self.broker.restart()
        self.assertNotIn("gone", [row["name"] for row in self.ok("list_vhosts")["rows"]])

    def test_limits_count_every_shards_connections_and_channels(self):
        self.ok("set_vhost_limits", vhost="/", definition='{"max-connections": 3}')
        opened, refused = [], []
        for _ in range(8):  # the kernel spreads them over both shards
            try:
                opened.append(self.broker.connect())
            except pika.exceptions.AMQPConnectionError as e:
                refused.append(e)
        self.assertEqual((len(opened), len(refused)), (3, 5))
        opened.pop().close()
        opened.append(self.broker.connect())  # a place came free
        self.ok("clear_vhost_limits", vhost="/")
        self.ok("set_user_limits", user="guest", definition='{"max-channels": 4}')
        for connection in opened:
            connection.channel()
        opened[0].channel()
        with self.assertRaises(ConnectionClosedByBroker) as closed:
            opened[1].channel()
        self.assertEqual(closed.exception.reply_code, 530)
        self.assertEqual(closed.exception.reply_text,
                         "NOT_ALLOWED - number of channels opened for user 'guest' has reached "
                         "the maximum allowed user limit of (4)")
        for connection in opened:
            if connection.is_open:
                connection.close()

    def test_definitions_from_rabbitmq_import_and_export_again(self):
        fixture = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "core", "data",
                               "rabbitmq-3.10-definitions.json")
        with open(fixture) as f:
            definitions = json.load(f)
        # Quorum queues are refused by the declare, as a client's would be.
        answer = request(self.broker, "import_definitions", definitions=definitions)
        self.assertFalse(answer["ok"], answer)
        self.assertIn("quorum", answer["error"])
        definitions["queues"] = [q for q in definitions["queues"] if q["name"] != "q.quorum"]
        answer = self.ok("import_definitions", definitions=definitions)
        self.assertFalse(any("polic" in line for line in answer["skipped"]), answer)
        # RabbitMQ's hashes log in with the passwords RabbitMQ was given.
        self.broker.connect(user="alice", password="alice-secret", virtual_host="prod").close()
        queues = {row["name"]: row for row in self.ok("list_queues", vhost="prod")["rows"]}
        self.assertEqual(queues["q.orders"]["arguments"]["x-max-length"], 1000)
        # Its policy and operator policy, merged: the smallest max-length wins.
        self.assertEqual((queues["q.orders"]["policy"], queues["q.orders"]["operator_policy"],
                          queues["q.orders"]["effective_policy_definition"]),
                         ("max-len", "op-limit", {"max-length": 100}))
        policies = self.ok("list_policies", vhost="prod")["rows"]
        self.assertEqual([row["name"] for row in policies], ["max-len", "orders-ae"])
        tags = {row["user"]: row["tags"] for row in self.ok("list_users")["rows"]}
        self.assertEqual(tags["bob"], ["management", "custom-tag"])
        exported = self.ok("export_definitions")["definitions"]
        hashes = {u["name"]: u["password_hash"] for u in exported["users"]}
        self.assertEqual(hashes["alice"], next(u["password_hash"] for u in definitions["users"]
                                               if u["name"] == "alice"))
        # Into a new broker: the same users, vhosts, queues and bindings.
        other = harness.own_broker(self, "a second lepusd")
        answer = request(other, "import_definitions", definitions=exported)
        self.assertTrue(answer["ok"], answer)
        again = request(other, "export_definitions")["definitions"]
        for key in ("users", "vhosts", "permissions", "topic_permissions", "queues", "exchanges",
                    "bindings", "parameters", "policies"):
            self.assertEqual(sorted(map(json.dumps, again[key])),
                             sorted(map(json.dumps, exported[key])), key)
        # A second import of the same file keeps what exists.
        self.ok("import_definitions", definitions=exported)

    def test_bad_requests_get_clear_answers_and_the_broker_goes_on(self):
        path = socket_path(self.broker)
        for payload, expected in [
            (b"", "the request is not a JSON object"),
            (b"not json", "the request is not a JSON object"),
            (b"[1, 2]", "the request is not a JSON object"),
            (b'{"user": "x"}', "the request names no command"),
            (b'{"command": "format_disk"}', "unknown command 'format_disk'"),
        ]:
            answer = json.loads(raw_request(path, payload))
            self.assertEqual((answer["ok"], answer["reason"], answer["error"]),
                             (False, "invalid_argument", expected), payload)
        answer = json.loads(raw_request(path, b'{"command": "add_user", "user": 7}'))
        self.assertEqual(answer["reason"], "invalid_argument")
        self.assertIn("malformed request", answer["error"])
        answer = json.loads(raw_request(path, b'{"command": "delete_user"}'))
        self.assertEqual(answer["reason"], "invalid_argument")
        # A client that connects and says nothing holds nobody up.
        idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        idle.connect(path)
        self.ok("ping")
        idle.close()
        self.broker.connect().close()

    def test_a_killed_broker_leaves_a_socket_the_next_one_replaces(self):
        self.broker.kill()
        self.assertTrue(os.path.exists(socket_path(self.broker)))
        with self.assertRaises(ConnectionRefusedError):
            raw_request(socket_path(self.broker), b'{"command": "ping"}')
        self.broker.start()
        self.ok("ping")
        self.broker.stop()
        self.assertFalse(os.path.exists(socket_path(self.broker)))


if __name__ == "__main__":
    harness.main()
