"""The report's paragraphs on the national index (Bộ chỉ số 766), and the Centre summary's column.

Pure functions, no IO. Wording in the seed report's register; scores as the report writes
numbers ("19,6", "60"). What the section says in each case (docs/national-index-api.md, "In
this project"):
- the department is listed: its total out of 100, its rank among the province's sở, ban,
  ngành (ties said as such), then each component with its maximum;
- the index is unavailable for the period (not published yet, the API did not answer, or the
  department's code is not listed): one sentence saying the national portal has not provided
  the figures yet;
- the index is turned off, or the department has no national_index_code: no section.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tasks.documents.numbers import format_score
from tasks.figures.periods import Period
from tasks.national_index.model import COMPONENTS, TOTAL_MAX, competition_ranks
from tasks.national_index.standing import Standing

DECISION = (
    "Bộ chỉ số chỉ đạo, điều hành và đánh giá chất lượng phục vụ người dân, doanh nghiệp "
    "(Quyết định số 766/QĐ-TTg ngày 23/6/2022 của Thủ tướng Chính phủ)"
)
NOT_AVAILABLE = "chưa có số liệu"


def index_lines(department_name: str, period: Period, standing: Standing | None) -> list[str]:
    """Return the section's paragraphs: the standing sentence, then one line per component."""
    if standing is None:
        return []
    unit = standing.unit
    lead = f"Kết quả đánh giá theo {DECISION} trên Cổng Dịch vụ công quốc gia {period.label}"
    if unit is None:
        return [
            f"{lead}: Cổng Dịch vụ công quốc gia chưa cung cấp số liệu của {department_name} "
            "tại thời điểm lập báo cáo."
        ]
    place = ""
    if unit.rank is not None and standing.agencies:
        place = f", xếp thứ {unit.rank}/{standing.agencies} sở, ban, ngành của tỉnh"
        if standing.tied:
            place += f" (cùng điểm với {standing.tied} cơ quan khác)"
    lines = [
        f"{lead}: {department_name} đạt {format_score(unit.total_score)}/{TOTAL_MAX} điểm"
        f"{place}; trong đó:"
    ]
    for position, component in enumerate(COMPONENTS, 1):
        score = unit.components.get(component.code)
        value = (
            f"{format_score(score.score)}/{component.maximum} điểm"
            if score is not None and score.score is not None
            else f"{NOT_AVAILABLE} (tối đa {component.maximum} điểm)"
        )
        end = "." if position == len(COMPONENTS) else ";"
        lines.append(f"- {component.name}: {value}{end}")
    return lines


def summary_scores(
    names: Sequence[str], standings: Mapping[str, Standing] | None
) -> dict[str, str]:
    """Return the 766 column of the Centre's summary by department name: "84,84 (2)".

    The rank in brackets is the department's place by the index among the summary's
    departments (competition ranking); a department without figures reads "-".
    """
    if standings is None:
        return {}
    scores = [
        standing.unit.total_score
        if (standing := standings.get(name)) is not None and standing.unit is not None
        else None
        for name in names
    ]
    ranks = competition_ranks(scores)
    return {
        name: "-" if score is None else f"{format_score(score)} ({rank})"
        for name, score, rank in zip(names, scores, ranks, strict=True)
    }


def summary_ranking(
    names: Sequence[str], standings: Mapping[str, Standing] | None, period: Period
) -> str | None:
    """Return the findings' sentence ranking the departments by the index, None without one."""
    if standings is None:
        return None
    scored = [
        (standing.unit.total_score, name)
        for name in names
        if (standing := standings.get(name)) is not None
        and standing.unit is not None
        and standing.unit.total_score is not None
    ]
    if not scored:
        return (
            f"Bộ chỉ số 766 {period.label}: Cổng Dịch vụ công quốc gia chưa cung cấp số liệu "
            "tại thời điểm lập báo cáo."
        )
    scored.sort(key=lambda item: (-item[0], item[1]))
    ranks = competition_ranks(score for score, _ in scored)
    listed = "; ".join(
        f"{rank}. {name} ({format_score(score)} điểm)"
        for (score, name), rank in zip(scored, ranks, strict=True)
    )
    return f"Xếp hạng theo Bộ chỉ số 766 {period.label}: {listed}."
