"""A send the database committed is accepted even when the broker then refuses its task: the
sweeper enqueues rows left queued, so a broker error after commit is logged, never a 500."""

import pytest
from kombu import Producer
from kombu.exceptions import ChannelError, OperationalError

from messaging.models import Message, Status

from .test_send_api import URL, payload


def _channel_refuses(monkeypatch):
    """The broker's channel refuses the message (the embedded folder full or unwritable; a
    Redis that answers with an error): whichever broker this run is configured with."""
    from celery import current_app

    def refuse(self, queue, message, **kwargs):
        raise ChannelError("Cannot add the message to the broker")

    with current_app.connection_for_write() as connection:
        channel_class = connection.transport.Channel
    monkeypatch.setattr(channel_class, "_put", refuse)


def _broker_down(monkeypatch):
    """A server broker (Redis, RabbitMQ) that does not answer."""

    def down(self, *args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(Producer, "publish", down)


@pytest.mark.parametrize("break_broker", [_channel_refuses, _broker_down])
@pytest.mark.django_db(transaction=True)
def test_a_send_is_accepted_when_the_broker_fails_after_commit(
    tenant, other_tenant, monkeypatch, caplog, break_broker
):
    """POST /api/v1/messages answers 202 and the message stays queued for the sweeper."""
    break_broker(monkeypatch)
    response = tenant.client().post(URL, payload(tenant), format="json")
    assert response.status_code == 202, response.content
    message = Message.objects.get(pk=response.json()["id"])
    assert message.status == Status.QUEUED
    assert "the broker refused messaging.tasks.dispatch_message" in caplog.text
    detail = tenant.client().get(f"{URL}/{message.pk}")
    assert detail.status_code == 200 and detail.json()["status"] == "queued"
    assert other_tenant.client().get(f"{URL}/{message.pk}").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_batch_is_accepted_when_the_broker_fails_after_commit(tenant, monkeypatch):
    """The batch's fan-out publishes fail alike: 200, every message queued."""
    _channel_refuses(monkeypatch)
    items = [payload(tenant), payload(tenant)]
    response = tenant.client().post(f"{URL}/batch", {"messages": items}, format="json")
    assert response.status_code == 200, response.content
    assert Message.objects.count() == 2
    assert set(Message.objects.values_list("status", flat=True)) == {Status.QUEUED}
