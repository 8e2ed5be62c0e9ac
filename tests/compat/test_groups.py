"""`sluice group list` and `sluice group describe` (native protocol) show a
live kafka-python consumer group: its member, the member's assignment, the
committed offsets and the lag."""

import time

from kafka import KafkaConsumer, KafkaProducer
from kafka.structs import OffsetAndMetadata, TopicPartition

from conftest import STEP, run, unique, wait_until


def sluice_groups(sluice_cli, native, *args):
    return run([sluice_cli, "--broker", native, "group", *args]).decode().splitlines()


def test_sluice_group_describe_shows_a_kafka_python_group(bootstrap, native, sluice_cli,
                                                         new_topic):
    topic = new_topic(partitions=2, prefix="grp")
    group = unique("kp-describe")
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for i in range(10):
        producer.send(topic, value=f"v{i}".encode(), partition=i % 2)
    producer.flush(timeout=STEP)
    producer.close(timeout=STEP)

    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                             client_id="compat-kp", auto_offset_reset="earliest",
                             enable_auto_commit=False)
    try:
        got = 0
        deadline = time.monotonic() + STEP
        while got < 10 and time.monotonic() < deadline:
            got += sum(len(b) for b in consumer.poll(timeout_ms=500).values())
        assert got == 10
        assert consumer.assignment() == {TopicPartition(topic, 0), TopicPartition(topic, 1)}
        # Partition 0 committed at 2 of 5 (lag 3); partition 1 never.
        consumer.commit({TopicPartition(topic, 0): OffsetAndMetadata(2, "", -1)})

        lines = []

        def described():
            nonlocal lines
            lines = sluice_groups(sluice_cli, native, "describe", group)
            return "Stable" in lines[0]

        wait_until(described, "the group to be Stable")
        assert lines[0].startswith(f"group {group}: Stable, protocol consumer/"), lines
        assert lines[0].endswith(", 1 member, lag 3"), lines
        assert lines[2].split() == ["MEMBER-ID", "CLIENT-ID", "HOST", "ASSIGNMENT"]
        member_id, client_id, host, assignment = lines[3].split()
        assert member_id.startswith("compat-kp"), lines
        assert client_id == "compat-kp"
        assert "127.0.0.1" in host
        assert assignment == f"{topic}[0,1]"
        assert lines[6].split() == [topic, "0", "2", "5", "3", member_id]
        assert lines[7].split() == [topic, "1", "-", "5", "-", member_id]

        listed = [line.split() for line in sluice_groups(sluice_cli, native, "list")]
        assert [group, "Stable", "consumer", "1"] in listed
    finally:
        consumer.close()
