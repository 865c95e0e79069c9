"""Backups of the database and the uploaded covers, and their restore into an empty database.

A backup is a folder ``finews-<UTC time>/`` holding

- ``database.dump``: PostgreSQL's ``pg_dump --format=custom`` (restored by ``pg_restore``), or
  ``database.sqlite3``: SQLite's online backup (Python's ``sqlite3.Connection.backup``, the API
  behind the shell's ``.backup``), a consistent copy taken while the site goes on serving and writing;
- ``media.tar``: every file under ``MEDIA_ROOT`` (covers and their thumbnails), taken after the
  database, so that every file the database names is in it;
- ``manifest.json``: what was backed up, when, and how many articles, checked after a restore.

The database is dumped whole (the search index included); covers on object storage
(``MEDIA_STORAGE_BACKEND``) are not files here and are left to that storage's own versioning.
"""

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import connection

MANIFEST = "manifest.json"
POSTGRESQL_DUMP = "database.dump"
SQLITE_COPY = "database.sqlite3"
MEDIA_ARCHIVE = "media.tar"


class BackupError(Exception):
    """A backup or restore that could not be made; the message says why and what to do."""


def back_up(destination):
    """Back up the database and MEDIA_ROOT into a new folder under ``destination`` (a path; made
    if missing). Returns the new folder's Path. Raises BackupError."""
    from articles.models import Article

    created = dt.datetime.now(dt.UTC)
    folder = Path(destination) / f"finews-{created:%Y%m%dT%H%M%SZ}"
    try:
        folder.mkdir(parents=True)
    except FileExistsError:
        raise BackupError(f"{folder} exists already: one backup a second at most") from None
    except OSError as error:
        raise BackupError(f"Cannot make {folder}: {error.strerror}") from None
    articles = Article.objects.count()
    if connection.vendor == "postgresql":
        database_file = folder / POSTGRESQL_DUMP
        _run_postgresql("pg_dump", "--format=custom", "--no-owner", f"--file={database_file}")
    elif connection.vendor == "sqlite":
        database_file = folder / SQLITE_COPY
        _copy_sqlite(settings.DATABASES["default"]["NAME"], database_file)
    else:
        raise BackupError(f"No backup for the {connection.vendor} database engine")
    media_files = _archive_media(folder / MEDIA_ARCHIVE)
    manifest = {
        "created": created.isoformat(),
        "engine": connection.vendor,
        "database": database_file.name,
        "database_sha256": _sha256(database_file),
        "articles": articles,
        "media_files": media_files,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return folder


def restore(backup_folder):
    """Restore the backup in ``backup_folder`` into the configured database, which must be empty,
    and its covers into MEDIA_ROOT. Returns the manifest (a dict). Raises BackupError before
    writing anything when the database has tables, a cover would replace a different file, or the
    backup is incomplete or damaged (its media archive holding anything but files inside MEDIA_ROOT)."""
    from articles.models import Article

    folder = Path(backup_folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as error:
        raise BackupError(f"{folder} is not a finews backup ({MANIFEST}: {error})") from None
    if manifest["engine"] != connection.vendor:
        raise BackupError(f"The backup is of a {manifest['engine']} database; DATABASE_URL is {connection.vendor}")
    database_file = folder / manifest["database"]
    if not database_file.exists() or _sha256(database_file) != manifest["database_sha256"]:
        raise BackupError(f"{database_file} is missing or damaged (its SHA-256 is not the manifest's)")
    tables = connection.introspection.table_names()
    if tables:
        raise BackupError(
            f"The database is not empty ({len(tables)} tables, e.g. {tables[0]}): a restore goes into a new, "
            "empty database, so that nothing stored is overwritten. Create one and point DATABASE_URL at it."
        )
    media = folder / MEDIA_ARCHIVE
    with tarfile.open(media) as archive:
        members = archive.getmembers()
        _check_media(members, archive)
        if connection.vendor == "postgresql":
            _run_postgresql(
                "pg_restore",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                str(database_file),
            )
        else:
            connection.close()
            _copy_sqlite(database_file, settings.DATABASES["default"]["NAME"])
        _extract_media(members, archive)
    restored = Article.objects.count()
    if restored != manifest["articles"]:
        raise BackupError(f"The restored database holds {restored} articles; the backup had {manifest['articles']}")
    return manifest


def _copy_sqlite(source, target):
    """Copy the SQLite database ``source`` into ``target`` page by page with SQLite's backup API:
    consistent while others read and write ``source``."""
    with contextlib.closing(sqlite3.connect(source)) as reading, contextlib.closing(sqlite3.connect(target)) as writing:
        reading.backup(writing)


def _archive_media(path):
    """Write every file under MEDIA_ROOT into the tar file ``path``; returns how many."""
    root = Path(settings.MEDIA_ROOT)
    count = 0
    with tarfile.open(path, "w") as archive:
        if isinstance(default_storage, FileSystemStorage) and root.is_dir():
            for file in sorted(root.rglob("*")):
                if file.is_file():
                    archive.add(file, arcname=str(file.relative_to(root)))
                    count += 1
    return count


def _check_media(members, archive):
    """Raise BackupError, before anything is written, for a member of the media archive that is not a
    file or folder inside MEDIA_ROOT (a link, a device, an absolute path, a ``..``), and for a file
    that would replace a different one."""
    root = Path(settings.MEDIA_ROOT)
    for member in members:
        name = PurePosixPath(member.name)
        if not (member.isfile() or member.isdir()) or name.is_absolute() or ".." in name.parts:
            raise BackupError(f"{MEDIA_ARCHIVE} holds {member.name!r}, not a file inside MEDIA_ROOT: not restored")
        target = root / member.name
        if member.isfile() and target.exists() and target.read_bytes() != archive.extractfile(member).read():
            raise BackupError(f"{target} exists and differs from the backup's copy: not overwritten")


def _extract_media(members, archive):
    """Write the checked members (_check_media) under MEDIA_ROOT, as plain files with this process's
    owner and mode. By hand: TarFile.extractall's ``filter="data"`` is missing from Python before
    3.11.4, and Debian 12, the production host, has 3.11.2."""
    root = Path(settings.MEDIA_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    for member in members:
        target = root / member.name
        if member.isdir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with archive.extractfile(member) as source, open(target, "wb") as copy:
            shutil.copyfileobj(source, copy)


def _run_postgresql(program, *arguments):
    """Run pg_dump or pg_restore against the configured database (its URL's host, port, user and
    password); raise BackupError with its message if it fails."""
    database = settings.DATABASES["default"]
    if shutil.which(program) is None:
        raise BackupError(f"{program} is not installed (Debian: apt-get install postgresql-client)")
    environment = {**os.environ, "PGDATABASE": database["NAME"], "PGCONNECT_TIMEOUT": "10"}
    for variable, key in (("PGHOST", "HOST"), ("PGPORT", "PORT"), ("PGUSER", "USER"), ("PGPASSWORD", "PASSWORD")):
        if database.get(key):
            environment[variable] = str(database[key])
    # pg_restore writes into the database named by --dbname; pg_dump reads PGDATABASE.
    if program == "pg_restore":
        arguments = (f"--dbname={database['NAME']}", *arguments)
    result = subprocess.run([program, *arguments], env=environment, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{program} failed: {result.stderr.strip()[-2000:]}")


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
