"""A steady idempotent acks=all producer through librdkafka (confluent-kafka-python), for
bench/failover: one record per partition every 1/RATE s (values 0, 1, 2, ...), and one line
"ack PARTITION EPOCH_MS SEQ" on stdout per acknowledged record, SEQ being its value ("fail
PARTITION EPOCH_MS ERROR" per failed one). Runs until standard input closes. librdkafka's default
settings otherwise, as a user would run it.

    producer.py BOOTSTRAP TOPIC PARTITIONS RATE_PER_PARTITION
"""

import os
import sys
import threading
import time

from confluent_kafka import Producer


def main():
    bootstrap, topic, partitions, rate = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    config = {'bootstrap.servers': bootstrap, 'enable.idempotence': True, 'acks': 'all',
              'linger.ms': 5}
    if os.environ.get('BENCH_FAILOVER_DEBUG_DIR'):
        # For the per-kill timeline: log lines go to stderr, which clients.ts keeps.
        config['debug'] = 'broker,topic,metadata,msg'
    producer = Producer(config)
    out = sys.stdout

    def delivered(err, msg):
        now = int(time.time() * 1000)
        if err is None:
            out.write(f'ack {msg.partition()} {now} {msg.value().decode()}\n')
        else:
            out.write(f'fail {msg.partition()} {now} {err.name()}\n')

    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    interval = 1.0 / rate
    next_tick = time.monotonic()
    seq = 0
    while not stop.is_set():
        for p in range(partitions):
            producer.produce(topic, value=f'{seq}'.encode(), partition=p, on_delivery=delivered)
        seq += 1
        next_tick += interval
        while True:
            producer.poll(0.002)
            if time.monotonic() >= next_tick or stop.is_set():
                break
        out.flush()
    producer.flush(10)
    out.flush()


if __name__ == '__main__':
    main()
