"""kcat (librdkafka 2.0, Debian's package) against the Kafka listener, and
data crossing between the Kafka listener and the native protocol (`sluice`)."""

from conftest import STEP, run, unique


def kcat_produce(kcat, bootstrap, topic, lines):
    run([kcat, "-b", bootstrap, "-P", "-t", topic, "-X", "message.timeout.ms=20000"],
        stdin=b"".join(line + b"\n" for line in lines))


def kcat_consume(kcat, bootstrap, topic, count):
    out = run([kcat, "-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-c", str(count),
               "-e", "-q", "-f", "%s\\n"], timeout=STEP)
    return out.splitlines()


def test_kcat_produces_and_consumes(kcat, bootstrap):
    topic = unique("kcat")
    lines = [f"kcat line {i}".encode() for i in range(50)]
    kcat_produce(kcat, bootstrap, topic, lines)
    assert kcat_consume(kcat, bootstrap, topic, len(lines)) == lines


def test_kcat_keyed_messages_keep_keys(kcat, bootstrap):
    topic = unique("kcat-keys")
    run([kcat, "-b", bootstrap, "-P", "-t", topic, "-K", ":"],
        stdin=b"k1:v1\nk2:v2\nk3:v3\n")
    out = run([kcat, "-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-c", "3", "-e",
               "-q", "-f", "%k=%s\\n"])
    assert out.splitlines() == [b"k1=v1", b"k2=v2", b"k3=v3"]


def test_what_kcat_writes_sluice_consume_reads(kcat, bootstrap, native, sluice_cli):
    topic = unique("kcat-to-sluice")
    lines = [f"from kcat {i}".encode() for i in range(20)]
    kcat_produce(kcat, bootstrap, topic, lines)
    out = run([sluice_cli, "--broker", native, "consume", topic, "--from-beginning",
               "--count", str(len(lines)), "--timeout-ms", "10000"])
    assert out.splitlines() == lines


def test_what_sluice_produce_writes_kcat_reads(kcat, bootstrap, native, sluice_cli, new_topic):
    topic = new_topic(partitions=1, prefix="sluice-to-kcat")
    lines = [f"from sluice {i}".encode() for i in range(20)]
    run([sluice_cli, "--broker", native, "produce", topic],
        stdin=b"".join(line + b"\n" for line in lines))
    assert kcat_consume(kcat, bootstrap, topic, len(lines)) == lines
