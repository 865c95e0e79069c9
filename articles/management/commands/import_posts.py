import logging
import sys

from django.core.management.base import BaseCommand, CommandError

from articles.caching import front
from articles.intake.importer import ImportSummary, Outcome, PostImporter, find_post_files
from articles.intake.runs import finish_run, start_run, worth_recording
from articles.intake.watch import watch as watch_posts
from articles.models import ImportRun

logger = logging.getLogger("articles.intake")


class FilesRejected(CommandError):
    """Some files were rejected; each was named with its reason, and the summary written."""


class Command(BaseCommand):
    help = "Import Jekyll posts (.md, .markdown, .html files or folders of them) into articles."
    # Run from cron every few minutes: the system checks (which load every URL and view) belong to
    # deploys (manage.py check --deploy, migrate), not to each run.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH", help="a post file or a folder searched recursively")
        parser.add_argument(
            "--force",
            action="store_true",
            help="overwrite articles that editors changed since their import, or that a file of another name made",
        )
        parser.add_argument("--dry-run", action="store_true", help="report what would happen and write nothing")
        parser.add_argument(
            "--watch",
            action="store_true",
            help="keep running: import new and changed posts as they arrive, until stopped (SIGTERM, Ctrl-C)",
        )
        parser.add_argument("--interval", type=float, default=2.0, help="seconds between looks at the folder (--watch)")
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="read and parse the files in this many processes while one writes them (a first import of "
            "many posts: the machine's cores)",
        )
        parser.add_argument(
            "--no-record",
            dest="record",
            action="store_false",
            help="do not record the run in the admin's 导入记录 (a dry run never is)",
        )

    def run_from_argv(self, argv):
        self._exit_without_traceback_prefix = True
        super().run_from_argv(argv)

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except FilesRejected:
            # From the shell, the summary and the closing line already say it all: exit 1 without
            # Django's "CommandError: …", which reads like a crash. call_command() callers get the error.
            if getattr(self, "_exit_without_traceback_prefix", False):
                sys.exit(1)
            raise

    def handle(self, *args, paths, force, dry_run, verbosity, watch, interval, record, workers, **options):
        if workers < 1:
            raise CommandError("--workers must be 1 or more")
        importer = PostImporter(force=force, dry_run=dry_run)
        if not dry_run:
            # Purges an earlier run could not send before it exited are this run's to send.
            front.start()
        record = record and not dry_run
        if watch:
            if interval <= 0:
                raise CommandError("--interval must be a positive number of seconds")
            self.stdout.write(f"Watching {', '.join(paths)} every {interval:g} s; stop with Ctrl-C or SIGTERM.")
            watch_posts(
                paths,
                importer,
                interval,
                lambda reports, started_at: self._report_cycle(reports, started_at, paths, record, verbosity),
            )
            self.stdout.write("Stopped watching.")
            return
        run = start_run(ImportRun.Source.COMMAND, ", ".join(paths)) if record else None
        summary, recorded = ImportSummary(), []
        files = list(find_post_files(paths))
        show_progress = verbosity >= 1 and self.stdout.isatty() and len(files) > 1
        for number, report in enumerate(importer.import_files(files, workers=workers), start=1):
            summary.add(report)
            if record and worth_recording(report):
                recorded.append(report)
            self._report(report, verbosity)
            if show_progress:
                self.stdout.write(f"\r{number}/{len(files)} files", ending="")
        if show_progress:
            self.stdout.write("")
        if run:
            finish_run(run, summary.counts, recorded)

        prefix = "Dry run, nothing written: " if dry_run else ""
        line = f"{prefix}{len(files)} files: {summary}"
        logger.info("import_posts finished files=%d %s dry_run=%s", len(files), summary.log_fields(), dry_run)
        rejected = summary.counts[Outcome.REJECTED]
        if not rejected:
            self.stdout.write(self.style.SUCCESS(line))
            return
        self.stdout.write(self.style.WARNING(line))
        # A dry run records no 导入记录: say so only when this run wrote one.
        where = ", and listed in the admin's 导入记录" if run else ""
        # Rejected, not "not imported": a conflict is not imported either, and does not fail the run.
        closing = f"{rejected} of {len(files)} files were rejected (each is named above with its reason{where}): exit status 1"
        self.stderr.write(self.style.ERROR(closing))
        raise FilesRejected(closing)

    def _report_cycle(self, reports, started_at, paths, record, verbosity):
        if not reports:
            return
        summary = ImportSummary()
        for report in reports:
            summary.add(report)
            self._report(report, verbosity)
        if record:
            run = start_run(ImportRun.Source.WATCH, ", ".join(paths), started_at=started_at)
            finish_run(run, summary.counts, [report for report in reports if worth_recording(report)])
        self.stdout.write(f"{len(reports)} files: {summary}")
        logger.info("import_posts cycle files=%d %s", len(reports), summary.log_fields())

    def _report(self, report, verbosity):
        if report.outcome == Outcome.REJECTED:
            self.stderr.write(self.style.ERROR(f"rejected {report.path}: {report.reason}"))
        elif report.outcome == Outcome.CONFLICT:
            self.stderr.write(self.style.WARNING(f"conflict {report.path}: {report.reason}"))
        elif verbosity >= 2:
            self.stdout.write(f"{report.outcome} {report.path}")
        if verbosity >= 1:
            for warning in report.warnings:
                self.stderr.write(self.style.WARNING(f"warning {report.path}: {warning}"))
