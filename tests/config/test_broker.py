"""The embedded default's `folder://` broker: no task lost, doubled or corrupted, whatever happens
to its processes or its folder."""

import multiprocessing
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest
from kombu import Connection, Exchange, Queue

from config import broker

from ..support.workers import celery_processes, wait_for

QUEUE = Queue("stress", Exchange("stress", "direct"), routing_key="stress")


def _connection(folder: Path) -> Connection:
    return Connection(
        "folder://", transport_options={"folder": str(folder), "polling_interval": 0.01}
    )


def _delete(folder: Path) -> None:
    """`rm -rf` in one step (a worker creating files meanwhile cannot make it fail)."""
    gone = folder.with_name(folder.name + ".deleted")
    folder.rename(gone)
    shutil.rmtree(gone)


def _produce(folder: Path, ids: range) -> None:
    """Publish one message per id (run in a thread or a process of its own)."""
    with _connection(folder) as conn:
        producer = conn.Producer()
        for i in ids:
            producer.publish(
                {"id": i}, exchange=QUEUE.exchange, routing_key="stress", declare=[QUEUE]
            )


def _consume(folder: Path, out: Path, stop_after: float) -> None:
    """Consume and ack until the queue has been empty for a while; write the ids seen to `out`."""
    seen = []
    with _connection(folder) as conn:
        queue = conn.SimpleQueue(QUEUE)
        deadline = time.monotonic() + stop_after
        while time.monotonic() < deadline:
            try:
                message = queue.get(timeout=1.5)
            except queue.Empty:
                break
            seen.append(message.payload["id"])
            message.ack()
    out.write_text(",".join(map(str, seen)))


def _claim_and_hang(folder: Path, ready: Path) -> None:
    """Claim one message, never ack it, wait to be killed."""
    with _connection(folder) as conn:
        queue = conn.SimpleQueue(QUEUE)
        queue.get(timeout=10)
        ready.write_text("claimed")
        signal.pause()  # until the test kills this process


def test_many_producers_two_consumers_each_task_exactly_once(tmp_path):
    """4 producer processes + 4 producer threads, 2 consumer processes racing on one folder: every
    one of N messages is consumed exactly once, and no consumer dies on a half-written file."""
    n_per, producers = 150, 8
    ctx = multiprocessing.get_context("fork")
    outs = [tmp_path / f"out-{i}" for i in range(2)]
    consumers = [ctx.Process(target=_consume, args=(tmp_path / "b", out, 120)) for out in outs]
    for c in consumers:
        c.start()
    procs = [
        ctx.Process(target=_produce, args=(tmp_path / "b", range(i * n_per, (i + 1) * n_per)))
        for i in range(4)
    ]
    threads = [
        threading.Thread(target=_produce, args=(tmp_path / "b", range(i * n_per, (i + 1) * n_per)))
        for i in range(4, producers)
    ]
    for p in (*procs, *threads):
        p.start()
    for p in (*procs, *threads):
        p.join(timeout=120)
    for c in consumers:
        c.join(timeout=150)
        assert c.exitcode == 0, "a consumer died"
    seen = [int(x) for out in outs for x in out.read_text().split(",") if x]
    assert sorted(seen) == list(range(n_per * producers))
    assert all(out.read_text() for out in outs), "both consumers took a share"
    assert not list((tmp_path / "b" / "queue" / "stress").iterdir())
    assert not any((tmp_path / "b" / "claimed").rglob("*.msg"))


def test_a_killed_consumers_claims_come_back(tmp_path):
    """A consumer killed (SIGKILL) holding an unacked message: the next consumer gets it."""
    _produce(tmp_path, range(1))
    ctx = multiprocessing.get_context("fork")
    ready = tmp_path / "ready"
    hanging = ctx.Process(target=_claim_and_hang, args=(tmp_path, ready))
    hanging.start()
    wait_for(ready.exists, timeout=20)
    assert not list((tmp_path / "queue" / "stress").iterdir())
    os.kill(hanging.pid, signal.SIGKILL)
    hanging.join()
    with _connection(tmp_path) as conn:
        message = conn.SimpleQueue(QUEUE).get(timeout=5)
        assert message.payload == {"id": 0}
        message.ack()
    assert not any((tmp_path / "claimed").rglob("*.msg"))


def test_unacked_messages_go_back_on_close_and_on_requeue(tmp_path):
    """A consumer that stops (or rejects with requeue) hands its claims back, once each."""
    _produce(tmp_path, range(2))
    with _connection(tmp_path) as conn:
        queue = conn.SimpleQueue(QUEUE)
        queue.get(timeout=5).reject(requeue=True)
        queue.get(timeout=5)
    with _connection(tmp_path) as conn:
        queue = conn.SimpleQueue(QUEUE)
        ids = sorted(queue.get(timeout=5).payload["id"] for _ in range(2))
        assert ids == [0, 1]
        with pytest.raises(queue.Empty):
            queue.get(timeout=0.3)


def test_deleting_the_folder_neither_kills_nor_loses(tmp_path):
    """With the broker folder deleted under them, producers and consumers carry on."""
    with _connection(tmp_path) as conn:
        queue = conn.SimpleQueue(QUEUE)
        _produce(tmp_path, range(1))
        queue.get(timeout=5).ack()
        _delete(tmp_path)
        with pytest.raises(queue.Empty):
            queue.get(timeout=0.2)
        _produce(tmp_path, range(1, 2))
        message = queue.get(timeout=5)
        assert message.payload == {"id": 1}
        message.ack()


def test_a_garbage_file_goes_to_bad_and_the_next_message_comes(tmp_path, caplog):
    """A half-written or foreign file in the queue is moved to bad/ with a log line."""
    folder = tmp_path / "queue" / "stress"
    folder.mkdir(parents=True)
    (folder / f"{0:020d}_x.stress.msg").write_text('{"properties": {"deli')
    (folder / f"{1:020d}_y.stress.msg").write_text("[1, 2]")
    _produce(tmp_path, range(1))
    with _connection(tmp_path) as conn:
        message = conn.SimpleQueue(QUEUE).get(timeout=5)
        assert message.payload == {"id": 0}
        message.ack()
    assert sorted(p.name for p in (tmp_path / "bad").iterdir()) == [
        f"{0:020d}_x.stress.msg",
        f"{1:020d}_y.stress.msg",
    ]
    assert "is not a message" in caplog.text


def _broker_url_in_a_fresh_process(**env) -> str:
    """`settings.CELERY_BROKER_URL` as a process started with this environment reads it."""
    import subprocess
    import sys

    child_env = {k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"} | env
    code = "import django; django.setup(); from django.conf import settings; "
    code += "print(settings.CELERY_BROKER_URL)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=child_env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out.stdout.strip().splitlines()[-1]


def test_filesystem_url_means_the_embedded_broker():
    """The default and the old `filesystem://` both name this transport."""
    assert _broker_url_in_a_fresh_process() == "folder://"
    assert _broker_url_in_a_fresh_process(CELERY_BROKER_URL="filesystem://") == "folder://"
    assert Connection("folder://").transport_cls == "folder"
    assert isinstance(Connection("folder://").transport, broker.Transport)


def _folder_connection(folder: Path) -> Connection:
    """A connection to the embedded broker in `folder`, whatever broker the suite runs on."""
    return Connection(
        "folder://", transport_options={"folder": str(folder), "polling_interval": 0.05}
    )


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_survives_its_broker_folder_being_deleted(settings):
    """`rm -rf var/broker` under a running worker: the worker lives and runs the next task."""
    from workspaces.models import Heartbeat
    from workspaces.tasks import worker_heartbeat

    # The embedded broker for the worker and for these publishes, also in CI (Redis).
    with celery_processes("worker", CELERY_BROKER_URL="folder://") as (worker,):
        with _folder_connection(settings.BROKER_DIR) as conn:
            worker_heartbeat.apply_async(connection=conn)
        wait_for(lambda: Heartbeat.objects.filter(name="worker").exists(), timeout=60)
        Heartbeat.objects.all().delete()
        _delete(settings.BROKER_DIR)
        with _folder_connection(settings.BROKER_DIR) as conn:
            worker_heartbeat.apply_async(connection=conn)
        wait_for(lambda: Heartbeat.objects.filter(name="worker").exists(), timeout=60)
        assert worker.poll() is None


def test_unbound_topic_exchanges_route_nowhere(tmp_path):
    """Celery's event exchange (topic, no consumer bound) piles nothing up; a direct exchange
    whose binding file was deleted still reaches its queue of the same name."""
    with _connection(tmp_path) as conn:
        events = Exchange("celeryev", "topic")
        conn.Producer().publish(
            {"e": 1}, exchange=events, routing_key="worker.heartbeat", declare=[events]
        )
        default = Exchange("default", "direct")
        conn.Producer().publish(
            {"t": 1}, exchange=default, routing_key="default", declare=[default]
        )
    assert sorted(p.name for p in (tmp_path / "queue").iterdir()) == ["default"]
