"""Compressed batches are stored as they came and served as they are: a topic
per codec, produced by one client and consumed by the others, including
`sluice consume` (which decompresses) and `sluice produce --compression`
(which compresses as Kafka's clients do)."""

import os
import struct
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KpTopicPartition

from conftest import STEP, run

CODECS = ["gzip", "snappy", "lz4", "zstd"]
CODEC_IDS = {"gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def assert_stored_compressed(topic, codec):
    """The first stored batch carries the producer's codec bits: the broker
    stored the batch as it came (run.sh exports the data directory)."""
    data = os.environ.get("SLUICE_COMPAT_DATA_DIR")
    if not data:
        return
    with open(os.path.join(data, "topics", topic, "0", "0" * 20 + ".log"), "rb") as f:
        header = f.read(61)
    attributes = struct.unpack(">h", header[21:23])[0]
    assert attributes & 0x07 == CODEC_IDS[codec]


COUNT = 200


def values(codec):
    # Repetitive values so every codec really shrinks the batch.
    return [f"{codec} value {i:05d} ".encode() * 4 for i in range(COUNT)]


def confluent_read(bootstrap, topic, count):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"read-{topic}",
                  "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    got = []
    deadline = time.monotonic() + STEP
    while len(got) < count and time.monotonic() < deadline:
        msg = c.poll(0.2)
        if msg is not None and msg.error() is None:
            got.append(msg.value())
    c.close()
    return got


def kafka_python_read(bootstrap, topic, count):
    c = KafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                      enable_auto_commit=False)
    c.assign([KpTopicPartition(topic, 0)])
    got = []
    deadline = time.monotonic() + STEP
    while len(got) < count and time.monotonic() < deadline:
        for batch in c.poll(timeout_ms=500).values():
            got.extend(r.value for r in batch)
    c.close()
    return got


@pytest.mark.parametrize("codec", CODECS)
def test_kafka_python_compressed_read_by_confluent_and_kcat(codec, bootstrap, new_topic, kcat):
    topic = new_topic(partitions=1, prefix=f"z-{codec}")
    producer = KafkaProducer(bootstrap_servers=bootstrap, compression_type=codec,
                             linger_ms=50, batch_size=1 << 20)
    for v in values(codec):
        producer.send(topic, value=v)
    producer.flush(timeout=STEP)
    producer.close(timeout=STEP)

    assert_stored_compressed(topic, codec)
    assert confluent_read(bootstrap, topic, COUNT) == values(codec)
    out = run([kcat, "-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-c", str(COUNT),
               "-e", "-q", "-f", "%s\\n"])
    assert out.splitlines() == values(codec)


@pytest.mark.parametrize("codec", CODECS)
def test_confluent_compressed_read_by_kafka_python(codec, bootstrap, new_topic):
    topic = new_topic(partitions=1, prefix=f"zc-{codec}")
    producer = Producer({"bootstrap.servers": bootstrap, "compression.type": codec,
                         "linger.ms": 50})
    for v in values(codec):
        producer.produce(topic, value=v, partition=0)
    assert producer.flush(STEP) == 0
    assert_stored_compressed(topic, codec)
    assert kafka_python_read(bootstrap, topic, COUNT) == values(codec)


def kafka_python_produce(bootstrap, topic, codec):
    producer = KafkaProducer(bootstrap_servers=bootstrap, compression_type=codec,
                             linger_ms=50, batch_size=1 << 20)
    for v in values(codec):
        producer.send(topic, value=v, partition=0)
    producer.flush(timeout=STEP)
    producer.close(timeout=STEP)


def confluent_produce(bootstrap, topic, codec):
    producer = Producer({"bootstrap.servers": bootstrap, "compression.type": codec,
                         "linger.ms": 50})
    for v in values(codec):
        producer.produce(topic, value=v, partition=0)
    assert producer.flush(STEP) == 0


def sluice_consume(sluice_cli, native, topic, count):
    out = run([sluice_cli, "--broker", native, "consume", topic, "--from-beginning",
               "--count", str(count), "--timeout-ms", "10000"])
    return out.splitlines()


# kafka-python writes snappy in xerial framing (as Kafka's Java client does),
# librdkafka (confluent-kafka) as one raw snappy block: `sluice consume` reads
# both.
@pytest.mark.parametrize("producer", ["kafka-python", "confluent"])
@pytest.mark.parametrize("codec", CODECS)
def test_compressed_by_kafka_clients_read_by_sluice_consume(codec, producer, bootstrap, native,
                                                            sluice_cli, new_topic):
    topic = new_topic(partitions=1, prefix=f"zs-{codec}")
    if producer == "kafka-python":
        kafka_python_produce(bootstrap, topic, codec)
    else:
        confluent_produce(bootstrap, topic, codec)
    assert_stored_compressed(topic, codec)
    assert sluice_consume(sluice_cli, native, topic, COUNT) == values(codec)


@pytest.mark.parametrize("codec", CODECS)
def test_sluice_produce_compressed_read_by_kafka_python_kcat_and_confluent(
        codec, bootstrap, native, sluice_cli, kcat, new_topic):
    topic = new_topic(partitions=1, prefix=f"sz-{codec}")
    run([sluice_cli, "--broker", native, "produce", topic, "--compression", codec,
         "--linger-ms", "50"],
        stdin=b"".join(v + b"\n" for v in values(codec)))
    assert_stored_compressed(topic, codec)
    assert kafka_python_read(bootstrap, topic, COUNT) == values(codec)
    out = run([kcat, "-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-c", str(COUNT),
               "-e", "-q", "-f", "%s\\n"])
    assert out.splitlines() == values(codec)
    assert confluent_read(bootstrap, topic, COUNT) == values(codec)
