#!/usr/bin/python3
"""What one hostile client makes a lepusd hold: a client that never reads while pipelining
basic.qos, 500 connections that send half a frame, and a no-ack consumer that never reads
while 1 MiB messages are published. Prints the resident growth of each, for comparing builds:

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
from hostile_test import logged_in, frames, raise_descriptor_limit
from protocol_test import RawClient
def rss(b): return harness.resident_kib(b.process.pid)
b = harness.Broker().start()
try:
    # 1. a client that never reads, pipelining basic.qos
    f = logged_in(b); f.send_method(1, pika.spec.Channel.Open()); f.read_method(pika.spec.Channel.OpenOk)
    f.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    batch = frames(*[pika.spec.Basic.Qos(prefetch_count=1)] * 4096)
    r0 = rss(b); pushed = 0; f.sock.settimeout(1.0); t0 = time.monotonic()
    while time.monotonic() - t0 < 10:
        try: pushed += f.sock.send(batch)
        except socket.timeout: break
    print(f'never-reading flooder: pushed {pushed>>20} MiB of requests in {time.monotonic()-t0:.1f} s, lepusd grew {(rss(b)-r0)>>10} MiB')
    f.close()
    # 2. half frames
    raise_descriptor_limit(700)
    cs = [logged_in(b) for _ in range(500)]
    time.sleep(0.5); r0 = rss(b)
    for c in cs: c.send(struct.pack('>BHI', 1, 1, 131064) + b'\x00\x3c\x00\x28abcd')
    time.sleep(1.0)
    print(f'500 half frames (8 of 131064 bytes sent): lepusd grew {(rss(b)-r0)} KiB, {(rss(b)-r0)/500:.1f} KiB each')
    for c in cs: c.close()
    # 3. slow no-ack consumer of 1 MiB messages
    ch = b.connect().channel(); ch.queue_declare('large')
    cons = logged_in(b); cons.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    cons.send(frames(pika.spec.Channel.Open(), pika.spec.Basic.Consume(queue='large', no_ack=True)))
    pub = logged_in(b); pub.send(frames(pika.spec.Channel.Open()))
    body = b'B' * (1 << 20)
    msg = frames(pika.spec.Basic.Publish(exchange='', routing_key='large')) + pika.frame.Header(1, len(body), pika.spec.BasicProperties()).marshal() + b''.join(pika.frame.Body(1, body[i:i+131064]).marshal() for i in range(0, len(body), 131064))
    time.sleep(0.3); r0 = rss(b); pub.sock.settimeout(2.0); sent = 0
    try:
        for _ in range(1500):
            pub.sock.sendall(msg); sent += 1
    except socket.timeout: pass
    print(f'no-ack consumer that never reads, 1 MiB messages: publisher held after {sent} messages, lepusd grew {(rss(b)-r0)>>10} MiB')
finally:
    b.process.kill()
