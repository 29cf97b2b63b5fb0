"""A NUL character in a CSV cell is a row error of its own, never a failed import."""

import pytest

from campaigns.models import Contact

from .test_imports import _import, media_root  # noqa: F401 (the fixture keeps uploads apart)

pytestmark = pytest.mark.django_db


def test_nul_in_a_cell_refuses_that_row_only(tenant, other_tenant):
    """Rows 3 and 4 carry NUL (a name, a phone); the others import; the report names them."""
    text = (
        "phone,first_name,tags\n"
        "+14155550101,Ann,a\n"
        "+14155550102,B\x00ob,b\n"
        "+1415555\x000103,Cy,c\n"
        "+14155550104,Di,d\x00\n"
    )
    body = _import(tenant, text)
    assert body["status"] == "completed", body
    assert body["created"] == 1
    assert [(e["row"], e["code"], e["value"]) for e in body["errors"]] == [
        (3, "nul_character", "Bob"),
        (4, "nul_character", "+14155550103"),
        (5, "nul_character", "d"),
    ]
    assert list(
        Contact.objects.for_workspace(tenant.workspace).values_list("phone", flat=True)
    ) == ["+14155550101"]
    assert not Contact.objects.for_workspace(other_tenant.workspace).exists()
