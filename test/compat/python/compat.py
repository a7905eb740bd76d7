"""librdkafka through confluent-kafka-python against a broker, for test/compat/python-client.test.ts.

One subcommand per step; each prints one JSON object on stdout, and the test asserts on it.
Client errors are reported in the JSON (KafkaError names such as "TOPIC_ALREADY_EXISTS") rather
than raised, so the test can show exactly which call failed and how. The exit status is non-zero
only for bad arguments or an unexpected exception (its traceback on stderr).

    compat.py version
    compat.py admin    BOOTSTRAP TOPIC PARTITIONS
    compat.py produce  BOOTSTRAP TOPIC PARTITIONS CODEC COUNT
    compat.py consume  BOOTSTRAP TOPIC GROUP EXPECTED
    compat.py group    BOOTSTRAP GROUP TOPIC PARTITIONS
    compat.py reset    BOOTSTRAP GROUP TOPIC PARTITIONS
    compat.py idle     BOOTSTRAP TOPIC IDLE_S

Works with Debian's python3-confluent-kafka 1.7 (librdkafka 2.0) and with confluent-kafka 2.x
from PyPI: the AdminClient calls that 1.7 lacks (describe_topics, describe_cluster, list_offsets,
list_consumer_groups, describe_consumer_groups, list_consumer_group_offsets,
alter_consumer_group_offsets) are used when present, and `version` reports which are. Without
alter_consumer_group_offsets, offsets are reset by committing them with a consumer that has not
joined the group (a "simple" commit), as librdkafka's assign()-mode consumers do.

Set COMPAT_PYTHON_DEBUG to a librdkafka debug context list (e.g. "protocol,cgrp") for its log on stderr.
"""

import json
import os
import struct
import sys
import time
import warnings

import confluent_kafka
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, NewTopic

# Every step bounds itself, so a hang is reported instead of waiting for the test's own timeout.
STEP_S = 40
# Keeps values compressible (the test checks that every stored batch has the chosen codec).
VALUE_PAD = 'agent-event agent-event agent-event agent-event agent-event agent-event'
CLIENT_ID = 'ledgerstream-compat-python'
# list_groups() is what 1.7 has (ListGroups + DescribeGroups); 2.x still has it, deprecated.
warnings.filterwarnings('ignore', message=r'list_groups\(\) is deprecated', category=DeprecationWarning)

ADMIN_FEATURES = ['describe_topics', 'describe_cluster', 'list_offsets', 'list_consumer_groups',
                  'describe_consumer_groups', 'list_consumer_group_offsets', 'alter_consumer_group_offsets']


def has(name):
    return hasattr(AdminClient, name)


def conf(bootstrap, **extra):
    c = {'bootstrap.servers': bootstrap, 'client.id': CLIENT_ID}
    if os.environ.get('COMPAT_PYTHON_DEBUG'):
        c['debug'] = os.environ['COMPAT_PYTHON_DEBUG']
    # librdkafka security settings as JSON ({"security.protocol": "sasl_ssl", ...}).
    if os.environ.get('COMPAT_PYTHON_SECURITY'):
        c.update(json.loads(os.environ['COMPAT_PYTHON_SECURITY']))
    c.update(extra)
    return c


def err_name(e):
    """'' for None; a KafkaError's name; else the exception's class and text."""
    if e is None:
        return ''
    if isinstance(e, KafkaException) and e.args and isinstance(e.args[0], KafkaError):
        e = e.args[0]
    if isinstance(e, KafkaError):
        return e.name()
    return '%s: %s' % (type(e).__name__, e)


def result(future):
    """(value, '') or (None, error name) of a future."""
    try:
        return future.result(timeout=STEP_S), ''
    except Exception as e:  # noqa: BLE001 - every client error is reported, not raised
        return None, err_name(e)


def enum_name(v):
    return getattr(v, 'name', str(v))


def watermarks(bootstrap, topic, partitions):
    """{partition: [low, high]} through a consumer that joins no group (ListOffsets)."""
    c = Consumer(conf(bootstrap, **{'group.id': 'compat-python-watermarks', 'enable.auto.commit': False}))
    try:
        out = {}
        for p in range(partitions):
            try:
                out[str(p)] = list(c.get_watermark_offsets(TopicPartition(topic, p), timeout=10))
            except KafkaException as e:
                out[str(p)] = err_name(e)
        return out
    finally:
        c.close()


def cmd_version():
    version = confluent_kafka.version()  # ('1.7.0', int) in 1.x; '2.16.1' in 2.x
    return {
        'version': version if isinstance(version, str) else version[0],
        'libversion': confluent_kafka.libversion()[0],
        'pythonVersion': sys.version.split()[0],
        'module': os.path.dirname(confluent_kafka.__file__),
        'features': {name: has(name) for name in ADMIN_FEATURES},
    }


def cmd_admin(bootstrap, topic, partitions):
    """create_topics (and again; and validate_only), list_topics, describe_configs, watermarks,
    and where present describe_topics, describe_cluster and list_offsets."""
    partitions = int(partitions)
    a = AdminClient(conf(bootstrap))
    out = {}

    fs = a.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1,
                                   config={'retention.ms': '3600000'})], operation_timeout=10)
    out['create'] = result(fs[topic])[1]
    fs = a.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)], operation_timeout=10)
    out['createAgain'] = result(fs[topic])[1]
    vo = topic + '-validate-only'
    fs = a.create_topics([NewTopic(vo, num_partitions=3, replication_factor=1)], validate_only=True)
    out['validateOnly'] = result(fs[vo])[1]

    md = a.list_topics(timeout=10)
    out['brokers'] = ['%d@%s:%d' % (b.id, b.host, b.port) for b in sorted(md.brokers.values(), key=lambda b: b.id)]
    out['controller'] = md.controller_id
    out['cluster'] = md.cluster_id
    out['topics'] = sorted(md.topics.keys())
    t = md.topics.get(topic)
    if t is not None:
        out['topic.error'] = err_name(t.error)
        out['topic.partitions'] = [
            {'partition': p.id, 'leader': p.leader, 'replicas': list(p.replicas), 'isr': list(p.isrs), 'error': err_name(p.error)}
            for p in sorted(t.partitions.values(), key=lambda p: p.id)]

    res = ConfigResource('topic', topic)
    configs, error = result(a.describe_configs([res])[res])
    out['configs'] = error
    if configs is not None:
        out['configs.values'] = {k: '%s %s' % (e.value, ConfigSource(e.source).name)
                                 for k, e in configs.items() if k in ('retention.ms', 'cleanup.policy')}

    out['watermarks'] = watermarks(bootstrap, topic, partitions)

    if has('describe_topics'):
        from confluent_kafka import TopicCollection
        desc, error = result(a.describe_topics(TopicCollection([topic]), request_timeout=10)[topic])
        out['describeTopics'] = {'error': error}
        if desc is not None:
            out['describeTopics'].update({
                'name': desc.name, 'topicId': str(desc.topic_id), 'internal': desc.is_internal,
                'partitions': [{'partition': p.id, 'leader': p.leader.id if p.leader else None,
                                'replicas': [n.id for n in p.replicas], 'isr': [n.id for n in p.isr]}
                               for p in desc.partitions]})
    if has('describe_cluster'):
        cl, error = result(a.describe_cluster(request_timeout=10))
        out['describeCluster'] = {'error': error}
        if cl is not None:
            out['describeCluster'].update({
                'clusterId': cl.cluster_id, 'controller': cl.controller.id if cl.controller else None,
                'nodes': ['%d@%s:%d' % (n.id, n.host, n.port) for n in cl.nodes]})
    if has('list_offsets'):
        from confluent_kafka.admin import OffsetSpec
        listed = {}
        for spec_name, spec in (('earliest', OffsetSpec.earliest()), ('latest', OffsetSpec.latest())):
            fs = a.list_offsets({TopicPartition(topic, p): spec for p in range(partitions)}, request_timeout=10)
            for tp, f in fs.items():
                r, error = result(f)
                listed.setdefault(str(tp.partition), {})[spec_name] = error or r.offset
        out['listOffsets'] = listed
    return out


def cmd_produce(bootstrap, topic, partitions, codec, count):
    """COUNT records, record i to partition i % PARTITIONS with key "k<partition>" and value
    "<codec>-<i> <VALUE_PAD>", by an idempotent producer with acks=all and the codec; every
    delivery report is recorded. The producer id and epoch come from librdkafka's statistics."""
    partitions, count = int(partitions), int(count)
    stats = {}

    def on_stats(js):
        eos = json.loads(js).get('eos')
        if eos:
            stats.update(eos)

    p = Producer(conf(bootstrap, **{
        'enable.idempotence': True, 'acks': 'all', 'compression.type': codec, 'linger.ms': 5,
        # Small batches: several per partition, several requests in flight (idempotence allows 5),
        # so sequence numbers run across batches and requests.
        'batch.size': 1024,
        'statistics.interval.ms': 100, 'stats_cb': on_stats}))
    delivered = [None] * count

    def on_delivery(i):
        def cb(err, msg):
            delivered[i] = {'p': msg.partition(), 'o': msg.offset(), 'k': msg.key().decode(),
                            'v': msg.value().decode(), 'err': err_name(err)}
        return cb

    for i in range(count):
        part = i % partitions
        p.produce(topic, key=b'k%d' % part, value=('%s-%d %s' % (codec, i, VALUE_PAD)).encode(),
                  partition=part, on_delivery=on_delivery(i))
        p.poll(0)
    out = {'codec': codec, 'unflushed': p.flush(STEP_S)}
    deadline = time.monotonic() + 5
    while stats.get('idemp_state') != 'Assigned' and time.monotonic() < deadline:
        p.poll(0.1)
    out['delivered'] = [d if d is not None else {'err': 'no delivery report'} for d in delivered]
    out['idempState'] = stats.get('idemp_state')
    out['producerId'] = stats.get('producer_id')
    out['producerEpoch'] = stats.get('producer_epoch')
    return out


def cmd_idle(bootstrap, topic, idle_s):
    """An idempotent producer sends 3 records to partition 0 one at a time, stays idle IDLE_S
    seconds (longer than the broker's producer.id.expiration.ms, so its producer state there is
    forgotten), then sends 3 more in the same way. librdkafka goes on with the sequence it had
    reached; an OUT_OF_ORDER_SEQUENCE_NUMBER answer is fatal to it (error_cb, then every send
    fails)."""
    idle_s = float(idle_s)
    assert 0 < idle_s < STEP_S / 2, 'idle within the step bound'
    errors = []
    p = Producer(conf(bootstrap, **{'enable.idempotence': True, 'acks': 'all', 'linger.ms': 0,
                                    'error_cb': lambda e: errors.append(err_name(e))}))
    delivered = []

    def on_delivery(err, msg):
        delivered.append({'o': msg.offset(), 'v': msg.value().decode(), 'err': err_name(err)})

    def send(value):
        # A fatal producer raises from produce() or flush(): reported as that record's error.
        try:
            p.produce(topic, value=value.encode(), partition=0, on_delivery=on_delivery)
            p.flush(STEP_S / 4)
        except KafkaException as e:
            delivered.append({'v': value, 'err': err_name(e)})

    for i in range(3):
        send('before-%d' % i)
    deadline = time.monotonic() + idle_s
    while time.monotonic() < deadline:
        p.poll(0.1)
    for i in range(3):
        send('after-%d' % i)
    return {'delivered': delivered, 'errors': errors}


def consumer_assignment(data):
    """Decodes a ConsumerProtocol assignment: version, [topic, [partition]], user data."""
    if not data:
        return {}
    at = 2
    out = {}
    (n,) = struct.unpack_from('>i', data, at)
    at += 4
    for _ in range(n):
        (ln,) = struct.unpack_from('>h', data, at)
        at += 2
        t = data[at:at + ln].decode()
        at += ln
        (np,) = struct.unpack_from('>i', data, at)
        at += 4
        out[t] = sorted(struct.unpack_from('>%di' % np, data, at))
        at += 4 * np
    return out


def list_groups_view(a, group):
    """The old AdminClient.list_groups(group) (ListGroups + DescribeGroups in librdkafka)."""
    try:
        gs = a.list_groups(group, timeout=10)
    except KafkaException as e:
        return {'error': err_name(e)}
    g = next((g for g in gs if g.id == group), None)
    if g is None:
        return {'error': 'group missing from list_groups'}
    return {
        'error': err_name(g.error), 'state': g.state, 'protocolType': g.protocol_type, 'protocol': g.protocol,
        'members': [{'memberId': m.id, 'clientId': m.client_id, 'host': m.client_host,
                     'assigned': consumer_assignment(m.assignment) if g.protocol_type == 'consumer' else None}
                    for m in g.members]}


def describe_consumer_group(a, group):
    """AdminClient.describe_consumer_groups (confluent-kafka 2.x), or None."""
    if not has('describe_consumer_groups'):
        return None
    d, error = result(a.describe_consumer_groups([group], request_timeout=10)[group])
    if d is None:
        return {'error': error}
    members = []
    for m in d.members:
        assigned = {}
        for tp in (m.assignment.topic_partitions if m.assignment else []):
            assigned.setdefault(tp.topic, []).append(tp.partition)
        members.append({'memberId': m.member_id, 'clientId': m.client_id, 'host': m.host,
                        'assigned': {t: sorted(ps) for t, ps in assigned.items()}})
    return {'error': '', 'state': enum_name(d.state), 'simple': d.is_simple_consumer_group,
            'assignor': d.partition_assignor, 'coordinator': d.coordinator.id if d.coordinator else None,
            'members': members}


def cmd_consume(bootstrap, topic, group, expected):
    """Subscribes in GROUP (earliest, no auto-commit), polls until EXPECTED records (or the step
    times out), commits synchronously, and, still a member, describes the group; then closes."""
    expected = int(expected)
    c = Consumer(conf(bootstrap, **{'group.id': group, 'auto.offset.reset': 'earliest', 'enable.auto.commit': False}))
    c.subscribe([topic])
    records, errors = [], []
    deadline = time.monotonic() + 30
    while len(records) < expected and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            errors.append('%s-%s: %s' % (m.topic(), m.partition(), err_name(m.error())))
            continue
        records.append({'p': m.partition(), 'o': m.offset(), 'k': m.key().decode(), 'v': m.value().decode()})
    out = {'records': records, 'errors': errors}
    try:
        committed = c.commit(asynchronous=False)
        out['commit'] = ''
        out['commit.partitions'] = {str(tp.partition): err_name(tp.error) or tp.offset for tp in committed}
    except KafkaException as e:
        out['commit'] = err_name(e)
    assignment = c.assignment()
    out['assignment'] = sorted(tp.partition for tp in assignment)
    try:
        out['committed'] = {str(tp.partition): err_name(tp.error) or tp.offset for tp in c.committed(assignment, timeout=10)}
    except KafkaException as e:
        out['committed'] = {'error': err_name(e)}
    a = AdminClient(conf(bootstrap))
    out['whileMember'] = list_groups_view(a, group)
    described = describe_consumer_group(a, group)
    if described is not None:
        out['whileMember.describeConsumerGroups'] = described
    c.close()  # leaves the group
    return out


def committed_by_consumer(bootstrap, group, topic, partitions):
    """OffsetFetch through a consumer that does not join the group."""
    c = Consumer(conf(bootstrap, **{'group.id': group, 'enable.auto.commit': False}))
    try:
        tps = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        return {str(tp.partition): err_name(tp.error) or tp.offset for tp in tps}
    except KafkaException as e:
        return {'error': err_name(e)}
    finally:
        c.close()


def cmd_group(bootstrap, group, topic, partitions):
    """After the members left: list_groups (all, and this one), committed offsets, and where
    present list_consumer_groups, describe_consumer_groups, list_consumer_group_offsets."""
    partitions = int(partitions)
    a = AdminClient(conf(bootstrap))
    out = {}
    try:
        out['listGroups.all'] = {g.id: '%s/%s' % (g.state, g.protocol_type) for g in a.list_groups(timeout=10)}
    except KafkaException as e:
        out['listGroups.all'] = {'error': err_name(e)}
    out['listGroups'] = list_groups_view(a, group)
    out['committed'] = committed_by_consumer(bootstrap, group, topic, partitions)
    out['watermarks'] = watermarks(bootstrap, topic, partitions)
    if has('list_consumer_groups'):
        listed, error = result(a.list_consumer_groups(request_timeout=10))
        if listed is None:
            out['listConsumerGroups'] = {'error': error}
        else:
            out['listConsumerGroups'] = {
                'errors': [err_name(e) for e in listed.errors],
                'groups': {g.group_id: {'state': enum_name(g.state), 'simple': g.is_simple_consumer_group}
                           for g in listed.valid}}
    described = describe_consumer_group(a, group)
    if described is not None:
        out['describeConsumerGroups'] = described
    if has('list_consumer_group_offsets'):
        from confluent_kafka import ConsumerGroupTopicPartitions
        r, error = result(a.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)], request_timeout=10)[group])
        out['listConsumerGroupOffsets'] = {'error': error} if r is None else {
            str(tp.partition): err_name(tp.error) or tp.offset for tp in r.topic_partitions if tp.topic == topic}
    return out


def cmd_reset(bootstrap, group, topic, partitions):
    """Sets the group's offsets of every partition to 0 with alter_consumer_group_offsets where
    present, else by a simple commit from a consumer that has not joined the group."""
    partitions = int(partitions)
    tps = [TopicPartition(topic, p, 0) for p in range(partitions)]
    out = {}
    if has('alter_consumer_group_offsets'):
        from confluent_kafka import ConsumerGroupTopicPartitions
        a = AdminClient(conf(bootstrap))
        out['method'] = 'alter_consumer_group_offsets'
        r, error = result(a.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(group, tps)], request_timeout=10)[group])
        out['reset'] = {'error': error} if r is None else {
            str(tp.partition): err_name(tp.error) or tp.offset for tp in r.topic_partitions}
    else:
        out['method'] = 'commit'
        c = Consumer(conf(bootstrap, **{'group.id': group, 'enable.auto.commit': False}))
        try:
            committed = c.commit(offsets=tps, asynchronous=False)
            out['reset'] = {str(tp.partition): err_name(tp.error) or tp.offset for tp in committed}
        except KafkaException as e:
            out['reset'] = {'error': err_name(e)}
        finally:
            c.close()
    out['committed'] = committed_by_consumer(bootstrap, group, topic, partitions)
    return out


COMMANDS = {'admin': (cmd_admin, 2), 'produce': (cmd_produce, 4), 'consume': (cmd_consume, 3),
            'group': (cmd_group, 3), 'reset': (cmd_reset, 3), 'idle': (cmd_idle, 2)}


def main(argv):
    if len(argv) == 2 and argv[1] == 'version':
        out = cmd_version()
    elif len(argv) >= 3 and argv[1] in COMMANDS and len(argv) - 3 == COMMANDS[argv[1]][1]:
        out = COMMANDS[argv[1]][0](*argv[2:])
    else:
        sys.stderr.write(__doc__)
        return 2
    json.dump(out, sys.stdout)
    sys.stdout.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
