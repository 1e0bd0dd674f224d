"""Users, vhosts and logins with pika, as RabbitMQ 3.10 answers them.

lepusctl has no user commands yet, so these tests make their users and vhosts the way a data
directory allows: the default user and vhost of a new data directory, from the config file
(rabbitmq.conf's default_user, default_pass, default_vhost, default_user_tags and
loopback_users). They check the login refusals, 530 on connection.open, the loopback rule,
validated user-id, and that the defaults apply to a new data directory only and survive a
restart and a SIGKILL. Permission checks per AMQP operation are covered by
tests/net/access_test.cc, from a table. The expectations of the first test class hold against
RabbitMQ 3.10 too (AMQP_URL_OVERRIDE); the others need their own lepusd.
"""
import socket
import subprocess
import unittest

import pika
from pika.exceptions import (ChannelClosedByBroker, ProbableAccessDeniedError,
                             ProbableAuthenticationError)

import harness
from harness import BrokerTestCase

LOGIN_REFUSED = ("ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. "
                 "For details see the broker logfile.")


def non_loopback_address():
    """An IPv4 address of this host that is not loopback, or None."""
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True,
                             timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for address in out.split():
        if "." in address and not address.startswith("127."):
            return address
    return None


class DefaultUserTest(BrokerTestCase):
    """A new data directory's guest/guest in vhost /."""

    def test_guest_logs_in_and_a_wrong_password_is_refused(self):
        self.assertTrue(self.connect().is_open)
        with self.assertRaises(ProbableAuthenticationError) as caught:
            self.connect(password="wrong")
        self.assertIn(f"(403) '{LOGIN_REFUSED}'", str(caught.exception))
        with self.assertRaises(ProbableAuthenticationError):
            self.connect(user="nobody", password="x")

    def test_a_missing_vhost_is_refused_with_530(self):
        vhost = self.unique("no-such-vhost")
        with self.assertRaises(ProbableAccessDeniedError) as caught:
            self.connect(virtual_host=vhost)
        self.assertIn(f"(530) 'NOT_ALLOWED - vhost {vhost} not found'", str(caught.exception))

    def test_user_id_must_name_the_user(self):
        channel = self.channel()
        with self.assertRaises(ChannelClosedByBroker) as caught:
            channel.basic_publish("", self.unique("nowhere"), b"x",
                                  properties=pika.BasicProperties(user_id="guest"))
            channel.basic_publish("", self.unique("nowhere"), b"x",
                                  properties=pika.BasicProperties(user_id="mallory"))
            channel.basic_qos(prefetch_count=0)
        self.assertEqual((caught.exception.reply_code, caught.exception.reply_text),
                         (406, "PRECONDITION_FAILED - user_id property set to 'mallory' but "
                               "authenticated user was 'guest'"))


APP_CONFIG = """
default_user = app
default_pass = s3cret
default_vhost = appvh
default_user_tags.administrator = false
"""


class BootstrapTest(unittest.TestCase):
    """rabbitmq.conf's defaults make the first user and vhost of a new data directory."""

    def test_defaults_apply_to_a_new_data_directory_only(self):
        broker = harness.own_broker(self, "configures its own lepusd", config_text=APP_CONFIG)
        app = broker.parameters(user="app", password="s3cret", virtual_host="appvh")
        connection = pika.BlockingConnection(app)
        channel = connection.channel()
        channel.queue_declare("kept", durable=True)
        connection.close()
        # guest was not created, nor vhost /.
        with self.assertRaises(ProbableAuthenticationError):
            broker.connect()
        with self.assertRaises(ProbableAccessDeniedError) as caught:
            pika.BlockingConnection(broker.parameters(user="app", password="s3cret",
                                                      virtual_host="/"))
        self.assertIn("(530) 'NOT_ALLOWED - vhost / not found'", str(caught.exception))
        # Other defaults at a restart change nothing: the stored definitions rule, through a
        # clean stop and a crash alike.
        broker._config_text = "default_user = other\ndefault_pass = other\n"
        for graceful in (True, False):
            broker.restart(graceful=graceful)
            connection = pika.BlockingConnection(app)
            connection.channel().queue_declare("kept", passive=True)
            connection.close()
            with self.assertRaises(ProbableAuthenticationError):
                pika.BlockingConnection(broker.parameters(user="other", password="other",
                                                          virtual_host="appvh"))


class LoopbackTest(unittest.TestCase):
    """guest may log in over loopback only, unless loopback_users says otherwise."""

    def start(self, config_text=None):
        address = non_loopback_address()
        if address is None:
            self.skipTest("this host has no non-loopback IPv4 address")
        if harness.amqp_url_override():
            self.skipTest("listens on every address")
        broker = harness.Broker(config_text=config_text)
        broker.host = "0.0.0.0"
        broker.start()
        self.addCleanup(broker.stop)
        return broker, address

    def connect_from(self, broker, host):
        return pika.BlockingConnection(pika.ConnectionParameters(
            host=host, port=broker.port, credentials=pika.PlainCredentials("guest", "guest"),
            connection_attempts=1))

    def test_guest_is_refused_from_another_address(self):
        broker, address = self.start()
        self.assertTrue(self.connect_from(broker, "127.0.0.1").is_open)
        with self.assertRaises(ProbableAuthenticationError) as caught:
            self.connect_from(broker, address)
        self.assertIn(f"(403) '{LOGIN_REFUSED}'", str(caught.exception))
        self.assertIn("user 'guest' can only connect via localhost", broker.stderr_text())

    def test_loopback_users_guest_false_lifts_the_rule(self):
        for config in ("loopback_users.guest = false\n", "loopback_users = none\n"):
            with self.subTest(config=config):
                broker, address = self.start(config)
                self.assertTrue(self.connect_from(broker, address).is_open)


if __name__ == "__main__":
    harness.main()
