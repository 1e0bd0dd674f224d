#!/usr/bin/python3
"""The six RabbitMQ tutorials for Python, written with pika 1.2 as the tutorials write them.

The tutorials' scripts run as functions here: publishers and consumers keep the tutorials'
calls and callbacks, and each test asserts exactly which messages arrive where.
"""

import threading
import time
import uuid

import pika

import harness
from harness import BrokerTestCase, drain, settle


class Subscriber:
    """receive_logs*.py: a server-named exclusive queue bound to an exchange."""

    def __init__(self, test, exchange, exchange_type, binding_keys):
        self.connection = test.connect()
        self.channel = self.connection.channel()
        self.channel.exchange_declare(exchange=exchange, exchange_type=exchange_type)
        result = self.channel.queue_declare(queue='', exclusive=True)
        self.queue_name = result.method.queue
        for binding_key in binding_keys:
            self.channel.queue_bind(exchange=exchange, queue=self.queue_name,
                                    routing_key=binding_key)
        self.received = []
        self.channel.basic_consume(queue=self.queue_name, on_message_callback=self.callback,
                                   auto_ack=True)

    def callback(self, ch, method, properties, body):
        self.received.append((method.routing_key, body))

    def wait_for(self, count):
        drain(self.connection, lambda: len(self.received) >= count)
        settle(self.connection)
        return self.received


class TutorialsTest(BrokerTestCase):

    def test_1_hello_world(self):
        self.delete_queues_after('hello')
        # send.py
        connection = self.broker.connect()
        channel = connection.channel()
        channel.queue_declare(queue='hello')
        channel.basic_publish(exchange='', routing_key='hello', body='Hello World!')
        connection.close()

        # receive.py
        connection = self.connect()
        channel = connection.channel()
        channel.queue_declare(queue='hello')
        received = []

        def callback(ch, method, properties, body):
            received.append(body)
            ch.stop_consuming()

        channel.basic_consume(queue='hello', auto_ack=True, on_message_callback=callback)
        connection.call_later(10, channel.stop_consuming)  # a bound, should nothing arrive
        channel.start_consuming()
        self.assertEqual(received, [b'Hello World!'])
        settle(connection)
        self.assertEqual(received, [b'Hello World!'])
        self.assertEqual(channel.queue_declare(queue='hello', passive=True)
                         .method.message_count, 0)

    def test_2_work_queues_fair_dispatch(self):
        self.delete_queues_after('task_queue')
        tasks = 20
        done = threading.Event()
        lock = threading.Lock()
        processed = {"slow": [], "fast": []}
        ready = {"slow": threading.Event(), "fast": threading.Event()}
        errors = []

        # worker.py, once slow (half a second per dot) and once fast (no sleep).
        def worker(name, seconds_per_dot):
            try:
                connection = self.broker.connect()
                channel = connection.channel()
                channel.queue_declare(queue='task_queue', durable=True)

                def callback(ch, method, properties, body):
                    time.sleep(body.count(b'.') * seconds_per_dot)
                    with lock:
                        processed[name].append(body)
                        if sum(len(v) for v in processed.values()) == tasks:
                            done.set()
                    ch.basic_ack(delivery_tag=method.delivery_tag)

                channel.basic_qos(prefetch_count=1)
                channel.basic_consume(queue='task_queue', on_message_callback=callback)
                ready[name].set()
                while not done.is_set():
                    connection.process_data_events(time_limit=0.05)
                connection.close()
            except Exception as e:  # reported by the main thread
                errors.append(e)
                ready[name].set()

        threads = [threading.Thread(target=worker, args=("slow", 0.5)),
                   threading.Thread(target=worker, args=("fast", 0.0))]
        for thread in threads:
            thread.start()
        for event in ready.values():
            self.assertTrue(event.wait(10))

        # new_task.py, once per task.
        connection = self.connect()
        channel = connection.channel()
        channel.queue_declare(queue='task_queue', durable=True)
        messages = [f"Task {i}." .encode() for i in range(tasks)]
        for message in messages:
            channel.basic_publish(
                exchange='', routing_key='task_queue', body=message,
                properties=pika.BasicProperties(
                    delivery_mode=pika.spec.PERSISTENT_DELIVERY_MODE))

        finished = done.wait(30)
        for thread in threads:
            thread.join(10)
        self.assertEqual(errors, [])
        self.assertTrue(finished, f"processed {processed}")
        self.assertEqual(sorted(processed["slow"] + processed["fast"]), sorted(messages))
        # With prefetch 1 the slow worker holds one task at a time, so the fast one does most.
        self.assertGreaterEqual(len(processed["slow"]), 1)
        self.assertLessEqual(len(processed["slow"]), 4)
        self.assertGreater(len(processed["fast"]), len(processed["slow"]))
        queue = channel.queue_declare(queue='task_queue', durable=True, passive=True)
        self.assertEqual(queue.method.message_count, 0)

    def test_3_publish_subscribe(self):
        self.delete_exchanges_after('logs')
        subscribers = [Subscriber(self, 'logs', 'fanout', ['']) for _ in range(2)]
        for subscriber in subscribers:
            self.assertTrue(subscriber.queue_name.startswith('amq.gen-'), subscriber.queue_name)
        self.assertNotEqual(subscribers[0].queue_name, subscribers[1].queue_name)

        # emit_log.py, three times.
        connection = self.connect()
        channel = connection.channel()
        channel.exchange_declare(exchange='logs', exchange_type='fanout')
        messages = [b'info: Hello World!', b'warning: disk', b'error: gone']
        for message in messages:
            channel.basic_publish(exchange='logs', routing_key='', body=message)

        for subscriber in subscribers:
            self.assertEqual(subscriber.wait_for(3), [('', m) for m in messages])

    def test_4_routing(self):
        self.delete_exchanges_after('direct_logs')
        errors_only = Subscriber(self, 'direct_logs', 'direct', ['error'])
        everything = Subscriber(self, 'direct_logs', 'direct', ['info', 'warning', 'error'])

        # emit_log_direct.py
        connection = self.connect()
        channel = connection.channel()
        channel.exchange_declare(exchange='direct_logs', exchange_type='direct')
        for severity, message in [('info', b'i'), ('warning', b'w'), ('error', b'e'),
                                  ('debug', b'd')]:
            channel.basic_publish(exchange='direct_logs', routing_key=severity, body=message)

        self.assertEqual(errors_only.wait_for(1), [('error', b'e')])
        self.assertEqual(everything.wait_for(3),
                         [('info', b'i'), ('warning', b'w'), ('error', b'e')])

    def test_5_topics(self):
        self.delete_exchanges_after('topic_logs')
        subscribers = {
            '#': Subscriber(self, 'topic_logs', 'topic', ['#']),
            'kern.*': Subscriber(self, 'topic_logs', 'topic', ['kern.*']),
            '*.critical': Subscriber(self, 'topic_logs', 'topic', ['*.critical']),
            'both': Subscriber(self, 'topic_logs', 'topic', ['kern.*', '*.critical']),
            'kern.#': Subscriber(self, 'topic_logs', 'topic', ['kern.#']),
        }

        # emit_log_topic.py
        connection = self.connect()
        channel = connection.channel()
        channel.exchange_declare(exchange='topic_logs', exchange_type='topic')
        keys = ['kern.critical', 'kern.info', 'cron.critical', 'a.b.critical', 'kern',
                'kern.info.x', 'anonymous.info']
        for routing_key in keys:
            channel.basic_publish(exchange='topic_logs', routing_key=routing_key,
                                  body=f'message for {routing_key}'.encode())

        def expect(name, expected_keys):
            got = subscribers[name].wait_for(len(expected_keys))
            self.assertEqual(got, [(k, f'message for {k}'.encode()) for k in expected_keys],
                             name)

        expect('#', keys)
        expect('kern.*', ['kern.critical', 'kern.info'])
        expect('*.critical', ['kern.critical', 'cron.critical'])
        # A message matching two bindings of one queue is delivered to it once.
        expect('both', ['kern.critical', 'kern.info', 'cron.critical'])
        expect('kern.#', ['kern.critical', 'kern.info', 'kern', 'kern.info.x'])

    def test_6_rpc(self):
        self.delete_queues_after('rpc_queue')
        server_ready = threading.Event()
        server_errors = []
        server = {}

        # rpc_server.py
        def rpc_server():
            try:
                connection = self.broker.connect()
                channel = connection.channel()
                channel.queue_declare(queue='rpc_queue')

                def fib(n):
                    if n == 0:
                        return 0
                    elif n == 1:
                        return 1
                    else:
                        return fib(n - 1) + fib(n - 2)

                def on_request(ch, method, props, body):
                    n = int(body)
                    response = fib(n)
                    ch.basic_publish(exchange='', routing_key=props.reply_to,
                                     properties=pika.BasicProperties(
                                         correlation_id=props.correlation_id),
                                     body=str(response))
                    ch.basic_ack(delivery_tag=method.delivery_tag)

                channel.basic_qos(prefetch_count=1)
                channel.basic_consume(queue='rpc_queue', on_message_callback=on_request)
                server["connection"] = connection
                server["channel"] = channel
                server_ready.set()
                channel.start_consuming()
                connection.close()
            except Exception as e:
                server_errors.append(e)
                server_ready.set()

        thread = threading.Thread(target=rpc_server)
        thread.start()
        self.assertTrue(server_ready.wait(10))
        self.assertEqual(server_errors, [])

        # rpc_client.py
        test = self

        class FibonacciRpcClient(object):

            def __init__(self):
                self.connection = test.connect()
                self.channel = self.connection.channel()
                result = self.channel.queue_declare(queue='', exclusive=True)
                self.callback_queue = result.method.queue
                self.channel.basic_consume(queue=self.callback_queue,
                                           on_message_callback=self.on_response,
                                           auto_ack=True)
                self.response = None
                self.corr_id = None

            def on_response(self, ch, method, props, body):
                if self.corr_id == props.correlation_id:
                    self.response = body

            def call(self, n):
                self.response = None
                self.corr_id = str(uuid.uuid4())
                self.channel.basic_publish(exchange='', routing_key='rpc_queue',
                                           properties=pika.BasicProperties(
                                               reply_to=self.callback_queue,
                                               correlation_id=self.corr_id),
                                           body=str(n))
                drain(self.connection, lambda: self.response is not None)
                return int(self.response)

        try:
            fibonacci_rpc = FibonacciRpcClient()
            results = [fibonacci_rpc.call(n) for n in range(21)]
        finally:
            if "connection" in server:
                server["connection"].add_callback_threadsafe(server["channel"].stop_consuming)
            thread.join(10)
        self.assertFalse(thread.is_alive())
        self.assertEqual(server_errors, [])
        expected = [0, 1]
        while len(expected) < 21:
            expected.append(expected[-1] + expected[-2])
        self.assertEqual(results, expected)


if __name__ == '__main__':
    harness.main()
