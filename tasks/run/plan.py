"""The run plan: what one run does for a period, and what it did.

One place decides which departments a run covers, whether it makes the Centre's summary, and
what counts as a failure; the flow (flows/monthly_report.py) maps the plan onto Prefect tasks
and the `render` command runs the same steps in order. Results are data: a failure is a
`Failure` value naming its target and step, never text to be parsed back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Literal

from tasks.delivery.ledger import DeliveryOutcome
from tasks.documents.data_note import operator_notice
from tasks.figures.engine import FiguresReport
from tasks.figures.periods import InvalidPeriod, Period
from tasks.national_index.standing import IndexFetch, ProgressCheck
from tasks.run.steps import DocumentSet
from tasks.run.targets import CentreTarget, DepartmentTarget, Target
from tasks.settings.models import AppConfig

# "run" is the run as a whole: its period, its lock, anything no step caught.
Step = Literal["run", "figures", "documents", "delivery"]


class UnknownDepartment(ValueError):
    """A department key that config/departments.yaml does not list."""


def resolve_period(text: str, scheduled: datetime, timezone: tzinfo) -> Period:
    """Return the period to report: `text` parsed, or the month before `scheduled`, local time.

    A period that has not started yet (local time) is refused: there is nothing to report.
    """
    local = scheduled.astimezone(timezone)
    if not text.strip():
        return Period.month_before(local.date())
    period = Period.parse(text)
    if period.start_date > local.date():
        raise InvalidPeriod(f"period {text!r} has not started yet (today is {local.date()})")
    return period


def select_departments(config: AppConfig, requested: Sequence[str]) -> list[str]:
    """Return the department keys to run: all configured when `requested` is empty."""
    known = [d.key for d in config.departments.departments]
    if not requested:
        return known
    unknown = [key for key in requested if key not in known]
    if unknown:
        raise UnknownDepartment(
            f"unknown department(s) {', '.join(map(repr, unknown))}: "
            f"config/departments.yaml lists {', '.join(known)}"
        )
    return list(dict.fromkeys(requested))


@dataclass(frozen=True)
class RunPlan:
    """What one run does: the period, the departments, the Centre's summary, dry run, resend."""

    period: Period
    departments: tuple[DepartmentTarget, ...]
    # The Centre's summary covers every department: a run of some of them leaves it out, so
    # the Centre gets one complete summary rather than a partial one and then a correction.
    centre: CentreTarget | None
    left_out: tuple[str, ...] = ()
    dry_run: bool = False
    force_resend: bool = False

    @property
    def keys(self) -> list[str]:
        """Return the department keys, in run order."""
        return [target.key for target in self.departments]


def plan_run(
    config: AppConfig,
    period: Period,
    requested: Sequence[str] = (),
    *,
    dry_run: bool = False,
    force_resend: bool = False,
) -> RunPlan:
    """Plan a run of `period` for the `requested` departments (all when empty)."""
    keys = select_departments(config, requested)
    everyone = [d.key for d in config.departments.departments]
    left_out = tuple(key for key in everyone if key not in keys)
    return RunPlan(
        period=period,
        departments=tuple(DepartmentTarget(key, config.department(key).name) for key in keys),
        centre=None if left_out else CentreTarget(config.settings.centre_name),
        left_out=left_out,
        dry_run=dry_run,
        force_resend=force_resend,
    )


@dataclass(frozen=True)
class CentreDecision:
    """Whether this run makes the Centre's summary, over which rows, or why not."""

    target: CentreTarget | None
    rows: list[tuple[str, FiguresReport]]
    held: str | None = None


def decide_centre(plan: RunPlan, reports: Mapping[str, FiguresReport | None]) -> CentreDecision:
    """Make the Centre's summary only when the run covers every department and has all figures."""
    if plan.centre is None:
        return CentreDecision(None, [], f"lượt chạy không gồm {', '.join(plan.left_out)}")
    missing = [target.key for target in plan.departments if reports.get(target.key) is None]
    if missing:
        return CentreDecision(None, [], f"chưa có số liệu của {', '.join(missing)}")
    rows = [(target.name, reports[target.key]) for target in plan.departments]
    return CentreDecision(plan.centre, [(name, r) for name, r in rows if r is not None])


@dataclass(frozen=True)
class Failure:
    """One target that did not complete: at which step, and why (one line)."""

    target_key: str
    step: Step
    reason: str

    def line(self) -> str:
        """Return the failure as the run's message lists it: "- KEY: why"."""
        return f"- {self.target_key}: {self.reason}"


def first_failure(key: str, steps: Sequence[tuple[Step, str | None]]) -> Failure | None:
    """Return the failure of the first step that did not complete (its why), None when all did.

    A target fails at its first incomplete step: the steps after it never ran (their own
    state only says so). The why is cut to its first line, at most 500 characters.
    """
    for step, why in steps:
        if why is not None:
            return Failure(key, step, (why.splitlines() or [""])[0][:500] or "failed")
    return None


@dataclass
class TargetResult:
    """What the run did for one target: its figures, documents and delivery, or its failure."""

    target: Target
    report: FiguresReport | None = None
    documents: DocumentSet | None = None
    delivery: DeliveryOutcome | None = None
    failure: Failure | None = None

    @property
    def key(self) -> str:
        """Return the target's key (the department key, or the Centre's)."""
        return self.target.key

    @property
    def name(self) -> str:
        """Return the target's name as documents print it."""
        return self.target.name

    @property
    def error(self) -> str | None:
        """Return why the target did not complete, None when it did."""
        return self.failure.reason if self.failure is not None else None

    def delivery_line(self, dry_run: bool) -> str:
        """Return the target's mail in one line: "SKHCN: 1 thư, 3 người nhận, bỏ qua 0"."""
        if self.failure is not None:
            return f"{self.key}: chưa hoàn thành ({self.failure.step}): {self.failure.reason}"
        delivery = self.delivery
        if delivery is None:
            return f"{self.key}: chưa gửi"
        messages = message_count(delivery)
        if dry_run:
            return (
                f"{self.key}: {messages} thư thử, sẽ gửi {len(delivery.sent)} người nhận, "
                f"bỏ qua {len(delivery.skipped)}"
            )
        return (
            f"{self.key}: {messages} thư, {len(delivery.sent)} người nhận, "
            f"bỏ qua {len(delivery.skipped)}"
        )

    def notices(self) -> list[str]:
        """Return what the operators should look at although the target completed."""
        found: list[str] = []
        if self.report is not None and is_empty_period(self.report):
            found.append(
                "không có hồ sơ nào tiếp nhận trong kỳ (kiểm tra kỳ báo cáo và dữ liệu cổng "
                "dịch vụ công); báo cáo vẫn được lập"
            )
        # The signed report only counts the invalid records; the operators get them by name.
        invalid = operator_notice(self.report.data_quality) if self.report is not None else None
        if invalid is not None:
            found.append(invalid)
        if self.documents is not None:
            found.extend(self.documents.notes)
        return found


@dataclass
class RunSummary:
    """What a run did, target by target."""

    period: Period
    dry_run: bool
    departments: list[TargetResult] = field(default_factory=list)
    centre: TargetResult | None = None
    # Why the Centre's summary was not made in this run, when it was not.
    centre_held: str | None = None
    # The task runner the run used: "threadpool" or "dask".
    task_runner: str = ""
    # The national index of the period (None: not asked for), what the operators must hear
    # about it, and each department's progress counts next to ours. Never a failure.
    index: IndexFetch | None = None
    index_notes: list[str] = field(default_factory=list)
    index_checks: list[ProgressCheck] = field(default_factory=list)

    @property
    def results(self) -> list[TargetResult]:
        """Return every target's result, the Centre's last."""
        return [*self.departments, *([self.centre] if self.centre is not None else [])]

    @property
    def failures(self) -> list[Failure]:
        """Return the failure of every target that did not complete."""
        return [r.failure for r in self.results if r.failure is not None]

    @property
    def failed(self) -> dict[str, str]:
        """Return {target key: why} for every target that did not complete."""
        return {failure.target_key: failure.reason for failure in self.failures}

    @property
    def notices(self) -> list[tuple[str, str]]:
        """Return (target key, what to look at) for the targets that completed with a caveat."""
        return [(r.key, notice) for r in self.results for notice in r.notices()]

    @property
    def deliveries(self) -> list[DeliveryOutcome]:
        """Return the delivery of every target that got as far as delivering."""
        return [r.delivery for r in self.results if r.delivery is not None]

    @property
    def messages(self) -> int:
        """Return how many messages went out (a dry run: were written as .eml files)."""
        return sum(message_count(d) for d in self.deliveries)

    @property
    def recipients(self) -> int:
        """Return how many recipients those messages were addressed to."""
        return sum(len(d.sent) for d in self.deliveries)

    @property
    def skipped(self) -> int:
        """Return how many recipients were skipped: they already had this version."""
        return sum(len(d.skipped) for d in self.deliveries)

    @property
    def eml_folders(self) -> list[Path]:
        """Return the folders a dry run wrote its .eml files into."""
        return sorted({path.parent for d in self.deliveries for path in d.eml_files})

    def delivery_text(self) -> str:
        """Return one line on the mail: "6 thư đã gửi (15 người nhận)…", or a dry run's wording."""
        return delivery_text(
            self.messages, self.recipients, self.skipped, self.dry_run, self.eml_folders
        )

    def failure_message(self) -> str:
        """Return the run's failure message: a count, then one "- KEY: why" line per target."""
        failures = self.failures
        lines = [failure.line() for failure in failures]
        return f"báo cáo {self.period.key}: {len(failures)} chưa hoàn thành\n" + "\n".join(lines)


def message_count(delivery: DeliveryOutcome) -> int:
    """Return the messages one delivery sent (or wrote): one, addressed to those in `sent`."""
    return 1 if delivery.sent else 0


def delivery_text(
    messages: int, recipients: int, skipped: int, dry_run: bool, folders: Sequence[Path] = ()
) -> str:
    """Return the words on a run's mail, messages and recipients counted apart.

    A dry run sent nothing: its messages are "thư thử" that "sẽ gửi" to their recipients,
    and the line says where the .eml files are.
    """
    skipped_text = f"bỏ qua {skipped} người nhận đã có bản này"
    if dry_run:
        where = f", lưu ở {', '.join(str(f) for f in folders)}" if folders else ""
        return (
            f"chạy thử, không gửi thư nào: {messages} thư thử (.eml) sẽ gửi tới "
            f"{recipients} người nhận{where}; {skipped_text}"
        )
    return f"{messages} thư đã gửi tới {recipients} người nhận; {skipped_text}"


def is_empty_period(report: FiguresReport) -> bool:
    """Tell whether the period received no dossier at all (only carried-over ones, if any).

    Usually a period outside the portal's data or an agency code that changed: the figures
    are then all carried over from before, and someone should look before trusting them.
    """
    return report.figures["received_new"] == 0
