"""Fixtures the end-to-end modules share."""
from __future__ import annotations

import pytest

from tests.webhook_receiver import WebhookReceiver


@pytest.fixture(scope="module")
def receiver():
    """A webhook receiver on a free port, for one module's subscriptions."""
    r = WebhookReceiver()
    yield r
    r.close()
