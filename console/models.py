"""The console's own records: recent sign-ins (console/accounts_records.py)."""

from .accounts_records import SignIn

__all__ = ["SignIn"]
