"""`sluice group list` and `sluice group describe` (native protocol) show a
live kafka-python consumer group: its member, the member's assignment, the
committed offsets and the lag."""

import re
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


def test_sluice_consume_shares_a_group_with_a_kafka_python_consumer(bootstrap, native,
                                                                    sluice_cli, new_topic):
    """`sluice consume --group G` joins G beside a kafka-python member: the two split the
    partitions, each record is read once, and when sluice leaves, kafka-python gets every
    partition back."""
    import subprocess
    import threading

    topic = new_topic(partitions=2, prefix="grp-mixed")
    group = unique("mixed")
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")

    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                             client_id="compat-mixed", auto_offset_reset="earliest",
                             enable_auto_commit=True, auto_commit_interval_ms=200,
                             session_timeout_ms=10000, heartbeat_interval_ms=500)
    kafka_read = []
    stop = threading.Event()

    def poll_loop():
        while not stop.is_set():
            for records in consumer.poll(timeout_ms=200).values():
                kafka_read.extend((r.partition, r.value.decode()) for r in records)

    poller = threading.Thread(target=poll_loop, daemon=True)
    poller.start()
    sluice = None
    try:
        def members(n):
            # Before kafka-python's first join the group does not exist yet.
            described = subprocess.run([sluice_cli, "--broker", native, "group", "describe",
                                        group], capture_output=True, timeout=STEP)
            if described.returncode != 0:
                return False
            head = described.stdout.decode().splitlines()[0]
            found = re.search(r", (\d+) members?(,|$)", head)
            return "Stable" in head and found is not None and int(found.group(1)) == n

        wait_until(lambda: members(1), "the kafka-python member to be Stable")
        sluice = subprocess.Popen(
            [sluice_cli, "--broker", native, "consume", topic, "--group", group,
             "--from-beginning", "--timeout-ms", "8000", "--format", "%p %s\\n"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wait_until(lambda: members(2), "kafka-python and sluice in one generation")

        values = [f"v{i}" for i in range(20)]
        for i, value in enumerate(values):
            producer.send(topic, value=value.encode(), partition=i % 2)
        producer.flush(timeout=STEP)

        out, err = sluice.communicate(timeout=STEP)
        assert sluice.returncode == 0, err[-2000:]
        sluice_read = [tuple(line.split(" ", 1)) for line in out.decode().splitlines()]
        sluice_read = [(int(p), v) for p, v in sluice_read]
        wait_until(lambda: len(kafka_read) + len(sluice_read) >= 20, "every record read")
        sluice_partitions = {p for p, _ in sluice_read}
        kafka_partitions = {p for p, _ in kafka_read}
        assert len(sluice_partitions) == 1, sluice_read
        assert sluice_partitions.isdisjoint(kafka_partitions), (sluice_read, kafka_read)
        assert sorted(v for _, v in sluice_read + kafka_read) == sorted(values)

        # sluice left: kafka-python takes both partitions again.
        wait_until(lambda: members(1), "sluice to leave the group")
        wait_until(lambda: any(line.split()[-1:] == [f"{topic}[0,1]"] for line in
                               sluice_groups(sluice_cli, native, "describe", group)),
                   "kafka-python to hold both partitions")
    finally:
        stop.set()
        poller.join(timeout=STEP)
        if sluice is not None and sluice.poll() is None:
            sluice.kill()
        consumer.close()
        producer.close(timeout=STEP)
