"""JSON values Tern can always store and render: no lone surrogates, no NUL, finite numbers only.

PostgreSQL's jsonb refuses lone UTF-16 surrogates, `\\u0000` and NaN/Infinity, and UTF-8 cannot
encode a lone surrogate at all; `json.loads` accepts every one of them. So the request parser
refuses them (`workspaces.api.parsers`), and `scrub` mends values already stored (the data
migrations) or met on the way out (the renderer).
"""

import math
import re

LONE_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def scrub_text(text: str) -> str:
    """Lone surrogates become U+FFFD and NUL characters go."""
    return LONE_SURROGATE.sub(REPLACEMENT, text).replace("\x00", "")


def scrub(value):
    """The same JSON value with every string (keys too) scrubbed and non-finite numbers as null."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {scrub_text(k) if isinstance(k, str) else k: scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


def scrub_stored_json(apps, schema_editor, app_label: str, fields: dict[str, tuple[str, ...]]):
    """Data migrations: rewrite the JSON fields of stored rows that `scrub` changes.

    PostgreSQL's jsonb never accepted these values (the write failed), so there is nothing to
    mend there; SQLite stored them as escaped text, so its rows are read and mended in chunks.
    """
    if schema_editor.connection.vendor == "postgresql":
        return
    alias = schema_editor.connection.alias
    for model_name, names in fields.items():
        model = apps.get_model(app_label, model_name)
        rows = model.objects.using(alias).values_list("pk", *names).order_by()
        for pk, *values in rows.iterator(chunk_size=2000):
            changed = {n: scrub(v) for n, v in zip(names, values, strict=True) if scrub(v) != v}
            if changed:
                model.objects.using(alias).filter(pk=pk).update(**changed)
