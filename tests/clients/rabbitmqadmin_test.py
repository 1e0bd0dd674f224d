#!/usr/bin/python3
"""Debian's own rabbitmqadmin (from the rabbitmq-server package), unchanged, against lepusd's
management API: every list, show overview, declare, delete, purge, publish, get, export and
import. Skipped where rabbitmqadmin is not installed."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

import harness
from harness import BrokerTestCase
from management_api_test import management_url

RABBITMQADMIN = shutil.which("rabbitmqadmin") or "/usr/bin/rabbitmqadmin"


@unittest.skipUnless(os.path.exists(RABBITMQADMIN), "rabbitmqadmin is not installed")
class RabbitmqadminTest(BrokerTestCase):

    def admin(self, *args, expect_ok=True):
        url = management_url(self.broker)
        host, port = url.rsplit("//", 1)[1].rsplit(":", 1)
        result = subprocess.run(
            ["/usr/bin/python3", RABBITMQADMIN, "--host", host, "--port", port, "-u", "guest",
             "-p", "guest", *args], capture_output=True, text=True, timeout=60)
        if expect_ok:
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        return result

    def rows(self, *args):
        """A list command's rows, as rabbitmqadmin prints them with -f raw_json."""
        return json.loads(self.admin("-f", "raw_json", *args).stdout)

    def test_every_list_answers(self):
        for kind in ("connections", "channels", "consumers", "exchanges", "queues", "bindings",
                     "users", "vhosts", "permissions", "nodes", "parameters", "policies",
                     "operator_policies", "vhost_limits"):
            with self.subTest(kind=kind):
                result = self.admin("list", kind, expect_ok=False)
                self.assertEqual(result.returncode, 0, f"list {kind}: {result.stderr}")
        self.assertIn("guest", [u["name"] for u in self.rows("list", "users")])
        self.assertIn("/", [v["name"] for v in self.rows("list", "vhosts")])
        self.assertEqual(len(self.rows("list", "nodes")), 1)

    def test_show_overview(self):
        result = self.admin("show", "overview")
        self.assertIn("rabbitmq_version", result.stdout)
        self.assertIn("queue_totals.messages", result.stdout)

    def test_declare_publish_get_purge_and_delete(self):
        exchange = self.unique("admin-exchange")
        queue = self.unique("admin-queue")
        self.delete_queues_after(queue)
        self.delete_exchanges_after(exchange)
        self.assertIn("exchange declared",
                      self.admin("declare", "exchange", f"name={exchange}", "type=topic").stdout)
        self.assertIn("queue declared",
                      self.admin("declare", "queue", f"name={queue}", "durable=false").stdout)
        self.assertIn("binding declared",
                      self.admin("declare", "binding", f"source={exchange}",
                                 f"destination={queue}", "routing_key=a.#").stdout)
        bindings = [b for b in self.rows("list", "bindings") if b["source"] == exchange]
        self.assertEqual([(b["destination"], b["routing_key"]) for b in bindings],
                         [(queue, "a.#")])
        for payload in ("first", "second"):
            self.assertIn("Message published",
                          self.admin("publish", f"exchange={exchange}", "routing_key=a.b",
                                     f"payload={payload}").stdout)
        got = self.rows("get", f"queue={queue}", "count=2")
        self.assertEqual([m["payload"] for m in got], ["first", "second"])
        self.assert_message_count(queue, 2)  # ack_requeue_true put them back
        taken = self.rows("get", f"queue={queue}", "ackmode=ack_requeue_false")
        self.assertEqual(taken[0]["payload"], "first")
        self.assertTrue(taken[0]["redelivered"])
        self.assert_message_count(queue, 1)
        self.assertIn("queue purged", self.admin("purge", "queue", f"name={queue}").stdout)
        self.assert_message_count(queue, 0)
        self.assertIn("binding deleted",
                      self.admin("delete", "binding", f"source={exchange}",
                                 f"destination={queue}", "destination_type=queue",
                                 "properties_key=a.%23").stdout)
        self.assertIn("queue deleted", self.admin("delete", "queue", f"name={queue}").stdout)
        self.assertIn("exchange deleted",
                      self.admin("delete", "exchange", f"name={exchange}").stdout)
        self.assertNotIn(queue, [q["name"] for q in self.rows("list", "queues")])

    def test_users_vhosts_and_permissions(self):
        vhost = self.unique("admin-vhost")
        user = self.unique("admin-user")
        self.assertIn("vhost declared", self.admin("declare", "vhost", f"name={vhost}").stdout)
        self.admin("declare", "user", f"name={user}", "password=secret",
                   "tags=management")
        self.admin("declare", "permission", f"vhost={vhost}", f"user={user}",
                   "configure=.*", "write=.*", "read=.*")
        self.assertIn({"user": user, "vhost": vhost, "configure": ".*", "write": ".*",
                       "read": ".*"}, self.rows("list", "permissions"))
        connection = self.broker.connect(user=user, password="secret", virtual_host=vhost)
        connection.close()
        self.admin("delete", "permission", f"vhost={vhost}", f"user={user}")
        self.admin("delete", "user", f"name={user}")
        self.admin("delete", "vhost", f"name={vhost}")
        self.assertNotIn(vhost, [v["name"] for v in self.rows("list", "vhosts")])

    def test_export_then_import(self):
        queue = self.unique("admin-exported")
        self.delete_queues_after(queue)
        self.admin("declare", "queue", f"name={queue}", "durable=true")
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "definitions.json")
            self.assertIn("Exported definitions", self.admin("export", path).stdout)
            with open(path) as f:
                exported = json.load(f)
            self.assertIn(queue, [q["name"] for q in exported["queues"]])
            self.admin("delete", "queue", f"name={queue}")
            self.assertIn("Uploaded definitions", self.admin("import", path).stdout)
        self.assertIn(queue, [q["name"] for q in self.rows("list", "queues")])


if __name__ == "__main__":
    harness.main()
