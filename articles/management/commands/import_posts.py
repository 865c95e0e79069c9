import logging

from django.core.management.base import BaseCommand, CommandError

from articles.importing.importer import FileReport, ImportSummary, Outcome, PostImporter, find_post_files

logger = logging.getLogger("articles.importing")


class Command(BaseCommand):
    help = "Import Jekyll posts (.md, .markdown, .html files or folders of them) into articles."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH", help="a post file or a folder searched recursively")
        parser.add_argument(
            "--force", action="store_true", help="overwrite articles that editors changed since their import"
        )
        parser.add_argument("--dry-run", action="store_true", help="report what would happen and write nothing")

    def handle(self, *args, paths, force, dry_run, verbosity, **options):
        importer = PostImporter(force=force, dry_run=dry_run)
        summary = ImportSummary()
        files = list(find_post_files(paths))
        show_progress = verbosity >= 1 and self.stdout.isatty() and len(files) > 1
        for number, (path, error) in enumerate(files, start=1):
            report = FileReport(path, Outcome.REJECTED, error) if error else importer.import_file(path)
            summary.add(report)
            self._report(report, verbosity)
            if show_progress:
                self.stdout.write(f"\r{number}/{len(files)} files", ending="")
        if show_progress:
            self.stdout.write("")

        prefix = "Dry run, nothing written: " if dry_run else ""
        line = f"{prefix}{len(files)} files: {summary}"
        logger.info(
            "import_posts finished files=%d %s dry_run=%s",
            len(files),
            " ".join(f"{outcome}={count}" for outcome, count in sorted(summary.counts.items())),
            dry_run,
        )
        if summary.counts[Outcome.REJECTED]:
            raise CommandError(line)
        self.stdout.write(self.style.SUCCESS(line))

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
