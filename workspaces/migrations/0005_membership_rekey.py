"""Give every existing membership a `mem_` id, and move its tokens' `created_by` along.

Its own migration (its own transaction): PostgreSQL checks the deferred foreign key at commit,
and no ALTER TABLE may follow these UPDATEs in the same transaction.
"""

from django.db import migrations

from workspaces.ids import new_id


def rekey(apps, schema_editor):
    Membership = apps.get_model("workspaces", "Membership")
    ApiToken = apps.get_model("workspaces", "ApiToken")
    for old in list(Membership.objects.exclude(id__startswith="mem_").values_list("id", flat=True)):
        new = new_id("mem")
        Membership.objects.filter(id=old).update(id=new)
        ApiToken.objects.filter(created_by_id=old).update(created_by_id=new)


class Migration(migrations.Migration):
    dependencies = [("workspaces", "0004_membership_prefixed_id")]

    operations = [migrations.RunPython(rekey, migrations.RunPython.noop)]
