"""Import runs, recorded for the admin (导入记录) and /metrics: a row a run, a row a problem file."""

import datetime as dt

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from articles.models import Article, ImportProblem, ImportRun, ImportTotal

from .frontmatter import PostError, parse_file_name
from .importer import Outcome

PROBLEM_OUTCOMES = (Outcome.CONFLICT, Outcome.REJECTED)


def start_run(source, source_name="", started_at=None):
    return ImportRun.objects.create(
        source=source, source_name=source_name[:300], started_at=started_at or timezone.now()
    )


def finish_run(run, counts, problems):
    """Record how ``run`` went: ``counts`` of files per Outcome, and the ``problems`` (FileReports of
    files rejected or in conflict). A conflict is linked to the article an editor changed."""
    codes = {report.path: _info_code(report.path) for report in problems}
    articles = dict(Article.objects.filter(info_code__in=set(codes.values()) - {""}).values_list("info_code", "id"))
    run.finished_at = timezone.now()
    run.result = (
        ImportRun.Result.REJECTIONS
        if counts[Outcome.REJECTED]
        else ImportRun.Result.CONFLICTS
        if counts[Outcome.CONFLICT]
        else ImportRun.Result.OK
    )
    for outcome in Outcome:
        setattr(run, outcome.value, counts[outcome])
    with transaction.atomic():
        run.save()
        ImportProblem.objects.bulk_create(
            ImportProblem(
                run=run,
                path=str(report.path)[:1000],
                info_code=codes[report.path],
                outcome=report.outcome.value,
                reason=report.reason,
                article_id=articles.get(codes[report.path]) if report.outcome == Outcome.CONFLICT else None,
            )
            for report in problems
        )
        for outcome, files in counts.items():
            if files:
                total, _ = ImportTotal.objects.get_or_create(outcome=outcome.value)
                ImportTotal.objects.filter(pk=total.pk).update(files=F("files") + files)
    return run


def prune_runs(days):
    """Delete the runs that started more than ``days`` days ago (their problems with them); how many."""
    deleted, by_model = ImportRun.objects.filter(started_at__lt=timezone.now() - dt.timedelta(days=days)).delete()
    return by_model.get(ImportRun._meta.label, 0)


def _info_code(path):
    try:
        return parse_file_name(path).info_code
    except PostError:
        return ""
