"""Import runs, recorded for the admin (导入记录) and /metrics: a row a run, a row a problem file,
and a row for each thing the import changed in, or left out of, a file it took (its warnings)."""

import datetime as dt

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from articles.models import Article, ImportProblem, ImportRun, ImportTotal

from .frontmatter import PostError, parse_file_name
from .importer import Outcome

PROBLEM_OUTCOMES = (Outcome.CONFLICT, Outcome.REJECTED)
# Files written: their warnings say what of them the site does not have as the file has it.
WRITTEN_OUTCOMES = (Outcome.CREATED, Outcome.UPDATED)


def worth_recording(report):
    """Whether the FileReport ``report`` has rows in its run's record: a file rejected or in
    conflict, or one written with warnings. A file left alone (conflict, rejected, unchanged) has
    nothing of it changed on the site, so its warnings are not recorded."""
    return report.outcome in PROBLEM_OUTCOMES or (report.outcome in WRITTEN_OUTCOMES and bool(report.warnings))


def start_run(source, source_name="", started_at=None):
    return ImportRun.objects.create(
        source=source, source_name=source_name[:300], started_at=started_at or timezone.now()
    )


def finish_run(run, counts, reports):
    """Record how ``run`` went: ``counts`` of files per Outcome (a file counts once, however many
    warnings it has: /metrics adds these up), and the ``reports`` worth recording (worth_recording()).

    A conflict is linked to the article an editor changed; a file taken with warnings gives a row
    per warning, linked to its article (one thing to check each, translated whole by reasons.py).
    """
    codes = {report.path: _info_code(report.path) for report in reports}
    articles = dict(Article.objects.filter(info_code__in=set(codes.values()) - {""}).values_list("info_code", "id"))
    problems = [problem for report in reports for problem in _problems(run, report, codes[report.path], articles)]
    run.finished_at = timezone.now()
    run.result = _result(counts, problems)
    for outcome in Outcome:
        setattr(run, outcome.value, counts[outcome])
    with transaction.atomic():
        run.save()
        ImportProblem.objects.bulk_create(problems)
        for outcome, files in counts.items():
            if files:
                total, _ = ImportTotal.objects.get_or_create(outcome=outcome.value)
                ImportTotal.objects.filter(pk=total.pk).update(files=F("files") + files)
    return run


def _problems(run, report, info_code, articles):
    """The ImportProblem rows of one FileReport (unsaved): none for a file that needs none."""
    if report.outcome in PROBLEM_OUTCOMES:
        article_id = articles.get(info_code) if report.outcome == Outcome.CONFLICT else None
        rows = [(report.outcome.value, report.reason, article_id)]
    elif report.outcome in WRITTEN_OUTCOMES:
        rows = [(ImportProblem.Outcome.CHANGED, warning, articles.get(info_code)) for warning in report.warnings]
    else:
        rows = []
    path = str(report.path)[:1000]
    return [
        ImportProblem(run=run, path=path, info_code=info_code, outcome=outcome, reason=reason, article_id=article_id)
        for outcome, reason, article_id in rows
    ]


def _result(counts, problems):
    if counts[Outcome.REJECTED]:
        return ImportRun.Result.REJECTIONS
    if counts[Outcome.CONFLICT]:
        return ImportRun.Result.CONFLICTS
    if any(problem.outcome == ImportProblem.Outcome.CHANGED for problem in problems):
        return ImportRun.Result.CHANGES
    return ImportRun.Result.OK


def prune_runs(days):
    """Delete the runs that started more than ``days`` days ago (their problems with them); how many."""
    deleted, by_model = ImportRun.objects.filter(started_at__lt=timezone.now() - dt.timedelta(days=days)).delete()
    return by_model.get(ImportRun._meta.label, 0)


def _info_code(path):
    try:
        return parse_file_name(path).info_code
    except PostError:
        return ""
