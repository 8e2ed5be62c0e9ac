"""confluent-kafka (librdkafka 2.x): two consumers of one group split the
partitions; when one leaves, the other takes over its partitions."""

import time

from confluent_kafka import Consumer, Producer

from conftest import STEP


def consumer(bootstrap, group):
    return Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
        "enable.auto.commit": True,
        "auto.commit.interval.ms": 200,
    })


def poll_all(consumers, until, timeout=STEP):
    """Polls every consumer until `until()` holds; returns the messages per consumer."""
    got = [[] for _ in consumers]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for i, c in enumerate(consumers):
            msg = c.poll(0.1)
            if msg is not None and msg.error() is None:
                got[i].append(msg)
        if until(got):
            return got
    raise AssertionError("timed out; assignments: "
                         + str([sorted(p.partition for p in c.assignment()) for c in consumers]))


def test_two_consumers_split_then_one_takes_over(bootstrap, new_topic):
    topic = new_topic(partitions=4)
    group = f"ck-group-{topic}"
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(40):
        producer.produce(topic, key=str(i), value=f"m{i}", partition=i % 4)
    assert producer.flush(STEP) == 0

    a, b = consumer(bootstrap, group), consumer(bootstrap, group)
    a.subscribe([topic])
    b.subscribe([topic])

    def split(_):
        pa = {p.partition for p in a.assignment()}
        pb = {p.partition for p in b.assignment()}
        return len(pa) == 2 and len(pb) == 2 and not pa & pb

    poll_all([a, b], split)
    first_a = {p.partition for p in a.assignment()}
    got = poll_all([a, b], lambda got: len(got[0]) + len(got[1]) >= 40)
    assert {m.partition() for m in got[0]} <= first_a
    assert sorted(m.value() for m in got[0] + got[1]) == sorted(f"m{i}".encode() for i in range(40))

    # b leaves (LeaveGroup); a gets all four partitions.
    time.sleep(0.5)  # let the auto commit of b's positions happen
    b.close()
    poll_all([a], lambda _: len(a.assignment()) == 4)
    for i in range(8):
        producer.produce(topic, value=f"after{i}", partition=i % 4)
    assert producer.flush(STEP) == 0
    # At-least-once: messages of b not yet committed may come again; the
    # new ones must all arrive, from every partition.
    def after(got):
        return [m for m in got[0] if m.value().startswith(b"after")]

    got = poll_all([a], lambda got: len(after(got)) >= 8)
    assert sorted(m.value() for m in after(got)) == sorted(f"after{i}".encode() for i in range(8))
    assert {m.partition() for m in after(got)} == {0, 1, 2, 3}
    a.close()
