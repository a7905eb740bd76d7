"""A consumer group member through librdkafka (confluent-kafka-python), for bench/failover: reads
TOPIC from its end as the producers write and prints "got PARTITION CREATE_MS AT_MS SEQ" per
record (SEQ is the record's value). Runs until standard input closes. librdkafka's default
settings otherwise (45 s session), as a user would run it.

    consumer.py BOOTSTRAP TOPIC GROUP
"""

import sys
import threading
import time

from confluent_kafka import Consumer


def main():
    bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3]
    consumer = Consumer({'bootstrap.servers': bootstrap, 'group.id': group,
                         'auto.offset.reset': 'latest'})
    consumer.subscribe([topic])
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    out = sys.stdout
    while not stop.is_set():
        messages = consumer.consume(num_messages=500, timeout=0.2)
        now = int(time.time() * 1000)
        for m in messages:
            if m.error() is None:
                out.write(f'got {m.partition()} {m.timestamp()[1]} {now} {m.value().decode()}\n')
        out.flush()
    consumer.close()


if __name__ == '__main__':
    main()
