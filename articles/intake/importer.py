"""Importing Jekyll post files into articles: idempotent, incremental, one transaction per file."""

import contextlib
import enum
import hashlib
import logging
import multiprocessing
import os
import stat
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction

from articles import publishing, slugs
from articles.models import Article, Category, StockReference, Tag
from articles.roles import users_named
from articles.stories import BatchLeads, lead_for

from .frontmatter import PostError, parse_file_name
from .posts import parse_post

logger = logging.getLogger("articles.intake")

POST_EXTENSIONS = {".md", ".markdown", ".html"}
MAX_FILE_BYTES = 20 * 1024 * 1024
CONFLICT_REASON = "changed in the admin since its import; not overwritten (use --force)"
# The same info code in a file of another name (2022-01-07-NW1.md, then 2022-01-08-NW1.md): the
# scraper's mistake or a second post, for an editor to look at, not a silent overwrite each time.
ANOTHER_FILE_REASON = "its info code's article was imported from another file, {}; not imported (use --force)"
ANOTHER_FILE_WARNING = "its info code's article was imported from another file, {}; updated from this one (--force)"
# The earlier file is gone from where it was imported from: the post was renamed or moved (its date
# corrected in the name, a folder reorganised), so this file is the article's now.
RENAMED_WARNING = "its info code's article was imported from {}, which is no longer there; updated from this file"
# The reason given when writing a file failed unexpectedly (a bug, or the database): never for bad input.
WRITE_FAILURE = "could not be written"
# Files written in one transaction (each in a savepoint): a commit per file was a fifth of the import.
BATCH_SIZE = 100
# With worker processes: the stored digests are read for this many batches at a time, and the
# workers parse that far ahead of the writer.
WINDOW_BATCHES = 10
# Files handed to a worker at a time.
PREPARE_CHUNK = 10
# A run of more files than this reads every stored stock's key at its start (one query for a few
# thousand short rows), instead of a query for each post mentioning a stock the run has not met.
READ_ALL_STOCKS_AFTER = BATCH_SIZE


class Outcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"
    REJECTED = "rejected"


@dataclass
class FileReport:
    path: Path
    outcome: Outcome
    reason: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass
class ImportSummary:
    counts: Counter = field(default_factory=Counter)

    def add(self, report):
        self.counts[report.outcome] += 1

    def __str__(self):
        return ", ".join(f"{self.counts[outcome]} {outcome}" for outcome in Outcome)

    def log_fields(self):
        """The counts as key=value pairs, for greppable log lines."""
        return " ".join(f"{outcome}={count}" for outcome, count in sorted(self.counts.items()))


def find_post_files(paths):
    """Yield ``(path, error)`` for every post under ``paths`` (files or folders, searched recursively).

    A path that cannot be imported yields an error instead: one that does not exist, one that is
    not a regular file (a FIFO would block the import forever, a device never end), and a symbolic
    link that leads out of the folder given (a post is only what is in the posts folder). Links to
    folders are not followed. Hidden files and folders are skipped, as Jekyll does.
    """
    for given in map(Path, paths):
        if given.is_dir():
            root = given.resolve()
            for folder, folder_names, file_names in os.walk(given):
                folder_names[:] = sorted(name for name in folder_names if not name.startswith("."))
                for name in sorted(file_names):
                    candidate = Path(folder) / name
                    if not name.startswith(".") and candidate.suffix.lower() in POST_EXTENSIONS:
                        yield candidate, _not_a_post_file(candidate, root)
        elif given.exists() or given.is_symlink():
            yield given, _not_a_post_file(given, root=None)
        else:
            yield given, "no such file or folder"


def _not_a_post_file(path, root):
    """Why ``path`` cannot be read as a post (None if it can); links must stay inside ``root``."""
    try:
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            target = path.resolve(strict=True)
            if root is not None and not target.is_relative_to(root):
                return f"a symbolic link to {target}, outside the folder; not followed"
            mode = target.stat().st_mode
    except (OSError, RuntimeError):
        return "a broken symbolic link"
    if not stat.S_ISREG(mode):
        return "not a regular file (a FIFO, socket or device); skipped"
    return None


def file_digest(raw):
    return hashlib.sha256(raw).hexdigest()


def _renamed(path, stored_path):
    """Whether the post file at ``path`` (a Path) replaces ``stored_path`` (str), the file its
    article was imported from: ``path`` is a file of another name and the earlier one is gone.
    Only an absolute stored path tells: a relative one was relative to whatever folder that import
    ran in, and a pushed post's (api/<token>/<name>) is on no disk."""
    stored = Path(stored_path)
    return stored.name != path.name and stored.is_absolute() and not stored.exists() and Path(path).is_file()


def _from_another_file(path, parsed, existing, force):
    """A conflict's report if ``existing`` was imported from a file of another name than ``path``
    that is still there (with ``force``, or when that file is gone, a warning naming it); None
    otherwise. Only the name counts: the same posts imported by another path (absolute, another
    checkout) are the same files. A pushed post's path (api/<token>/<name>) is on no disk, so two
    pushed names of one info code are a conflict."""
    if not existing or not existing.source_path or Path(existing.source_path).name == path.name:
        return None
    renamed = _renamed(path, existing.source_path)
    if not (force or renamed):
        return FileReport(path, Outcome.CONFLICT, ANOTHER_FILE_REASON.format(existing.source_path), parsed.warnings)
    warning = (RENAMED_WARNING if renamed else ANOTHER_FILE_WARNING).format(existing.source_path)
    if warning not in parsed.warnings:  # said once, should the file's write be tried again
        parsed.warnings.append(warning)
    return None


class PostImporter:
    """Imports post files one at a time; ``force`` overwrites editors' changes, ``dry_run`` writes nothing."""

    def __init__(self, force=False, dry_run=False):
        self.force = force
        self.dry_run = dry_run
        # Looked up once per run: most posts share a handful of categories, tags and stocks.
        self._categories = {}
        self._tags = {}
        self._stocks = {}
        # {(market, code): (pk, name)} of the stored stocks, read at the start of a long run; each
        # becomes a StockReference in _stocks when a post first mentions it.
        self._stored_stocks = {}
        self._stocks_db = None
        # Whether _stored_stocks held every stock stored (a stock not in it nor in _stocks is new).
        self._all_stocks_read = False
        # What the current batch's articles are stored as (_note_stored): a file whose digest is
        # its article's stored one is unchanged, and a code no article has needs no look-up, without
        # _existing()'s query, one per file. A code leaves both when its file is written.
        self._stored_digests = {}
        self._stored_paths = {}
        self._absent = set()
        # The story lookups of the current batch (None outside one: a file imported alone).
        self._leads = None

    def import_files(self, files, workers=1):
        """Import ``files``, (path, why it cannot be read or None) pairs, BATCH_SIZE to a transaction;
        yield each one's FileReport once its batch is committed.

        ``workers`` > 1 reads and parses the files in that many worker processes (prepare()) while
        this process writes them, in the same order, batches and savepoints, with the same checks
        (hash skip, editors' changes, blanked bodies): only the parsing moves.

        Each file is written in a savepoint of its own, so a bad one is rolled back alone, and
        as one revision, its search index rows with it. Should a batch fail to commit (the
        connection dropped, say), the connection is opened afresh and its files are imported
        again one by one; a file the lost commit did write is reported as what it was then
        (created or updated), not as unchanged.
        """
        # Read afresh for each run (a watching importer's too), and only for a long one.
        self._stored_stocks, self._all_stocks_read = {}, False
        if len(files) > READ_ALL_STOCKS_AFTER:
            self._read_stored_stocks()
        with _preparing(workers) as pool:
            for start in range(0, len(files), BATCH_SIZE * WINDOW_BATCHES):
                window = files[start : start + BATCH_SIZE * WINDOW_BATCHES]
                prepared = self._prepared(window, pool)
                for offset in range(0, len(window), BATCH_SIZE):
                    yield from self._import_batch(window[offset : offset + BATCH_SIZE], prepared)

    def _prepared(self, files, pool):
        """An iterator of prepare()'s answers for ``files``, in order, from the worker ``pool``; or
        None without one (each file is then read and parsed as it is written)."""
        if pool is None:
            return None
        codes = {path: _info_code_or_none(path) for path, error in files if not error}
        stored = dict(
            Article.objects.filter(info_code__in=set(codes.values()) - {None}).values_list("info_code", "source_hash")
        )
        jobs = [(path, error, stored.get(codes.get(path))) for path, error in files]
        return pool.imap(_prepare_job, jobs, chunksize=PREPARE_CHUNK)

    def _import_batch(self, batch, prepared):
        first_try = []
        try:
            with transaction.atomic():
                self._note_stored(batch)
                for path, error in batch:
                    if prepared is None:
                        first_try.append(self._file_report(path, error))
                    else:
                        first_try.append(self._guarded(path, self._import_prepared, next(prepared)))
                self._leads = None  # what they hold is this transaction's
            reports = first_try
        except DatabaseError:
            logger.exception("a batch of %d files failed to commit; importing them one by one", len(batch))
            self._forget_lookups()
            if not connection.in_atomic_block:
                connection.close()  # a dropped connection is opened afresh by the next query
            if prepared is not None:
                for _ in batch[len(first_try) :]:  # the workers' answers for the files not reached
                    next(prepared)
            reports = [self._file_report(path, error) for path, error in batch]
            reports = [_as_first_written(again, first_try) for again in reports]
        yield from reports

    def _note_stored(self, batch):
        """Remember the stored digest of each of ``batch``'s info codes, and which codes no stored
        article has (one query for the batch)."""
        codes = {_info_code_or_none(path) for path, error in batch if not error} - {None}
        stored = Article.objects.filter(info_code__in=codes).values_list("info_code", "source_hash", "source_path")
        self._stored_digests = {code: digest for code, digest, _ in stored}
        self._stored_paths = {code: source_path for code, _, source_path in stored}
        self._absent = codes - set(self._stored_digests)
        self._leads = BatchLeads(codes)

    def _unchanged(self, path, info_code, stored_path=None):
        """The report of a file whose content is its article's; a renamed post's new path noted,
        so that a later file of its info code is compared with this one, not the gone one.
        ``stored_path``: the article's source_path, when read (else the batch's)."""
        stored_path = self._stored_paths.get(info_code) if stored_path is None else stored_path
        if not self.dry_run and _renamed(path, stored_path or ""):
            publishing.note_source_path(info_code, str(path))
            self._stored_paths[info_code] = str(path)
        return FileReport(path, Outcome.UNCHANGED)

    def _file_report(self, path, error):
        return FileReport(path, Outcome.REJECTED, error) if error else self.import_file(path)

    def import_file(self, path, raw=None):
        """Import one file in its own transaction; whatever goes wrong, report it and carry on.

        ``raw``, when given, is the file's content (a post sent over HTTP): ``path`` then only names it.
        """
        path = Path(path)
        return self._guarded(path, self._import_file, path, raw)

    def _guarded(self, path, write, *arguments):
        """``write(*arguments)``'s report for the file at ``path``, or a rejection if it failed."""
        try:
            return write(*arguments)
        except Exception as error:
            # A bug or a database failure on one file must not stop the others; its transaction
            # was rolled back, so nothing of it was written.
            self._forget_lookups()
            logger.exception("import of %s failed", path)
            return FileReport(path, Outcome.REJECTED, f"{WRITE_FAILURE} ({type(error).__name__}: {error})")

    def _import_file(self, path, raw):
        try:
            info_code = parse_file_name(path).info_code
            raw = _read_post_bytes(path) if raw is None else raw
            digest = file_digest(raw)
            if self._stored_digests.get(info_code) == digest:
                return self._unchanged(path, info_code)
            existing = self._existing(info_code)
            if existing and existing.source_hash == digest:
                return self._unchanged(path, info_code, existing.source_path)
            parsed = parse_post(path, raw)
        except PostError as error:
            return FileReport(path, Outcome.REJECTED, str(error))
        return self._write(path, parsed, existing, digest)

    def _import_prepared(self, prepared):
        """Import a file a worker prepared (prepare()): the checks and the write of _import_file()."""
        path = prepared.path
        if prepared.digest is None:  # unreadable, or not a post's file name
            return FileReport(path, Outcome.REJECTED, prepared.error)
        if self._stored_digests.get(prepared.info_code) == prepared.digest:
            return self._unchanged(path, prepared.info_code)
        existing = self._existing(prepared.info_code)
        if existing and existing.source_hash == prepared.digest:
            return self._unchanged(path, prepared.info_code, existing.source_path)
        if prepared.error:
            return FileReport(path, Outcome.REJECTED, prepared.error)
        if prepared.parsed is None:
            # Unchanged when the worker looked, changed since (another import): read it afresh.
            return self._import_file(path, None)
        return self._write(path, prepared.parsed, existing, prepared.digest, prepared.validated)

    def _existing(self, info_code):
        if info_code in self._absent:
            return None
        return (
            Article.objects.filter(info_code=info_code)
            .only("id", "source_hash", "source_path", "edited_since_import", "body")
            .first()
        )

    def _write(self, path, parsed, existing, digest, validated=None):
        """The checks that need the stored article, then the write (_save); ``validated``: the
        fields a worker validated (prepare())."""
        if existing and existing.edited_since_import and not self.force:
            return FileReport(path, Outcome.CONFLICT, CONFLICT_REASON, parsed.warnings)
        if another_file := _from_another_file(path, parsed, existing, self.force):
            return another_file
        if existing and existing.body and not parsed.body.html and not self.force:
            return FileReport(
                path, Outcome.REJECTED, "the new file would blank the article's body (use --force)", parsed.warnings
            )
        if self.dry_run:
            return FileReport(path, Outcome.UPDATED if existing else Outcome.CREATED, warnings=parsed.warnings)
        try:
            outcome = self._save(parsed, existing, path, digest, validated)
        except ValidationError as error:
            self._forget_lookups()
            return FileReport(path, Outcome.REJECTED, _validation_reason(error), parsed.warnings)
        except IntegrityError:
            # Another import created the same article (or tag, stock, category) meanwhile:
            # this file's transaction was rolled back; try once more against what is there now.
            self._forget_lookups()
            existing = Article.objects.filter(info_code=parsed.info_code).first()
            if existing and existing.source_hash == digest:
                return FileReport(path, Outcome.UNCHANGED, warnings=parsed.warnings)
            if another_file := _from_another_file(path, parsed, existing, self.force):
                return another_file
            if existing and existing.edited_since_import and not self.force:
                return FileReport(path, Outcome.CONFLICT, CONFLICT_REASON, parsed.warnings)
            outcome = self._save(parsed, existing, path, digest, validated)
        return FileReport(path, outcome, warnings=parsed.warnings)

    @transaction.atomic
    def _save(self, parsed, existing, path, digest, validated=None):
        """Write the article through the one write path: a revision per import, so an editor can
        always go back to the version as imported."""
        # Written now (or rolled back, and then looked up again should the code come twice).
        self._absent.discard(parsed.info_code)
        self._stored_digests.pop(parsed.info_code, None)
        # The whole row, so that everything (updated_at too) is saved; the checks read only a few fields.
        article = Article.objects.get(pk=existing.pk) if existing else Article(info_code=parsed.info_code)
        for name, value in _article_fields(parsed, path, digest).items():
            setattr(article, name, value)
        article.slug = article.slug or parsed.slug  # a stored article keeps the slug it has
        article.category = self._category(parsed)
        _name_responsible_editor(article, parsed.responsible_editor_name, parsed.warnings)
        self._join_its_story(article, parsed.warnings)
        publishing.save_article(
            article,
            tags=[self._tag(name) for name in parsed.tag_names],
            stocks=self._stock_references(parsed.body.stocks),
            edited=False,
            comment=f"导入 {path.name}",
            savepoint=False,  # this method's is the file's one
            search_text=parsed.search_text,
            validated=validated,
        )
        if self._leads is not None:
            self._leads.written(article)
        return Outcome.UPDATED if existing else Outcome.CREATED

    def _forget_lookups(self):
        """After a rolled-back file: what it created (a category, a tag, a stock's name) is gone."""
        self._categories.clear()
        self._tags.clear()
        self._stocks.clear()
        # One may have been deleted since: looked up again as needed.
        self._stored_stocks.clear()
        self._all_stocks_read = False
        self._stored_digests.clear()
        self._stored_paths.clear()
        self._absent.clear()
        self._leads = None

    def _category(self, parsed):
        category = self._categories.get(parsed.category_name)
        if category is None:
            category = Category.objects.filter(name=parsed.category_name).first()
            if category is None:
                category = publishing.save_topic(Category(name=parsed.category_name, title=parsed.category_title))
            self._categories[parsed.category_name] = category
        return category

    def _tag(self, name):
        """The Tag named ``name``, matched case-insensitively as taggit does, created when new."""
        key = name.casefold()
        if key not in self._tags:
            tag = Tag.objects.filter(name__iexact=name).first() or publishing.save_topic(Tag(name=name))
            self._tags[key] = tag
        return self._tags[key]

    def _read_stored_stocks(self):
        stocks = StockReference.objects.order_by().values_list("market", "code", "pk", "name")
        self._stored_stocks = {(market, code): (pk, name) for market, code, pk, name in stocks}
        self._stocks_db, self._all_stocks_read = stocks.db, True

    def _stock_references(self, mentions):
        keys = [(mention.market, mention.code) for mention in mentions]
        for key in keys:
            if key not in self._stocks and key in self._stored_stocks:
                pk, name = self._stored_stocks.pop(key)
                stock = StockReference(pk=pk, market=key[0], code=key[1], name=name)
                stock._state.adding, stock._state.db = False, self._stocks_db
                self._stocks[key] = stock
        # Those not looked up yet, and those this post may give their first name.
        wanted = [
            mention
            for mention in mentions
            if (mention.market, mention.code) not in self._stocks
            or (mention.name and not self._stocks[(mention.market, mention.code)].name)
        ]
        if wanted:
            new = self._all_stocks_read and not any(
                (mention.market, mention.code) in self._stocks for mention in wanted
            )
            self._stocks.update(publishing.stock_references(wanted, new=new))
        return [self._stocks[key] for key in keys]

    def _join_its_story(self, article, warnings):
        """Make ``article`` a copy of the story it belongs to (stories.py), unless an editor changed that story."""
        if article.story_id is not None or (article.pk is not None and article.copies.exists()):
            return
        lead = lead_for(article) if article.pk is not None or self._leads is None else self._leads.lead_for(article)
        _join(article, lead, warnings)


@dataclass
class Prepared:
    """What a worker process makes of a file before any write (prepare()).

    ``digest`` is None when the file could not be read or named no article (``error`` says why);
    ``parsed`` is None when the file's digest was the stored one (nothing to parse) or when it
    could not be parsed (``error``). ``validated``: its article's fields as validated here
    (publishing.validate_fields), None when they are not valid (the writer's save says why).
    """

    path: Path
    info_code: str = ""
    digest: str | None = None
    parsed: object = None
    error: str = ""
    validated: dict | None = None


def prepare(path, error, stored_digest):
    """Read and parse the file at ``path`` (no database): a Prepared. ``error`` is why it cannot be
    read (find_post_files), ``stored_digest`` its article's source_hash when it has one."""
    if error:
        return Prepared(path, error=error)
    try:
        info_code = parse_file_name(path).info_code
        raw = _read_post_bytes(path)
    except PostError as problem:
        return Prepared(path, error=str(problem))
    digest = file_digest(raw)
    if digest == stored_digest:
        return Prepared(path, info_code, digest)
    try:
        parsed = parse_post(path, raw)
    except PostError as problem:
        return Prepared(path, info_code, digest, error=str(problem))
    try:
        validated = publishing.validate_fields({**_article_fields(parsed, path, digest), "slug": parsed.slug})
    except ValidationError:
        validated = None
    return Prepared(path, info_code, digest, parsed, validated=validated)


def _article_fields(parsed, path, digest):
    """The fields of the article of the post file at ``path`` (``parsed``, of ``digest``) that need
    no database, but its slug (a stored article keeps its own)."""
    return {
        "info_code": parsed.info_code,
        "title": parsed.title,
        "summary": parsed.body.summary,
        "body": parsed.body.html,
        "status": Article.Status.DRAFT if parsed.is_draft else Article.Status.PUBLISHED,
        "published_at": parsed.published_at,
        "source_url": parsed.body.source_url,
        "source_name": parsed.body.source_name,
        "source_path": str(path)[:1000],
        "source_hash": digest,
        "authors": parsed.authors,
    }


def _prepare_job(job):
    return prepare(*job)


def _info_code_or_none(path):
    try:
        return parse_file_name(path).info_code
    except PostError:
        return None


@contextlib.contextmanager
def _preparing(workers):
    """A pool of ``workers`` processes for prepare(), or None for one."""
    if workers <= 1:
        yield None
        return
    # Forked: the workers have Django set up already. They never touch the database (prepare()
    # reads files only), and a forked worker ends with os._exit, so the connection it inherited
    # is never closed from it. Each would load pypinyin for its first slug (a few tenths of a
    # second, the writer too for a new tag's): loaded once here, before the fork, for all.
    slugs.load_transliteration()
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield pool


def _as_first_written(report, first_try):
    """``report`` of a file imported again after its batch failed to commit: unchanged now, but
    written by the first try (its commit landed before the connection dropped), it was created or
    updated by this run."""
    if report.outcome != Outcome.UNCHANGED:
        return report
    earlier = next((first for first in first_try if first.path == report.path), None)
    if earlier is not None and earlier.outcome in (Outcome.CREATED, Outcome.UPDATED):
        return earlier
    return report


def _join(article, lead, warnings):
    """Make ``article`` a copy of ``lead`` (None: of no story), unless an editor changed that story."""
    if lead is None:
        return
    if lead.edited_since_import:
        warnings.append(
            f"the same news item as {lead.info_code}, which an editor changed: kept apart (join them in the admin)"
        )
    else:
        article.story = lead


def _name_responsible_editor(article, name, warnings):
    """Make the one user named ``name`` (roles.person_name) the article's 责任编辑. No user, or
    several, of that name: a warning, and the article keeps the responsible editor it had (none
    for a new one), as it does when the file names none: who published an article on this site is
    not the file's to take away."""
    if not name:
        return
    users = list(users_named(name)[:2])
    if len(users) == 1:
        article.responsible_editor = users[0]
    else:
        matches = "more than one user" if users else "no user"
        warnings.append(f"responsible editor '{name[:60]}' matches {matches}; left out")


def _read_post_bytes(path):
    """The file's bytes; never blocks on a FIFO swapped in since it was listed, never reads past the limit."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(descriptor, "rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                raise PostError("not a regular file (a FIFO, socket or device); skipped")
            raw = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise PostError(f"cannot read the file: {error.strerror or error}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise PostError(f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    return raw


def _validation_reason(error):
    """A ValidationError as one line for the report: the field and what is wrong with it."""
    if hasattr(error, "error_dict"):
        return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in error.message_dict.items())
    return " ".join(error.messages)
