"""The Number page in a real browser: an owner reads a number's state as of last week with the
`As of` input (the `State as of …` region changes), then presses `Download evidence`; axe."""

import hashlib
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from compliance import tasks
from compliance.models import Export
from tests.support.factories import next_number
from tests.support.number_story import four_moments
from workspaces import clock

from ..support.browser import assert_accessible

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def exports_dir(settings, tmp_path):
    settings.EXPORTS_DIR = tmp_path / "exports"


def test_an_owner_reads_last_weeks_state_and_downloads_the_evidence(page_as, tenant, people):
    now = clock.now().replace(second=0, microsecond=0)
    days_ago = [now - timedelta(days=d) for d in (10, 9, 8, 2)]  # in, messaged, STOP, START
    story = four_moments(tenant, next_number(), days_ago)
    page = page_as(people[("A", "owner")])
    page.goto(f"/w/{tenant.workspace.slug}/numbers/{story.phone}/")
    state = page.get_by_role("region", name=re.compile(r"^State as of "))
    expect(state).to_contain_text(story.ids["regrant"])
    expect(state).not_to_contain_text(story.ids["suppression"])
    assert_accessible(page)

    last_week = (now - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("As of").fill(last_week)
    page.get_by_role("button", name="Show state").click()
    moment = last_week.replace("T", " ")
    state = page.get_by_role("region", name=re.compile(rf"^State as of {moment}"))
    expect(state).to_contain_text(story.ids["suppression"])
    expect(state).not_to_contain_text(story.ids["regrant"])
    expect(state).not_to_contain_text(story.ids["grant"])
    expect(page.get_by_role("link", name=story.ids["message"])).to_be_visible()
    assert_accessible(page)

    page.get_by_role("button", name="Download evidence").click()
    page.wait_for_url(re.compile(rf"/w/{tenant.workspace.slug}/exports/\?export=exp_\w+$"))
    export = Export.objects.get(workspace=tenant.workspace, kind="number")
    expect(page.get_by_text(export.id).first).to_be_visible()  # the Exports page lists it
    assert_accessible(page)
    assert export.filters["phone"] == story.phone
    assert export.filters["as_of"].startswith(moment.replace(" ", "T"))
    tasks.export_run(export.pk)  # the worker's part
    export.refresh_from_db()
    data = (Path(settings.EXPORTS_DIR) / export.file_name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == export.sha256
    assert story.ids["suppression"].encode() in data
