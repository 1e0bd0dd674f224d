#!/usr/bin/python3
"""A bounded, seeded network fuzzer: hundreds of connections each pipeline a random sequence of
valid methods (declares, binds, consumes, gets, settlements, qos, recover, confirms,
transactions, cancels, closes) in random slices, then end by connection.close, channel.close,
a dropped socket or nothing at all. Meanwhile a ledger queue holds messages the fuzzed
clients may take but never settle for good (acks, nacks and rejects without requeue, purges
and no-ack takes go to scratch queues only). Afterwards lepusd must be up, the ledger must
hold every one of its messages with no consumer left, and a normal client must be served.

LEPUS_FUZZ_SEED picks the seed (the run prints it); LEPUS_FUZZ_CONNECTIONS the count."""

import os
import random
import socket
import time

import pika
import pika.frame
import pika.spec

import harness
from harness import BrokerTestCase
from protocol_test import PROTOCOL_HEADER

LEDGER_SIZE = 50
CONNECTIONS = int(os.environ.get('LEPUS_FUZZ_CONNECTIONS', '1000'))


def marshal(channel, method):
    return pika.frame.Method(channel, method).marshal()


def publish(channel, routing_key, body=b'fuzz', exchange=''):
    return (marshal(channel, pika.spec.Basic.Publish(exchange=exchange, routing_key=routing_key))
            + pika.frame.Header(channel, len(body), pika.spec.BasicProperties()).marshal()
            + pika.frame.Body(channel, body).marshal())


class Script:
    """One connection's random conversation."""

    def __init__(self, rng, ledger, scratch):
        self.rng = rng
        self.ledger = ledger
        self.scratch = scratch
        self.channels = [1]
        self.ledger_channels = set()  # channels that took from the ledger: no final settles

    def queue(self, settles_for_good):
        if settles_for_good or self.rng.random() < 0.5:
            return self.rng.choice(self.scratch)
        return self.ledger

    def step(self, channel):
        rng = self.rng
        tag = rng.randint(0, 12)
        choice = rng.randrange(19)
        if choice == 0:
            return marshal(channel, pika.spec.Queue.Declare(
                queue=rng.choice(self.scratch + ['']), exclusive=rng.random() < 0.3,
                auto_delete=rng.random() < 0.3))
        if choice == 1:
            return marshal(channel, pika.spec.Queue.Bind(
                queue=rng.choice(self.scratch), exchange='amq.fanout'))
        if choice == 2:
            queue = self.queue(False)
            if queue == self.ledger:
                self.ledger_channels.add(channel)
            no_ack = queue != self.ledger and rng.random() < 0.5
            return marshal(channel, pika.spec.Basic.Consume(
                queue=queue, consumer_tag=f'c{rng.randint(0, 3)}', no_ack=no_ack,
                exclusive=rng.random() < 0.1))
        if choice == 3:
            queue = self.queue(False)
            if queue == self.ledger:
                self.ledger_channels.add(channel)
            no_ack = queue != self.ledger and rng.random() < 0.5
            return marshal(channel, pika.spec.Basic.Get(queue=queue, no_ack=no_ack))
        if choice == 4:  # requeueing settlements are safe on the ledger
            return marshal(channel, pika.spec.Basic.Nack(
                delivery_tag=tag, multiple=rng.random() < 0.5, requeue=True))
        if choice == 5:
            return marshal(channel, pika.spec.Basic.Reject(delivery_tag=tag, requeue=True))
        if choice == 6:
            return marshal(channel, pika.spec.Basic.Qos(prefetch_count=rng.randint(0, 3),
                                                        global_qos=rng.random() < 0.3))
        if choice == 7:
            return marshal(channel, pika.spec.Basic.Recover(requeue=True))
        if choice == 8:
            return marshal(channel, pika.spec.Basic.Cancel(consumer_tag=f'c{rng.randint(0, 3)}'))
        if choice == 9:
            return marshal(channel, pika.spec.Confirm.Select())
        if choice == 10:
            return publish(channel, rng.choice(self.scratch))
        if choice == 11:
            return marshal(channel, pika.spec.Tx.Select())
        if choice == 12:
            return marshal(channel, rng.choice([pika.spec.Tx.Commit(), pika.spec.Tx.Rollback()]))
        if choice == 13:
            return marshal(channel, pika.spec.Queue.Purge(queue=rng.choice(self.scratch)))
        if choice == 14:
            return marshal(channel, pika.spec.Queue.Delete(queue=rng.choice(self.scratch)))
        if choice == 15:
            return marshal(channel, pika.spec.Exchange.Declare(
                exchange=f'fuzz.x{rng.randint(0, 2)}', type='fanout',
                auto_delete=rng.random() < 0.5))
        if choice == 16:  # settled for good: only where the ledger was never taken from
            if channel in self.ledger_channels:
                return publish(channel, rng.choice(self.scratch), b'x' * rng.randint(0, 300))
            return marshal(channel, rng.choice([
                pika.spec.Basic.Ack(delivery_tag=tag, multiple=rng.random() < 0.5),
                pika.spec.Basic.Nack(delivery_tag=tag, multiple=rng.random() < 0.5,
                                     requeue=False),
                pika.spec.Basic.Reject(delivery_tag=tag, requeue=False)]))
        if choice == 17:
            new = max(self.channels) + 1
            self.channels.append(new)
            return marshal(new, pika.spec.Channel.Open())
        return marshal(channel, pika.spec.Channel.Close(
            reply_code=200, reply_text='fuzz', class_id=0, method_id=0))

    def conversation(self):
        rng = self.rng
        handshake = PROTOCOL_HEADER + b''.join(marshal(0, m) for m in (
            pika.spec.Connection.StartOk(client_properties={'product': 'pipeline fuzz'},
                                         mechanism='PLAIN', response='\0guest\0guest',
                                         locale='en_US'),
            pika.spec.Connection.TuneOk(channel_max=2047, frame_max=131072, heartbeat=0),
            pika.spec.Connection.Open(virtual_host='/'))) + marshal(1, pika.spec.Channel.Open())
        body = b''.join(self.step(rng.choice(self.channels)) for _ in range(rng.randint(1, 25)))
        ending = rng.randrange(4)
        if ending == 0:
            body += marshal(0, pika.spec.Connection.Close(
                reply_code=200, reply_text='bye', class_id=0, method_id=0))
        elif ending == 1:
            body += marshal(1, pika.spec.Channel.Close(
                reply_code=200, reply_text='bye', class_id=0, method_id=0))
        return handshake + body, ending


class PipelineFuzzTest(BrokerTestCase):

    def test_random_pipelines_with_closes_lose_nothing(self):
        seed = int(os.environ.get('LEPUS_FUZZ_SEED', str(time.time_ns() % 1_000_000)))
        print(f'\npipeline fuzz seed {seed} (LEPUS_FUZZ_SEED={seed} repeats it)', flush=True)
        rng = random.Random(seed)
        channel = self.channel()
        ledger = self.queue(channel, 'fuzz.ledger')
        scratch = [self.queue(channel, f'fuzz.scratch{i}') for i in range(3)]
        channel.confirm_delivery()
        for i in range(LEDGER_SIZE):
            channel.basic_publish('', ledger, f'ledger {i}'.encode())

        open_sockets = []
        for _ in range(CONNECTIONS):
            script = Script(rng, ledger, scratch)
            data, ending = script.conversation()
            sock = socket.create_connection((self.broker.host, self.broker.port), timeout=10)
            # Random slices: frames split anywhere, several per write, or all in one.
            position = 0
            while position < len(data):
                size = rng.choice([1, 7, 64, 512, len(data)])
                sock.sendall(data[position:position + size])
                position += size
            if ending == 2:
                sock.close()  # dropped mid-conversation
            else:
                open_sockets.append(sock)
            if len(open_sockets) > 40:
                stale = open_sockets.pop(rng.randrange(len(open_sockets)))
                stale.close()
        for sock in open_sockets:
            sock.close()

        # Every ledger message comes back once the fuzzed connections are gone.
        self.assert_message_count(ledger, LEDGER_SIZE, timeout_s=15)
        declared = channel.queue_declare(ledger, passive=True)
        self.assertEqual(declared.method.consumer_count, 0, f'seed {seed}')
        got = set()
        while True:
            method, _properties, body = channel.basic_get(ledger, auto_ack=True)
            if method is None:
                break
            got.add(body)
        self.assertEqual(got, {f'ledger {i}'.encode() for i in range(LEDGER_SIZE)},
                         f'seed {seed}')


if __name__ == '__main__':
    harness.main()
