#!/usr/bin/python3
"""What one hostile client makes a lepusd hold: a client that never reads while pipelining
basic.qos, 500 connections that send half a frame, and a no-ack consumer that never reads
while 1 MiB messages are published. Prints lepusd's resident growth for each, for comparing
builds (figures only: the limits themselves are checked by tests/clients/hostile_test.py):

    /usr/bin/python3 bench/hostile_bounds.py build/release/bin/lepusd
"""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests',
                                'clients'))
os.environ['LEPUSD'] = os.path.abspath(sys.argv[1])

import harness  # noqa: E402
import pika  # noqa: E402
from hostile_test import (frames, large_publish, logged_in, qos_flood,  # noqa: E402
                          raise_descriptor_limit)


def grown_kib(broker, before_kib):
    return harness.resident_kib(broker.process.pid) - before_kib


def never_reading_flooder(broker):
    flooder = logged_in(broker)
    flooder.send_method(1, pika.spec.Channel.Open())
    flooder.read_method(pika.spec.Channel.OpenOk)
    flooder.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    batch = qos_flood()
    before = harness.resident_kib(broker.process.pid)
    pushed = 0
    flooder.sock.settimeout(1.0)
    started = time.monotonic()
    while time.monotonic() - started < 10:
        try:
            pushed += flooder.sock.send(batch)
        except socket.timeout:
            break  # lepusd stopped reading
    print(f'never-reading flooder: pushed {pushed >> 20} MiB of requests in '
          f'{time.monotonic() - started:.1f} s, lepusd grew {grown_kib(broker, before) >> 10} MiB')
    flooder.close()


def half_frames(broker, count=500):
    raise_descriptor_limit(count + 200)
    clients = [logged_in(broker) for _ in range(count)]
    time.sleep(0.5)
    before = harness.resident_kib(broker.process.pid)
    for client in clients:
        client.send(struct.pack('>BHI', 1, 1, 131064) + b'\x00\x3c\x00\x28abcd')
    time.sleep(1.0)
    grown = grown_kib(broker, before)
    print(f'{count} half frames (8 of 131064 bytes sent): lepusd grew {grown} KiB, '
          f'{grown / count:.1f} KiB each')
    for client in clients:
        client.close()


def stuck_no_ack_consumer(broker):
    broker.connect().channel().queue_declare('large')
    consumer = logged_in(broker)
    consumer.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    consumer.send(frames(pika.spec.Channel.Open(),
                         pika.spec.Basic.Consume(queue='large', no_ack=True)))
    publisher = logged_in(broker)
    publisher.send(frames(pika.spec.Channel.Open()))
    message = large_publish('large')
    time.sleep(0.3)
    before = harness.resident_kib(broker.process.pid)
    publisher.sock.settimeout(2.0)
    sent = 0
    try:
        for _ in range(1500):
            publisher.sock.sendall(message)
            sent += 1
    except socket.timeout:
        pass
    print(f'no-ack consumer that never reads, 1 MiB messages: publisher held after {sent} '
          f'messages, lepusd grew {grown_kib(broker, before) >> 10} MiB')


def main():
    broker = harness.Broker().start()
    try:
        never_reading_flooder(broker)
        half_frames(broker)
        stuck_no_ack_consumer(broker)
    finally:
        broker.process.kill()
        broker.process.wait()


if __name__ == '__main__':
    main()
