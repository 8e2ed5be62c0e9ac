"""A real idempotent producer whose batch is retried is not duplicated.

A broker of its own is started behind a small TCP proxy (it advertises the
proxy's address with --kafka-advertise, so every client connection goes
through it). The proxy swallows the broker's answer to the first Produce
request and drops the connection: the batch is in the log, but the producer
cannot know. librdkafka (confluent-kafka, enable.idempotence=true) reconnects
and sends the batch again with the same producer id, epoch and sequence; the
broker recognises it and answers with the original offset. Exactly one copy
must be in the log.
"""

import os
import queue
import socket
import struct
import subprocess
import tempfile
import threading
import time

from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import STEP

PRODUCE = 0


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def read_frame(sock):
    size = struct.unpack(">i", recv_exact(sock, 4))[0]
    return struct.pack(">i", size) + recv_exact(sock, size)


class DropFirstProduceAnswer:
    """Forwards Kafka connections to `target`; the first response to a
    Produce request is not forwarded and both sides are closed instead."""

    def __init__(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.target = None
        self.dropped = 0
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self):
        self.stopped.set()
        self.listener.close()

    def _accept(self):
        while not self.stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        client.settimeout(None)
        upstream = socket.create_connection(self.target, timeout=STEP)
        upstream.settimeout(None)
        apis = {}

        def close():
            for s in (client, upstream):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

        def requests():
            try:
                while True:
                    frame = read_frame(client)
                    api_key, _, correlation_id = struct.unpack(">hhi", frame[4:12])
                    with self.lock:
                        apis[correlation_id] = api_key
                    upstream.sendall(frame)
            except (ConnectionError, OSError):
                close()

        threading.Thread(target=requests, daemon=True).start()
        try:
            while True:
                frame = read_frame(upstream)
                correlation_id = struct.unpack(">i", frame[4:8])[0]
                with self.lock:
                    api_key = apis.pop(correlation_id, None)
                    drop = api_key == PRODUCE and self.dropped == 0
                    if drop:
                        self.dropped += 1
                if drop:
                    close()
                    return
                client.sendall(frame)
        except (ConnectionError, OSError):
            close()


def start_broker(broker_bin, data_dir, advertise):
    proc = subprocess.Popen(
        [broker_bin, "--data-dir", data_dir, "--listen", "127.0.0.1:0",
         "--kafka-listen", "127.0.0.1:0", "--kafka-advertise", advertise,
         "--auto-create-topics"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    deadline = time.monotonic() + STEP
    kafka = None
    while kafka is None and time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        if line.startswith("sluice-broker kafka listening on "):
            kafka = line.rsplit(" ", 1)[1].strip()
    if kafka is None:
        proc.kill()
        raise AssertionError("the broker did not start")
    host, port = kafka.rsplit(":", 1)
    return proc, (host, int(port))


def test_retried_idempotent_batch_is_written_once(broker_bin):
    proxy = DropFirstProduceAnswer()
    with tempfile.TemporaryDirectory() as data_dir:
        proc, kafka = start_broker(broker_bin, os.path.join(data_dir, "d"),
                                   f"127.0.0.1:{proxy.port}")
        proxy.target = kafka
        try:
            reports = []
            producer = Producer({
                "bootstrap.servers": f"127.0.0.1:{proxy.port}",
                "enable.idempotence": True,
                "linger.ms": 0,
                "retry.backoff.ms": 100,
                "message.timeout.ms": 20000,
            })

            def report(err, msg):
                reports.append((err, msg.value(), msg.offset()))

            producer.produce("idem", value=b"once", on_delivery=report)
            assert producer.flush(STEP) == 0
            producer.produce("idem", value=b"second", on_delivery=report)
            assert producer.flush(STEP) == 0
            assert proxy.dropped == 1, "the proxy never saw a Produce answer"
            assert reports == [(None, b"once", 0), (None, b"second", 1)]

            consumer = Consumer({"bootstrap.servers": f"127.0.0.1:{proxy.port}",
                                 "group.id": "idem-check", "enable.auto.commit": False})
            consumer.assign([TopicPartition("idem", 0, 0)])
            got = []
            deadline = time.monotonic() + STEP
            while len(got) < 2 and time.monotonic() < deadline:
                msg = consumer.poll(0.2)
                if msg is not None and msg.error() is None:
                    got.append((msg.offset(), msg.value()))
            # Nothing after the two messages: the retry was not appended.
            extra = consumer.poll(1.0)
            consumer.close()
            assert got == [(0, b"once"), (1, b"second")]
            assert extra is None or extra.error() is not None
        finally:
            proxy.stop()
            proc.terminate()
            try:
                proc.wait(timeout=STEP)
            except subprocess.TimeoutExpired:
                proc.kill()
