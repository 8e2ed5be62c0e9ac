"""Shared fixtures of the Kafka compatibility suite (see run.sh).

The broker is started by run.sh; its addresses come in SLUICE_KAFKA (Kafka
listener) and SLUICE_NATIVE (native listener). With CI=true a missing client
fails the test that needs it instead of skipping it. Every wait is bounded.
"""

import os
import shutil
import subprocess
import time
import uuid

import pytest

CI = os.environ.get("CI") == "true"
STEP = 30  # seconds: upper bound of any single wait in the suite


def require(what, available):
    if available:
        return
    if CI:
        pytest.fail(f"{what} is missing (CI=true: a missing client is a failure)")
    pytest.skip(f"{what} is missing")


@pytest.fixture(scope="session")
def bootstrap():
    addr = os.environ.get("SLUICE_KAFKA")
    require("SLUICE_KAFKA (start the suite with tests/compat/run.sh)", addr)
    return addr


@pytest.fixture(scope="session")
def native():
    addr = os.environ.get("SLUICE_NATIVE")
    require("SLUICE_NATIVE (start the suite with tests/compat/run.sh)", addr)
    return addr


@pytest.fixture(scope="session")
def kcat():
    path = shutil.which("kcat")
    require("kcat", path)
    return path


@pytest.fixture(scope="session")
def sluice_cli():
    path = os.environ.get("SLUICE_CLI_BIN", "")
    require(f"the sluice CLI ({path or 'SLUICE_CLI_BIN'})", path and os.access(path, os.X_OK))
    return path


@pytest.fixture(scope="session")
def broker_bin():
    path = os.environ.get("SLUICE_BROKER_BIN", "")
    require("SLUICE_BROKER_BIN", path and os.access(path, os.X_OK))
    return path


@pytest.fixture
def new_topic(bootstrap):
    """Creates a fresh topic with CreateTopics (confluent-kafka's admin client)."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})

    def create(partitions=1, prefix="t"):
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        futures = admin.create_topics([NewTopic(name, partitions, 1)], operation_timeout=STEP)
        futures[name].result(timeout=STEP)
        return name

    return create


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def run(args, stdin=None, timeout=STEP):
    """Runs a command with a bounded time; fails the test on a non-zero exit."""
    done = subprocess.run(
        args,
        input=stdin,
        capture_output=True,
        timeout=timeout,
    )
    assert done.returncode == 0, (
        f"{args[0]} exited {done.returncode}\nstdout: {done.stdout[-2000:]!r}\n"
        f"stderr: {done.stderr[-2000:]!r}"
    )
    return done.stdout


def wait_until(condition, what, timeout=STEP, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
