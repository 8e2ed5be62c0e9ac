"""kafka-python 3.x: keyed produce with acks=all, and a consumer group that
commits and resumes from its committed offset."""

import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from conftest import STEP


def poll_until(consumer, count, timeout=STEP):
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=500).values():
            got.extend(batch)
    return got


def test_keyed_produce_with_acks_all(bootstrap, new_topic):
    topic = new_topic(partitions=3)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    sent = {}
    for i in range(60):
        key = f"key-{i % 6}".encode()
        meta = producer.send(topic, key=key, value=f"value-{i}".encode()).get(timeout=STEP)
        assert meta.offset >= 0
        sent.setdefault(key, set()).add(meta.partition)
    producer.close(timeout=STEP)
    # The default partitioner hashes keys: one key, one partition.
    assert all(len(partitions) == 1 for partitions in sent.values())

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False)
    consumer.assign([TopicPartition(topic, p) for p in range(3)])
    records = poll_until(consumer, 60)
    consumer.close()
    assert len(records) == 60
    by_key = {}
    for r in records:
        assert r.partition in sent[r.key]
        by_key.setdefault(r.key, []).append(int(r.value.split(b"-")[1]))
    # Per key, the order of sending is kept.
    for values in by_key.values():
        assert values == sorted(values)


def test_group_commits_and_resumes(bootstrap, new_topic):
    topic = new_topic(partitions=2)
    group = f"kp-group-{topic}"
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for i in range(20):
        producer.send(topic, key=str(i).encode(), value=f"first-{i}".encode())
    producer.flush(timeout=STEP)

    first = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                          auto_offset_reset="earliest", enable_auto_commit=False)
    records = poll_until(first, 20)
    assert sorted(r.value for r in records) == sorted(f"first-{i}".encode() for i in range(20))
    first.commit()
    committed = {tp: first.committed(tp) for tp in first.assignment()}
    assert sum(committed.values()) == 20
    first.close()

    for i in range(5):
        producer.send(topic, key=str(i).encode(), value=f"second-{i}".encode())
    producer.flush(timeout=STEP)
    producer.close(timeout=STEP)

    second = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                           auto_offset_reset="earliest", enable_auto_commit=False)
    records = poll_until(second, 5)
    # Nothing before the committed offsets comes again.
    assert sorted(r.value for r in records) == sorted(f"second-{i}".encode() for i in range(5))
    assert not poll_until(second, 1, timeout=2)
    second.close()
