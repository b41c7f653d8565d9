"""`trellis scores run|explain|backtest`: score models from the command line.

Handlers parse and print; the work is the scores runtime's (the runner, the explanation), which
the worker and GraphQL call too. The CLI acts as the system (full access).
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path
from typing import TextIO

from trellis.cli.options import Commands, with_tenant
from trellis.metadata import MetadataSet, validate_set
from trellis.metadata.errors import MetadataInvalid
from trellis.platform.tenancy import Installation
from trellis.runtime.access import Actor
from trellis.runtime.errors import FieldProblem, InvalidInput
from trellis.runtime.scores.backtest import backtest
from trellis.runtime.scores.explain import explain
from trellis.runtime.scores.model import ScoreModel, compile_model, model_named, models_of
from trellis.runtime.scores.runner import RunReport, ScoreRunner
from trellis.runtime.services import TenantServices, write_hooks


def _run(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    services = TenantServices(inst)
    registry = services.registry(args.tenant)
    tenant = services.tenant(args.tenant)
    models = [model_named(registry.metadata, args.model)] if args.model else list(models_of(registry.metadata).values())
    if not models:
        print(f"{args.tenant}: no score models in release {registry.release}", file=out)
        return 0
    for model in models:
        report = ScoreRunner(inst.database(args.tenant), registry, model, tenant.timezone, tenant.locale,
                             hooks=write_hooks(), batch=args.batch).run("manual")
        _print_run(report, out)
    return 0


def _print_run(report: RunReport, out: TextIO) -> None:
    print(f"{report.model}: scored {report.scored} records in {report.batches} batches, {report.changed} changed, "
          f"{report.failures} factor failures recorded (run {report.run_id}; "
          f"{report.statements_per_batch} reads per batch)", file=out)
    for problem in report.problems[:20]:
        print(f"  not written: {problem}", file=out)


def _explain(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    records = TenantServices(inst).records(args.tenant)
    found = explain(records, Actor.system(), args.object, args.id, args.model, args.history)
    score = "—" if found.score is None else f"{found.score.normalize():f}"
    print(f"{found.object}/{found.record_id}: {score} ({found.band or 'no band'}) by {found.model}, "
          f"release {found.release}, {found.computed_at.isoformat(timespec='seconds')}", file=out)
    for line in found.factors:
        if line.points is None:
            what = f"left out ({line.error})" if line.error else "left out (blank)"
            print(f"  {line.label:<24} raw {_raw(line.raw):<10} {what}", file=out)
            continue
        print(f"  {line.label:<24} raw {_raw(line.raw):<10} {line.points:>6.1f} pts × {line.applied_weight:>5.1f}% "
              f"= {line.contribution:>6.2f}{'  (' + line.error + ')' if line.error else ''}", file=out)
    for sentence in found.changes:
        print(f"  · {sentence}", file=out)
    if len(found.history) > 1:
        trend = " ← ".join(f"{'—' if s.score is None else round(s.score)}" for s in found.history)
        print(f"  trend (newest first): {trend}", file=out)
    return 0


def _backtest(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    services = TenantServices(inst)
    registry = services.registry(args.tenant)
    model = model_named(registry.metadata, args.model)
    document = registry.metadata[("score_model", args.model)]
    candidate = _candidate(registry.metadata, args.model, Path(args.candidate)) if args.candidate else None
    records = services.records(args.tenant)
    with records.db.read() as conn:
        found = backtest(conn, registry, model, document, records.context(), candidate, args.days, args.as_of or ())
    print(f"{args.model}: {found.snapshots} snapshots; outcomes within {found.days} days of each", file=out)
    dates = ", ".join(d.isoformat() for d in found.as_of[:6]) + (f" … ({len(found.as_of)} dates)" if len(found.as_of) > 6 else "")
    print(f"  scored as of {dates}: {found.from_snapshots} from snapshots, {found.recomputed} recomputed from dated "
          "data (no snapshot that day)", file=out)
    if found.recomputed and found.undated:
        print(f"  recomputed scores leave out what cannot be dated (an aggregate without date_field): "
              f"{', '.join(found.undated)}", file=out)
    for evaluation in (found.current, found.candidate):
        if evaluation is None:
            continue
        auc = "—" if evaluation.auc is None else f"{evaluation.auc:.3f}"
        print(f"  {evaluation.model}: {evaluation.pairs} with an outcome, {evaluation.churned} churned, AUC {auc}",
              file=out)
        for band in evaluation.bands:
            rate = "—" if band.churn_rate is None else f"{band.churn_rate:.1%}"
            print(f"    {band.band:<8} {band.records:>6} records  {band.churned:>6} churned  {rate}", file=out)
        for name in evaluation.missing_factors:
            print(f"    factor {name} is in no snapshot: left out (score it with a published run first)", file=out)
    return 0


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD; got '{text}'") from None


def _candidate(metadata: MetadataSet, name: str, folder: Path) -> ScoreModel:
    """The candidate definition of `name` from FOLDER (score_models/<name>.json or <name>.json),
    checked as publish would check it against the current release."""
    path = next((p for p in (folder / "score_models" / f"{name}.json", folder / f"{name}.json", folder) if p.is_file()),
                None)
    if path is None:
        raise InvalidInput("no candidate", [FieldProblem("candidate", f"no score_models/{name}.json in {folder}")])
    try:
        document = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as error:
        raise InvalidInput("unreadable candidate", [FieldProblem("candidate", f"{path}: {error}")]) from None
    items = {key: metadata[key] for key in metadata}
    items[("score_model", name)] = document
    errors = validate_set(MetadataSet(items))
    if errors:
        raise MetadataInvalid(errors)
    return compile_model(f"{name} (candidate)", document)


def _raw(value: object) -> str:
    return "—" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def register(commands: Commands) -> None:
    group = commands.add_parser("scores", help="score models: run, explain, backtest").add_subparsers(
        dest="scores_command", required=True)
    run = with_tenant(group.add_parser("run", help="score every record of a model's object now"))
    run.add_argument("--model", help="one model (default: every model)")
    run.add_argument("--batch", type=int, default=1000, help="records per batch (one transaction each)")
    run.set_defaults(handler=_run)
    show = with_tenant(group.add_parser("explain", help="why a record has its score, and what changed"))
    show.add_argument("object")
    show.add_argument("id")
    show.add_argument("--model")
    show.add_argument("--history", type=int, default=10, help="snapshots to show in the trend")
    show.set_defaults(handler=_explain)
    test = with_tenant(group.add_parser("backtest", help="did past scores predict churn? (and would a candidate?)"))
    test.add_argument("--model", required=True)
    test.add_argument("--candidate", metavar="DIR", help="a folder holding score_models/<model>.json to compare")
    test.add_argument("--days", type=int, help="outcomes within this many days of a snapshot (default: the model's)")
    test.add_argument("--as-of", action="append", type=_day, metavar="YYYY-MM-DD",
                      help="also score as of this date (repeatable); records without a snapshot that day are "
                           "recomputed from dated data")
    test.set_defaults(handler=_backtest)
