"""Policies and operator policies set with rabbitmqctl's commands, seen by pika: a policy
changes queues and exchanges that exist and those declared later, clearing it restores them,
the highest priority wins, an operator policy's lower limit wins, and policies survive a
restart.

The CLI steps go through lepusctl against the test's own lepusd. The same file runs against
RabbitMQ 3.10: set AMQP_URL_OVERRIDE to its AMQP URL and LEPUS_RABBITMQCTL to the command that
runs its rabbitmqctl, for example
  AMQP_URL_OVERRIDE=amqp://guest:guest@127.0.0.1:5690/ \\
  LEPUS_RABBITMQCTL='runuser -u rabbitmq -- env HOME=/var/lib/rabbitmq rabbitmqctl -n policy@localhost' \\
  /usr/bin/python3 tests/clients/policies_test.py
so the expectations are RabbitMQ's own (the restart test needs a lepusd of its own and is
skipped there).
"""
import json
import re
import subprocess
import time

import harness
from harness import BrokerTestCase, Cli


class PoliciesTest(BrokerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cli = Cli(cls.broker)

    def set_policy(self, name, pattern, definition, *options, operator=False):
        """Sets a policy (cleared at the end of the test) and waits for RabbitMQ's queues,
        which learn of a policy a moment after rabbitmqctl returns."""
        kind = "operator_policy" if operator else "policy"
        self.cli(f"set_{kind}", *options, name, pattern, json.dumps(definition))
        self.addCleanup(self.clear_if_set, kind, name)
        if self.broker.external:
            time.sleep(0.3)

    def clear_if_set(self, kind, name):
        listed = self.cli.rows("list_policies" if kind == "policy" else "list_operator_policies")
        if any(row["name"] == name for row in listed):
            self.cli(f"clear_{kind}", name)

    def clear_policy(self, name):
        self.cli("clear_policy", name)
        if self.broker.external:
            time.sleep(0.3)

    def only(self, name):
        """A pattern that matches this one name."""
        return "^" + re.escape(name) + "$"

    def publish(self, channel, queue, count, exchange="", **properties):
        for i in range(count):
            channel.basic_publish(exchange, queue, str(i).encode())

    def queue_policy(self, name):
        for row in self.cli.rows("list_queues", "name", "policy"):
            if row["name"] == name:
                return row["policy"]
        return None

    def test_message_ttl_policy_expires_messages_of_an_existing_queue(self):
        channel = self.channel()
        queue = self.queue(channel, "policy.ttl")
        self.set_policy(self.unique("ttl"), self.only(queue), {"message-ttl": 200},
                        "--apply-to", "queues")
        self.publish(channel, queue, 3)
        self.assert_message_count(queue, 3, timeout_s=0)
        time.sleep(0.5)
        self.assertIsNone(channel.basic_get(queue, auto_ack=True)[0])
        self.assert_message_count(queue, 0)

    def test_max_length_drop_head_trims_an_existing_queue_at_once(self):
        channel = self.channel()
        queue = self.queue(channel, "policy.maxlen")
        self.publish(channel, queue, 5)
        self.assert_message_count(queue, 5)
        name = self.unique("maxlen")
        self.set_policy(name, self.only(queue), {"max-length": 2, "overflow": "drop-head"})
        self.assert_message_count(queue, 2)
        self.assertEqual(channel.basic_get(queue, auto_ack=True)[2], b"3")
        self.assertEqual(self.queue_policy(queue), name)

    def test_dead_letter_exchange_policy_routes_expired_messages(self):
        channel = self.channel()
        dead_letters = self.exchange(channel, "policy.dlx", "fanout")
        dead = self.queue(channel, "policy.dead")
        channel.queue_bind(dead, dead_letters)
        queue = self.queue(channel, "policy.expiring")
        self.set_policy(self.unique("dlx"), self.only(queue),
                        {"message-ttl": 100, "dead-letter-exchange": dead_letters})
        self.publish(channel, queue, 1)
        self.assert_message_count(dead, 1)
        method, properties, body = channel.basic_get(dead, auto_ack=True)
        self.assertEqual(body, b"0")
        death = properties.headers["x-death"][0]
        self.assertEqual((death["reason"], death["queue"]), ("expired", queue))

    def test_alternate_exchange_policy_catches_unroutable_messages(self):
        channel = self.channel()
        exchange = self.exchange(channel, "policy.main", "direct")
        alternate = self.exchange(channel, "policy.ae", "fanout")
        caught = self.queue(channel, "policy.caught")
        channel.queue_bind(caught, alternate)
        name = self.unique("ae")
        self.set_policy(name, self.only(exchange), {"alternate-exchange": alternate},
                        "--apply-to", "exchanges")
        channel.basic_publish(exchange, "nobody", b"lost")
        self.assert_message_count(caught, 1)
        listed = {row["name"]: row["policy"]
                  for row in self.cli.rows("list_exchanges", "name", "policy")}
        self.assertEqual(listed[exchange], name)
        self.clear_policy(name)
        channel.basic_publish(exchange, "nobody", b"lost")
        time.sleep(0.2)
        self.assert_message_count(caught, 1)

    def test_clearing_a_policy_restores_the_queue(self):
        channel = self.channel()
        queue = self.queue(channel, "policy.cleared")
        name = self.unique("cleared")
        self.set_policy(name, self.only(queue), {"max-length": 1})
        self.publish(channel, queue, 3)
        self.assert_message_count(queue, 1)
        self.clear_policy(name)
        self.assertEqual(self.queue_policy(queue), "")
        self.publish(channel, queue, 3)
        self.assert_message_count(queue, 4)

    def test_a_queue_declared_later_takes_the_policy(self):
        queue = self.unique("policy.later")
        self.set_policy(self.unique("later"), self.only(queue), {"max-length": 2})
        channel = self.channel()
        self.delete_queues_after(queue)
        channel.queue_declare(queue)
        self.publish(channel, queue, 4)
        self.assert_message_count(queue, 2)

    def test_priority_decides_between_matching_policies(self):
        channel = self.channel()
        queue = self.queue(channel, "policy.priority")
        low, high = self.unique("low"), self.unique("high")
        self.set_policy(high, self.only(queue), {"max-length": 2}, "--priority", "2")
        self.set_policy(low, "^" + re.escape(queue), {"max-length": 4}, "--priority", "1")
        self.publish(channel, queue, 6)
        self.assert_message_count(queue, 2)
        self.assertEqual(self.queue_policy(queue), high)

    def test_an_arguments_lower_limit_wins_over_the_policy(self):
        channel = self.channel()
        queue = self.queue(channel, "policy.argument", arguments={"x-max-length": 1})
        self.set_policy(self.unique("looser"), self.only(queue), {"max-length": 3})
        self.publish(channel, queue, 4)
        self.assert_message_count(queue, 1)

    def test_operator_policy_lower_max_length_wins(self):
        channel = self.channel()
        queue = self.queue(channel, "policy.operator")
        self.set_policy(self.unique("user"), self.only(queue), {"max-length": 5})
        operator = self.unique("operator")
        self.set_policy(operator, self.only(queue), {"max-length": 2}, operator=True)
        self.publish(channel, queue, 6)
        self.assert_message_count(queue, 2)
        listed = [row["name"] for row in self.cli.rows("list_operator_policies")]
        self.assertIn(operator, listed)

    def test_invalid_policies_are_refused_in_rabbitmqctls_words(self):
        refused = subprocess.run(self.cli.prefix + ["set_policy", self.unique("bad"), "^x",
                                                    '{"max-length":-1}'],
                                 capture_output=True, text=True, timeout=60)
        self.assertEqual(refused.returncode, 69)
        self.assertEqual(refused.stderr,
                         "Error:\nValidation failed\n\n-1 is not a valid maximum length\n\n")

    def test_policies_survive_a_restart(self):
        broker = harness.own_broker(self, "restarts the broker it starts")
        cli = Cli(broker)
        connection = broker.connect()
        channel = connection.channel()
        channel.queue_declare("kept", durable=True)
        cli("set_policy", "--priority", "7", "keep", "^kept$", '{"max-length":1}')
        cli("set_operator_policy", "cap", "^kept$", '{"message-ttl":60000}')
        connection.close()
        broker.restart()
        self.assertEqual(cli("list_policies", "--no-table-headers"),
                         '/\tkeep\t^kept$\tall\t{"max-length":1}\t7\n')
        self.assertEqual(cli("list_operator_policies", "--no-table-headers"),
                         '/\tcap\t^kept$\tall\t{"message-ttl":60000}\t0\n')
        connection = broker.connect()
        channel = connection.channel()
        for _ in range(3):
            channel.basic_publish("", "kept", b"x")
        deadline = time.monotonic() + 5
        while channel.queue_declare("kept", passive=True).method.message_count != 1:
            self.assertLess(time.monotonic(), deadline, "max-length 1 after the restart")
            time.sleep(0.05)
        connection.close()


if __name__ == "__main__":
    harness.main()
