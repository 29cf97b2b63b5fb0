"""Memberships get prefixed ids (`mem_…`, CONTRACT §0): first the column becomes text.

Existing integer ids become their text ("1", "2"…), and ApiToken.created_by follows (Django
alters the referencing column with the key); 0005 then gives each row a real `mem_` id.
"""

import workspaces.ids
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("workspaces", "0003_scrub_stored_json")]

    operations = [
        migrations.AlterField(
            model_name="membership",
            name="id",
            field=workspaces.ids.PrefixedIdField(
                editable=False, max_length=40, prefix="mem", primary_key=True, serialize=False
            ),
        ),
    ]
