"""Benchmark reference: reads COUNT messages with the official client as fast as it can.

usage: consume_bench.py URL TOPIC SUBSCRIPTION COUNT [--receiver-queue N]

Receives each message (receive + acknowledge, the usual loop), then prints
'consumed N in S s = R msg/s'. Timing starts at the first message.
"""
import argparse
import time

import pulsar


def main():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("topic")
    p.add_argument("subscription")
    p.add_argument("count", type=int)
    p.add_argument("--receiver-queue", type=int, default=1000)
    a = p.parse_args()
    client = pulsar.Client(a.url, logger=pulsar.ConsoleLogger(pulsar.LoggerLevel.Warn))
    consumer = client.subscribe(a.topic, a.subscription, initial_position=pulsar.InitialPosition.Earliest,
                                receiver_queue_size=a.receiver_queue)
    m = consumer.receive()
    began = time.time()
    consumer.acknowledge(m)
    n = 1
    while n < a.count:
        m = consumer.receive()
        consumer.acknowledge(m)
        n += 1
    seconds = time.time() - began
    print("consumed %d in %.2f s = %.0f msg/s" % (n, seconds, n / seconds))
    consumer.close()
    client.close()


if __name__ == "__main__":
    main()
