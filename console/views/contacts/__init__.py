"""The contact pages (CONTRACT §12): Contacts, Contact (edit, delete) and Import."""

from .detail import contact_delete_view, contact_detail
from .imports import import_detail, import_progress, import_report, import_start, import_upload
from .listing import contact_list

__all__ = [
    "contact_delete_view",
    "contact_detail",
    "contact_list",
    "import_detail",
    "import_progress",
    "import_report",
    "import_start",
    "import_upload",
]
