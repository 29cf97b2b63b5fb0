"""`model_update`: sets and saves only the given fields, and reports the audit's before/after."""

import pytest
from django.core.exceptions import ValidationError

from campaigns.models import Contact
from tests.support.factories import WorkspaceFactory, contacts_for
from workspaces.updates import Update, model_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def contact():
    return contacts_for(WorkspaceFactory(), ["+14155550100"])[0]


def test_sets_the_given_fields_and_reports_what_changed(contact):
    stamp = contact.updated_at
    update = model_update(instance=contact, data={"first_name": "Ada", "last_name": ""})
    contact.refresh_from_db()
    assert (contact.first_name, contact.last_name) == ("Ada", "")
    assert update.before == {"first_name": "F0", "last_name": ""}
    assert update.after == {"first_name": "Ada", "last_name": ""}
    assert update.changed == ["first_name"] and update.has_changed
    assert contact.updated_at > stamp  # auto_now is written, as a full save did


def test_leaves_fields_it_was_not_given_as_the_database_has_them(contact):
    Contact.objects.filter(pk=contact.pk).update(last_name="Lovelace")  # a write it never saw
    model_update(instance=contact, data={"first_name": "Ada"})
    contact.refresh_from_db()
    assert (contact.first_name, contact.last_name) == ("Ada", "Lovelace")


def test_unchanged_values_report_no_change(contact):
    update = model_update(instance=contact, data={"first_name": "F0"})
    assert update.changed == [] and not update.has_changed
    assert update.audit() == {"before": {}, "after": {}}


def test_audit_gives_changed_fields_within_the_audited_ones_sorted():
    update = Update(before={"b": 1, "a": 1, "c": 1}, after={"b": 2, "a": 2, "c": 1})
    assert update.audit() == {"before": {"a": 1, "b": 1}, "after": {"a": 2, "b": 2}}
    assert update.audit(["b", "c"]) == {"before": {"b": 1}, "after": {"b": 2}}
    assert update.audit(["b", "c"], changed_only=False) == {
        "before": {"b": 1, "c": 1},
        "after": {"b": 2, "c": 1},
    }


def test_full_clean_refuses_before_saving(contact):
    with pytest.raises(ValidationError):
        model_update(instance=contact, data={"first_name": "x" * 101}, full_clean=True)
    contact.refresh_from_db()
    assert contact.first_name == "F0"


def test_save_false_only_sets(contact):
    update = model_update(instance=contact, data={"first_name": "Ada"}, save=False)
    assert contact.first_name == "Ada" and update.changed == ["first_name"]
    contact.refresh_from_db()
    assert contact.first_name == "F0"


def test_a_relation_is_compared_by_id_without_a_query(contact, django_assert_num_queries):
    fresh = Contact.objects.get(pk=contact.pk)  # its workspace not loaded
    other = WorkspaceFactory()
    with django_assert_num_queries(0):
        update = model_update(instance=fresh, data={"workspace": other}, save=False)
    assert update.before == {"workspace": contact.workspace_id}
    assert update.after == {"workspace": other.pk}
