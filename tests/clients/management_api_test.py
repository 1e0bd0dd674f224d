#!/usr/bin/python3
"""The management HTTP API, as RabbitMQ 3.10's management plugin answers it: paths, status codes,
JSON shapes, errors, tags and permissions, statistics with rates. Against another broker, give
AMQP_URL_OVERRIDE and MANAGEMENT_URL_OVERRIDE (http://127.0.0.1:15680 for a RabbitMQ node with
the management plugin); the expectations are the same."""

import base64
import json
import os
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import pika

import harness
from harness import BrokerTestCase


def management_url(broker):
    override = os.environ.get("MANAGEMENT_URL_OVERRIDE")
    if override:
        return override.rstrip("/")
    return f"http://{broker.host}:{broker.management_port}"


def quote(name):
    return urllib.parse.quote(name, safe="")


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)


class ManagementCase(BrokerTestCase):

    def request(self, method, path, body=None, user="guest", password="guest", headers=None):
        url = management_url(self.broker) + path
        data = None if body is None else (body if isinstance(body, bytes)
                                          else json.dumps(body).encode())
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("content-type", "application/json")
        if user is not None:
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            request.add_header("authorization", f"Basic {token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return Response(reply.status, reply.headers, reply.read())
        except urllib.error.HTTPError as error:
            return Response(error.code, error.headers, error.read())

    def get(self, path, **kwargs):
        reply = self.request("GET", path, **kwargs)
        self.assertEqual(reply.status, 200, reply.body)
        return reply.json()

    def put(self, path, body, expected=(201, 204), **kwargs):
        reply = self.request("PUT", path, body, **kwargs)
        self.assertIn(reply.status, expected, reply.body)
        return reply

    def delete(self, path, expected=(204,), **kwargs):
        reply = self.request("DELETE", path, **kwargs)
        self.assertIn(reply.status, expected, reply.body)
        return reply

    def add_user(self, name, tags="", vhost_permissions=()):
        self.put(f"/api/users/{quote(name)}", {"password": name, "tags": tags})
        self.addCleanup(self.request, "DELETE", f"/api/users/{quote(name)}")
        for vhost in vhost_permissions:
            self.put(f"/api/permissions/{quote(vhost)}/{quote(name)}",
                     {"configure": ".*", "write": ".*", "read": ".*"})


class AuthenticationTest(ManagementCase):

    def test_no_credentials_get_a_challenge(self):
        reply = self.request("GET", "/api/overview", user=None)
        self.assertEqual(reply.status, 401)
        self.assertIn("Basic", reply.headers.get("www-authenticate", ""))

    def test_a_wrong_password_is_refused_with_rabbitmqs_error(self):
        reply = self.request("GET", "/api/overview", password="wrong")
        self.assertEqual(reply.status, 401)
        self.assertEqual(reply.json(), {"error": "not_authorized", "reason": "Login failed"})

    def test_a_user_without_a_management_tag_is_refused(self):
        self.add_user(self.unique("plain"))
        name = self.unique("plain2")
        self.add_user(name)
        reply = self.request("GET", "/api/overview", user=name, password=name)
        self.assertEqual(reply.status, 401)
        self.assertEqual(reply.json()["reason"], "Not management user")

    def test_whoami_names_the_user_and_its_tags(self):
        self.assertEqual(self.get("/api/whoami"), {"name": "guest", "tags": ["administrator"]})

    def test_only_administrators_list_users(self):
        name = self.unique("monitor")
        self.add_user(name, "monitoring")
        reply = self.request("GET", "/api/users", user=name, password=name)
        self.assertEqual(reply.status, 401)
        self.assertEqual(reply.json()["reason"], "Not administrator user")

    def test_management_users_see_only_their_vhosts(self):
        vhost = self.unique("mgmt-vhost")
        self.put(f"/api/vhosts/{quote(vhost)}", {})
        self.addCleanup(self.request, "DELETE", f"/api/vhosts/{quote(vhost)}")
        name = self.unique("manager")
        self.add_user(name, "management", [vhost])
        names = [v["name"] for v in self.get("/api/vhosts", user=name, password=name)]
        self.assertEqual(names, [vhost])
        reply = self.request("GET", f"/api/queues/{quote('/')}", user=name, password=name)
        self.assertEqual(reply.status, 401)
        self.assertEqual(reply.json()["reason"], "User not authorised to access virtual host")


class QueuesAndExchangesTest(ManagementCase):

    def test_a_queue_put_creates_then_leaves_it(self):
        name = self.unique("api-queue")
        self.delete_queues_after(name)
        path = f"/api/queues/%2F/{quote(name)}"
        self.assertEqual(self.put(path, {"durable": True, "arguments": {"x-max-length": 10}}).status,
                         201)
        self.assertEqual(self.put(path, {"durable": True, "arguments": {"x-max-length": 10}}).status,
                         204)
        queue = self.get(path)
        for key in ("name", "vhost", "durable", "auto_delete", "exclusive", "arguments",
                    "messages", "messages_ready", "messages_unacknowledged", "consumers",
                    "state", "type", "node", "policy", "memory"):
            self.assertIn(key, queue)
        self.assertEqual(queue["arguments"], {"x-max-length": 10})
        self.assertEqual(queue["state"], "running")
        self.assertEqual(queue["type"], "classic")

    def test_an_inequivalent_declare_is_a_bad_request_with_rabbitmqs_words(self):
        name = self.unique("api-inequivalent")
        self.delete_queues_after(name)
        self.put(f"/api/queues/%2F/{quote(name)}", {"durable": True})
        reply = self.request("PUT", f"/api/queues/%2F/{quote(name)}", {"durable": False})
        self.assertEqual(reply.status, 400)
        self.assertEqual(reply.json(), {
            "error": "bad_request",
            "reason": f"inequivalent arg 'durable' for queue '{name}' in vhost '/': "
                      "received 'false' but current is 'true'"})

    def test_an_invalid_argument_is_refused_as_rabbitmq_refuses_it(self):
        name = self.unique("api-invalid")
        reply = self.request("PUT", f"/api/queues/%2F/{quote(name)}",
                             {"arguments": {"x-max-length": -1}})
        self.assertEqual(reply.status, 400)
        self.assertEqual(reply.json()["reason"],
                         f"invalid arg 'x-max-length' for queue '{name}' in vhost '/': "
                         "{value_negative,-1}")

    def test_missing_objects_are_404_in_rabbitmqs_shape(self):
        reply = self.request("GET", "/api/queues/%2F/no-such-queue")
        self.assertEqual(reply.status, 404)
        self.assertEqual(reply.json(), {"error": "Object Not Found", "reason": "Not Found"})
        reply = self.request("PUT", "/api/queues/no-such-vhost/q", {})
        self.assertEqual(reply.status, 404)
        self.assertEqual(reply.json(), {"error": "not_found", "reason": "vhost_not_found"})
        self.assertEqual(self.request("DELETE", "/api/queues/%2F/no-such-queue").status, 404)

    def test_a_body_that_is_not_json_is_a_bad_request(self):
        reply = self.request("PUT", "/api/queues/%2F/whatever", b"{bad")
        self.assertEqual(reply.status, 400)
        self.assertEqual(reply.json(), {"error": "bad_request", "reason": "not_json"})

    def test_publish_get_and_purge_through_the_api(self):
        name = self.unique("api-messages")
        self.delete_queues_after(name)
        self.put(f"/api/queues/%2F/{quote(name)}", {"durable": False})
        for payload in ("one", "two", "three"):
            reply = self.request("POST", "/api/exchanges/%2F/amq.default/publish",
                                 {"routing_key": name, "payload": payload,
                                  "payload_encoding": "string",
                                  "properties": {"content_type": "text/plain",
                                                 "headers": {"n": 1}}})
            self.assertEqual(reply.status, 200, reply.body)
            self.assertEqual(reply.json(), {"routed": True})
        got = self.request("POST", f"/api/queues/%2F/{quote(name)}/get",
                           {"count": 2, "ackmode": "ack_requeue_true", "encoding": "auto"}).json()
        self.assertEqual([m["payload"] for m in got], ["one", "two"])
        self.assertEqual(got[0]["properties"], {"content_type": "text/plain", "headers": {"n": 1}})
        self.assertEqual(got[0]["message_count"], 2)
        self.assertFalse(got[0]["redelivered"])
        self.assert_message_count(name, 3)  # requeued
        again = self.request("POST", f"/api/queues/%2F/{quote(name)}/get",
                             {"count": 1, "ackmode": "ack_requeue_false",
                              "encoding": "base64"}).json()
        self.assertTrue(again[0]["redelivered"])
        self.assertEqual(base64.b64decode(again[0]["payload"]), b"one")
        self.assert_message_count(name, 2)
        self.delete(f"/api/queues/%2F/{quote(name)}/contents")
        self.assert_message_count(name, 0)

    def test_an_unroutable_publish_says_so(self):
        reply = self.request("POST", "/api/exchanges/%2F/amq.direct/publish",
                             {"routing_key": self.unique("nowhere"), "payload": "x",
                              "payload_encoding": "string", "properties": {}})
        self.assertEqual(reply.json(), {"routed": False})

    def test_exchanges_and_bindings_with_their_properties_key(self):
        exchange = self.unique("api-exchange")
        queue = self.unique("api-bound")
        self.delete_queues_after(queue)
        self.delete_exchanges_after(exchange)
        self.assertEqual(self.put(f"/api/exchanges/%2F/{quote(exchange)}",
                                  {"type": "topic", "durable": False}).status, 201)
        self.put(f"/api/queues/%2F/{quote(queue)}", {"durable": False})
        reply = self.request("POST", f"/api/bindings/%2F/e/{quote(exchange)}/q/{quote(queue)}",
                             {"routing_key": "a.#"})
        self.assertEqual(reply.status, 201)
        self.assertEqual(reply.headers["location"], f"{queue}/a.%23")
        bindings = self.get(f"/api/bindings/%2F/e/{quote(exchange)}/q/{quote(queue)}")
        self.assertEqual(bindings, [{"source": exchange, "vhost": "/", "destination": queue,
                                     "destination_type": "queue", "routing_key": "a.#",
                                     "arguments": {}, "properties_key": "a.%23"}])
        self.assertEqual(len(self.get(f"/api/exchanges/%2F/{quote(exchange)}/bindings/source")), 1)
        self.assertEqual(len(self.get(f"/api/queues/%2F/{quote(queue)}/bindings")), 2)
        # The properties key is a path segment of its own, quoted again.
        self.delete(f"/api/bindings/%2F/e/{quote(exchange)}/q/{quote(queue)}/{quote('a.%23')}")
        self.assertEqual(self.get(f"/api/bindings/%2F/e/{quote(exchange)}/q/{quote(queue)}"), [])
        exchanges = {e["name"]: e for e in self.get("/api/exchanges/%2F")}
        self.assertEqual(exchanges[exchange]["type"], "topic")
        self.assertIn("amq.topic", exchanges)
        self.assertIn("", exchanges)
        reply = self.request("DELETE", "/api/exchanges/%2F/amq.direct")
        self.assertEqual(reply.status, 401)
        self.assertEqual(reply.json(), {"error": "not_authorised", "reason": "Access refused."})

    def test_list_parameters_page_sort_filter_and_cut_columns(self):
        stem = self.unique("api-page")
        names = [f"{stem}-{i}" for i in range(5)]
        self.delete_queues_after(*names)
        for name in names:
            self.put(f"/api/queues/%2F/{quote(name)}", {"durable": False})
        page = self.get(f"/api/queues/%2F?page=2&page_size=2&name={quote(stem)}"
                        "&sort=name&columns=name,messages")
        self.assertEqual(page["filtered_count"], 5)
        self.assertEqual(page["page"], 2)
        self.assertEqual(page["page_count"], 3)
        self.assertEqual(page["page_size"], 2)
        self.assertEqual(page["item_count"], 2)
        self.assertEqual(page["items"], [{"messages": 0, "name": names[2]},
                                         {"messages": 0, "name": names[3]}])
        reverse = self.get(f"/api/queues/%2F?name={quote(stem)}&sort=name&sort_reverse=true"
                           "&columns=name")
        self.assertEqual([q["name"] for q in reverse], list(reversed(names)))
        reply = self.request("GET", "/api/queues?page=1&page_size=501")
        self.assertEqual(reply.status, 400)


class AccessTest(ManagementCase):

    def test_users_vhosts_permissions_and_limits(self):
        vhost = self.unique("api-vhost")
        user = self.unique("api-user")
        self.assertEqual(self.put(f"/api/vhosts/{quote(vhost)}", {}).status, 201)
        self.addCleanup(self.request, "DELETE", f"/api/vhosts/{quote(vhost)}")
        self.assertEqual(self.put(f"/api/vhosts/{quote(vhost)}", {}).status, 204)
        self.assertEqual(self.put(f"/api/users/{quote(user)}",
                                  {"password": "secret", "tags": "monitoring,management"}).status,
                         201)
        self.addCleanup(self.request, "DELETE", f"/api/users/{quote(user)}")
        shown = self.get(f"/api/users/{quote(user)}")
        self.assertEqual(sorted(shown["tags"]), ["management", "monitoring"])
        self.assertEqual(shown["hashing_algorithm"], "rabbit_password_hashing_sha256")
        self.assertEqual(len(base64.b64decode(shown["password_hash"])), 36)
        self.put(f"/api/permissions/{quote(vhost)}/{quote(user)}",
                 {"configure": "^a", "write": "^b", "read": "^c"})
        self.assertEqual(self.get(f"/api/permissions/{quote(vhost)}/{quote(user)}"),
                         {"user": user, "vhost": vhost, "configure": "^a", "write": "^b",
                          "read": "^c"})
        self.assertIn({"user": user, "vhost": vhost, "configure": "^a", "write": "^b",
                       "read": "^c"}, self.get(f"/api/vhosts/{quote(vhost)}/permissions"))
        # The new user logs in over AMQP into the vhost.
        connection = self.broker.connect(user=user, password="secret", virtual_host=vhost)
        connection.close()
        self.put(f"/api/vhost-limits/{quote(vhost)}/max-connections", {"value": 7})
        self.assertEqual(self.get(f"/api/vhost-limits/{quote(vhost)}"),
                         [{"vhost": vhost, "value": {"max-connections": 7}}])
        self.delete(f"/api/vhost-limits/{quote(vhost)}/max-connections")
        self.assertEqual(self.get(f"/api/vhost-limits/{quote(vhost)}"), [])
        self.delete(f"/api/permissions/{quote(vhost)}/{quote(user)}")
        self.assertEqual(self.request(
            "GET", f"/api/permissions/{quote(vhost)}/{quote(user)}").status, 404)
        self.delete(f"/api/users/{quote(user)}")
        self.assertEqual(self.request("GET", f"/api/users/{quote(user)}").status, 404)
        self.delete(f"/api/vhosts/{quote(vhost)}")
        self.assertEqual(self.request("GET", f"/api/vhosts/{quote(vhost)}").status, 404)

    def test_a_user_put_with_a_hash_logs_in_with_its_password(self):
        # RabbitMQ's hash of "test12", salt 0x908DC60A.
        user = self.unique("hashed")
        self.put(f"/api/users/{quote(user)}",
                 {"password_hash": "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR",
                  "tags": "administrator"})
        self.addCleanup(self.request, "DELETE", f"/api/users/{quote(user)}")
        self.put(f"/api/permissions/%2F/{quote(user)}",
                 {"configure": ".*", "write": ".*", "read": ".*"})
        self.assertEqual(self.get("/api/whoami", user=user, password="test12")["name"], user)


class ConnectionsTest(ManagementCase):

    def test_connections_channels_and_consumers(self):
        label = self.unique("api-connection")
        connection = self.connect(client_properties={"connection_name": label})
        channel = connection.channel()
        channel.basic_qos(prefetch_count=7)
        queue = self.queue(channel, "api-consumed")
        channel.basic_consume(queue, lambda *args: None, consumer_tag="api-tag")
        harness.settle(connection)
        mine = [c for c in self.get("/api/connections")
                if c["client_properties"].get("connection_name") == label]
        self.assertEqual(len(mine), 1)
        row = mine[0]
        self.assertEqual(row["user"], "guest")
        self.assertEqual(row["vhost"], "/")
        self.assertEqual(row["state"], "running")
        self.assertEqual(row["protocol"], "AMQP 0-9-1")
        self.assertEqual(row["client_properties"]["product"], "Pika Python Client Library")
        name = row["name"]
        self.assertEqual(self.get(f"/api/connections/{quote(name)}")["name"], name)
        channels = self.get(f"/api/connections/{quote(name)}/channels")
        self.assertEqual(len(channels), 1)
        self.assertEqual(channels[0]["connection_details"]["name"], name)
        self.assertEqual(channels[0]["prefetch_count"], 7)
        consumers = [c for c in self.get("/api/consumers/%2F") if c["consumer_tag"] == "api-tag"]
        self.assertEqual(len(consumers), 1)
        self.assertEqual(consumers[0]["queue"], {"name": queue, "vhost": "/"})
        self.assertEqual(consumers[0]["channel_details"]["connection_name"], name)
        self.assertEqual(consumers[0]["prefetch_count"], 7)
        # Closing it with a reason: the client is told.
        self.delete(f"/api/connections/{quote(name)}", headers={"X-Reason": "maintenance"})
        with self.assertRaises(pika.exceptions.ConnectionClosed) as closed:
            connection.process_data_events(time_limit=5)
            connection.process_data_events(time_limit=5)
        self.assertEqual(closed.exception.reply_code, 320)
        self.assertIn("maintenance", closed.exception.reply_text)


class StatisticsTest(ManagementCase):

    def test_message_stats_count_and_rates_follow_traffic(self):
        connection = self.connect()
        channel = connection.channel()
        channel.confirm_delivery()
        queue = self.queue(channel, "api-stats")
        self.get("/api/overview")  # the API samples while it is in use
        deadline = time.monotonic() + 12
        published = 0
        while time.monotonic() < deadline:
            for _ in range(50):
                channel.basic_publish("", queue, b"m")
            published += 50
            for _ in range(25):
                method, _, _ = channel.basic_get(queue, auto_ack=False)
                channel.basic_ack(method.delivery_tag)
            time.sleep(0.02)
        stats = self.get(f"/api/queues/%2F/{quote(queue)}")["message_stats"]
        self.assertEqual(stats["publish"], published)
        self.assertEqual(stats["get"], published // 2)
        self.assertEqual(stats["ack"], published // 2)
        self.assertGreater(stats["publish_details"]["rate"], 0)
        overview = self.get("/api/overview")
        self.assertGreaterEqual(overview["message_stats"]["publish"], published)
        self.assertGreaterEqual(overview["message_stats"]["confirm"], published)
        self.assertGreater(overview["message_stats"]["publish_details"]["rate"], 0)
        self.assertGreaterEqual(overview["queue_totals"]["messages"], published // 2)
        default = [e for e in self.get("/api/exchanges/%2F") if e["name"] == ""][0]
        self.assertGreaterEqual(default["message_stats"]["publish_in"], published)


class NodeTest(ManagementCase):

    def test_overview_and_nodes_have_rabbitmqs_keys(self):
        overview = self.get("/api/overview")
        for key in ("management_version", "rabbitmq_version", "cluster_name", "node",
                    "object_totals", "queue_totals", "listeners", "exchange_types",
                    "message_stats"):
            self.assertIn(key, overview)
        self.assertEqual(sorted(overview["object_totals"]),
                         ["channels", "connections", "consumers", "exchanges", "queues"])
        nodes = self.get("/api/nodes")
        self.assertEqual(len(nodes), 1)
        for key in ("name", "running", "mem_used", "mem_limit", "mem_alarm", "disk_free",
                    "disk_free_limit", "disk_free_alarm", "fd_used", "fd_total", "uptime"):
            self.assertIn(key, nodes[0])
        self.assertTrue(nodes[0]["running"])
        self.assertEqual(self.get(f"/api/nodes/{quote(nodes[0]['name'])}")["name"],
                         nodes[0]["name"])

    def test_health_checks(self):
        self.assertEqual(self.get("/api/health/checks/alarms"), {"status": "ok"})
        self.assertEqual(self.get("/api/health/checks/local-alarms"), {"status": "ok"})
        self.assertEqual(self.get("/api/health/checks/virtual-hosts"), {"status": "ok"})
        self.assertEqual(self.get(f"/api/health/checks/port-listener/{self.broker.port}"),
                         {"status": "ok", "port": self.broker.port})
        missing = self.request("GET", "/api/health/checks/port-listener/1")
        self.assertEqual(missing.status, 503)
        self.assertEqual(missing.json()["status"], "failed")
        self.assertEqual(missing.json()["reason"], "No active listener")
        self.assertEqual(self.get("/api/health/checks/node-is-quorum-critical")["status"], "ok")
        self.assertEqual(self.get("/api/aliveness-test/%2F"), {"status": "ok"})

    def test_definitions_round_trip(self):
        name = self.unique("api-defined")
        self.delete_queues_after(name)
        self.put(f"/api/queues/%2F/{quote(name)}", {"durable": True})
        definitions = self.get("/api/definitions")
        self.assertIn(name, [q["name"] for q in definitions["queues"]])
        self.delete(f"/api/queues/%2F/{quote(name)}")
        reply = self.request("POST", "/api/definitions", definitions)
        self.assertIn(reply.status, (200, 201, 204), reply.body)
        self.assertEqual(self.get(f"/api/queues/%2F/{quote(name)}")["name"], name)
        per_vhost = self.get("/api/definitions/%2F")
        self.assertNotIn("vhosts", per_vhost)
        self.assertIn(name, [q["name"] for q in per_vhost["queues"]])

    def test_wrong_methods_and_unknown_paths(self):
        self.assertEqual(self.request("POST", "/api/overview", {}).status, 405)
        self.assertEqual(self.request("GET", "/api/no-such-thing").status, 404)


if __name__ == "__main__":
    harness.main()
