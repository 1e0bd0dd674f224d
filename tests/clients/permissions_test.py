"""An application's own user and vhost, set up with rabbitmqctl's commands, seen by pika and
kombu: what it may do, what is refused and in which words, limits, and the validated user-id.

The CLI steps go through lepusctl against the test's own lepusd. The same file runs against
RabbitMQ 3.10: set AMQP_URL_OVERRIDE to its AMQP URL and LEPUS_RABBITMQCTL to the command that
runs its rabbitmqctl, for example
  AMQP_URL_OVERRIDE=amqp://guest:guest@127.0.0.1:5680/ \\
  LEPUS_RABBITMQCTL='runuser -u rabbitmq -- env HOME=/var/lib/rabbitmq rabbitmqctl -n bench@localhost' \\
  /usr/bin/python3 tests/clients/permissions_test.py
so the expectations are RabbitMQ's own.
"""

import kombu
import pika
from pika.exceptions import (ChannelClosedByBroker, ConnectionClosedByBroker,
                             ProbableAccessDeniedError)

import harness
from harness import BrokerTestCase, Cli

VHOST = "perm-app"
USER = "perm-user"
PASSWORD = "perm-pass"


class PermissionsTest(BrokerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cli = Cli(cls.broker)
        cls.cli("add_vhost", VHOST)
        cls.cli("add_user", USER, PASSWORD)
        cls.cli("set_permissions", "-p", VHOST, USER, "^app\\.", "^(app\\.|amq\\.default)",
                "^app\\.")

    @classmethod
    def tearDownClass(cls):
        if hasattr(cls, "cli"):
            cls.cli("delete_user", USER)
            cls.cli("delete_vhost", VHOST)
        super().tearDownClass()

    def app_connection(self, user=USER, password=PASSWORD, **kwargs):
        connection = pika.BlockingConnection(self.broker.parameters(
            user=user, password=password, virtual_host=VHOST, **kwargs))
        self.addCleanup(lambda: connection.is_open and connection.close())
        return connection

    def refused(self, action):
        with self.assertRaises(ChannelClosedByBroker) as closed:
            action()
        return closed.exception.reply_code, closed.exception.reply_text

    def test_the_user_works_within_its_permissions(self):
        channel = self.app_connection().channel()
        channel.queue_declare("app.work", auto_delete=True)
        channel.basic_publish("", "app.work", b"job")
        method, _props, body = channel.basic_get("app.work", auto_ack=True)
        self.assertEqual(body, b"job")

    def test_refusals_name_the_resource_in_rabbitmqs_words(self):
        connection = self.app_connection()
        code, text = self.refused(lambda: connection.channel().queue_declare("other.q"))
        self.assertEqual((code, text), (403, f"ACCESS_REFUSED - access to queue 'other.q' in "
                                             f"vhost '{VHOST}' refused for user '{USER}'"))
        channel = connection.channel()
        channel.confirm_delivery()
        code, text = self.refused(lambda: channel.basic_publish("amq.topic", "k", b"x"))
        self.assertEqual((code, text), (403, f"ACCESS_REFUSED - access to exchange 'amq.topic' "
                                             f"in vhost '{VHOST}' refused for user '{USER}'"))

    def test_a_vhost_without_permissions_is_not_allowed(self):
        self.cli("add_user", "perm-stranger", "x")
        self.addCleanup(self.cli, "delete_user", "perm-stranger")
        with self.assertRaises(ProbableAccessDeniedError) as refused:
            pika.BlockingConnection(self.broker.parameters(
                user="perm-stranger", password="x", virtual_host=VHOST))
        self.assertIn("NOT_ALLOWED", str(refused.exception))
        self.assertIn(f"access to vhost '{VHOST}' refused for user 'perm-stranger'",
                      str(refused.exception))

    def test_changed_permissions_apply_to_open_channels(self):
        connection = self.app_connection()
        channel = connection.channel()
        channel.queue_declare("app.live", auto_delete=True)
        self.cli("set_permissions", "-p", VHOST, USER, "^nothing$", "^nothing$", "^nothing$")
        self.addCleanup(self.cli, "set_permissions", "-p", VHOST, USER, "^app\\.",
                        "^(app\\.|amq\\.default)", "^app\\.")
        code, _text = self.refused(lambda: channel.queue_declare("app.live2"))
        self.assertEqual(code, 403)

    def test_user_id_must_be_the_users_own_unless_impersonator(self):
        channel = self.app_connection().channel()
        channel.queue_declare("app.ids", auto_delete=True)
        channel.basic_publish("", "app.ids", b"mine", pika.BasicProperties(user_id=USER))
        code, text = self.refused(lambda: (
            channel.basic_publish("", "app.ids", b"theirs",
                                  pika.BasicProperties(user_id="someone")),
            channel.queue_declare("app.ids", passive=True)))
        self.assertEqual((code, text),
                         (406, f"PRECONDITION_FAILED - user_id property set to 'someone' but "
                               f"authenticated user was '{USER}'"))
        self.cli("set_user_tags", USER, "impersonator")
        self.addCleanup(self.cli, "set_user_tags", USER)
        channel = self.app_connection().channel()
        channel.basic_publish("", "app.ids", b"theirs", pika.BasicProperties(user_id="someone"))
        channel.queue_declare("app.ids", passive=True)

    def test_vhost_connection_limit(self):
        self.cli("set_vhost_limits", "-p", VHOST, '{"max-connections": 2}')
        self.addCleanup(self.cli, "clear_vhost_limits", "-p", VHOST)
        self.app_connection()
        self.app_connection()
        with self.assertRaises(ProbableAccessDeniedError) as refused:
            self.app_connection()
        self.assertIn(f"access to vhost '{VHOST}' refused for user '{USER}': connection limit "
                      f"(2) is reached", str(refused.exception))

    def test_user_channel_limit(self):
        self.cli("set_user_limits", USER, '{"max-channels": 2}')
        self.addCleanup(self.cli, "clear_user_limits", USER, "max-channels")
        first = self.app_connection()
        second = self.app_connection()
        first.channel()
        second.channel()
        with self.assertRaises(ConnectionClosedByBroker) as closed:
            first.channel()
        self.assertEqual((closed.exception.reply_code, closed.exception.reply_text),
                         (530, f"NOT_ALLOWED - number of channels opened for user '{USER}' has "
                               f"reached the maximum allowed user limit of (2)"))

    def test_kombu_as_the_application_user(self):
        url = (f"amqp://{USER}:{PASSWORD}@{self.broker.host}:{self.broker.port}/"
               f"{VHOST.replace('/', '%2F')}")
        with kombu.Connection(url, connect_timeout=10) as connection:
            queue = connection.SimpleQueue("app.kombu")
            queue.put({"job": 1})
            message = queue.get(timeout=10)
            self.assertEqual(message.payload, {"job": 1})
            message.ack()
            queue.consumer.cancel()
            queue.queue.delete()
            queue.close()
            # Outside its patterns kombu sees the broker's refusal.
            with self.assertRaises(Exception) as refused:
                connection.SimpleQueue("other.kombu").put({"job": 2})
            self.assertIn("ACCESS_REFUSED", str(refused.exception))


if __name__ == "__main__":
    harness.main()
