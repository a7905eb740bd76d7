"""librdkafka transactions through confluent-kafka-python, for test/txn/python-transactions.test.ts.

    txn.py copy BOOTSTRAP IN OUT GROUP TXNID EXPECTED

A consume-transform-produce loop: a read_committed consumer in GROUP reads IN, and a
transactional producer (init_transactions, begin_transaction, produce, send_offsets_to_transaction,
commit_transaction) writes each value to OUT as "copy-<value>". Every other transaction is
flushed and then ended with abort_transaction instead; the consumer then seeks back to the
group's committed offsets, so those records are copied again by a later transaction. Prints one
JSON object: records copied in committed transactions, transactions committed and aborted, and
the errors met (KafkaError names). Exits non-zero only for bad arguments or an unexpected
exception (its traceback on stderr).

Set COMPAT_PYTHON_DEBUG to a librdkafka debug context list (e.g. "eos,protocol") for its log.
"""

import json
import os
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition

# The step bounds itself, so a hang is reported instead of waiting for the test's own timeout.
STEP_S = 90
# Records per transaction at most, and transactions at most (a copier that never ends stops).
BATCH_MAX = 50
TRANSACTIONS_MAX = 1000
CLIENT_ID = 'ledgerstream-txn-python'


def conf(bootstrap, **extra):
    c = {'bootstrap.servers': bootstrap, 'client.id': CLIENT_ID}
    if os.environ.get('COMPAT_PYTHON_DEBUG'):
        c['debug'] = os.environ['COMPAT_PYTHON_DEBUG']
    c.update(extra)
    return c


def rewind_to_committed(consumer):
    """Seeks every assigned partition back to the group's committed offset (or its start)."""
    for tp in consumer.committed(consumer.assignment(), timeout=10):
        offset = tp.offset if tp.offset >= 0 else OFFSET_BEGINNING
        consumer.seek(TopicPartition(tp.topic, tp.partition, offset))


def copy(bootstrap, source, target, group, txn_id, expected):
    consumer = Consumer(conf(bootstrap, **{
        'group.id': group, 'enable.auto.commit': False, 'auto.offset.reset': 'earliest',
        'isolation.level': 'read_committed', 'fetch.wait.max.ms': 200}))
    producer = Producer(conf(bootstrap, **{
        'transactional.id': txn_id, 'transaction.timeout.ms': 30000}))
    producer.init_transactions(30)
    consumer.subscribe([source])
    copied, committed, aborted, errors = 0, 0, 0, []
    deadline = time.monotonic() + STEP_S
    while copied < expected and committed + aborted < TRANSACTIONS_MAX \
            and time.monotonic() < deadline:
        messages = consumer.consume(num_messages=BATCH_MAX, timeout=0.5)
        records = [m for m in messages if m.error() is None]
        errors.extend(m.error().name() for m in messages if m.error() is not None)
        if not records:
            continue
        producer.begin_transaction()
        for m in records:
            producer.produce(target, key=m.key(), value=b'copy-' + m.value())
        producer.send_offsets_to_transaction(consumer.position(consumer.assignment()),
                                             consumer.consumer_group_metadata(), 30)
        if (committed + aborted) % 2 == 1:
            # Flushed first, so the aborted copies are in the log for read_committed to skip.
            producer.flush(30)
            producer.abort_transaction(30)
            aborted += 1
            rewind_to_committed(consumer)
            continue
        producer.commit_transaction(30)
        committed += 1
        copied += len(records)
    consumer.close()
    return {'copied': copied, 'committed': committed, 'aborted': aborted, 'errors': errors}


def main(argv):
    if len(argv) != 8 or argv[1] != 'copy':
        print(__doc__, file=sys.stderr)
        return 2
    try:
        out = copy(argv[2], argv[3], argv[4], argv[5], argv[6], int(argv[7]))
    except KafkaException as e:
        out = {'exception': e.args[0].name(), 'message': e.args[0].str()}
    print(json.dumps(out))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
