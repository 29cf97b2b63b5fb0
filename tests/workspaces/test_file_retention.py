"""Uploaded import files and mail files are kept 7 days, then purged by the scheduler (§13)."""

import os
from datetime import timedelta
from pathlib import Path

import time_machine
from django.conf import settings
from django.utils import timezone

from campaigns.imports.report import import_path
from workspaces.retention import purge_files, purge_run, registered_file_purges


def _file(path: Path, age: timedelta) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x")
    stamp = (timezone.now() - age).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def test_old_import_uploads_and_mail_go_new_ones_stay(db):
    mail = Path(getattr(settings, "EMAIL_FILE_PATH", settings.VAR_DIR / "mail"))
    old_upload = _file(import_path("imp_old"), timedelta(days=8))
    new_upload = _file(import_path("imp_new"), timedelta(days=6))
    old_mail = _file(mail / "old.log", timedelta(days=7, minutes=1))
    new_mail = _file(mail / "new.log", timedelta(hours=1))
    done = purge_run()
    assert done["campaigns.import_files"] >= 1 and done["workspaces.mail_files"] >= 1
    assert not old_upload.exists() and not old_mail.exists()
    assert new_upload.exists() and new_mail.exists()


def test_the_periods_are_settings(db, settings):
    settings.RETENTION_IMPORT_FILES_DAYS = 1
    upload = _file(import_path("imp_two_days"), timedelta(days=2))
    purge_run()
    assert not upload.exists()


def test_file_purge_is_bounded_and_skips_folders(tmp_path):
    for n in range(5):
        _file(tmp_path / f"f{n}", timedelta(days=30))
    (tmp_path / "sub").mkdir()
    with time_machine.travel(timezone.now()):
        cutoff = timezone.now() - timedelta(days=7)
        assert purge_files(tmp_path, older_than=cutoff, limit=3) == 3
        assert purge_files(tmp_path, older_than=cutoff, limit=3) == 2
    assert (tmp_path / "sub").is_dir()
    assert purge_files(tmp_path / "missing", older_than=cutoff, limit=3) == 0


def test_both_file_purges_are_registered():
    assert {"campaigns.import_files", "workspaces.mail_files"} <= set(registered_file_purges())
