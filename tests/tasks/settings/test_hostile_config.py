"""Configuration files that would exhaust the machine, and the one address rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.delivery.messages import UnsafeHeaderValue, check_address
from tasks.settings.addresses import address_problem
from tasks.settings.loading import check_config
from tests.tasks.settings.demo import edit

LAUGHS = "\n".join(
    [
        'lol0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
        *(f"lol{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 10)}]" for n in range(1, 10)),
    ]
)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("file", ["settings.yaml", "departments.yaml", "recipients.yaml"])
def test_a_billion_laughs_is_refused_naming_the_file(config_dir: Path, file: str) -> None:
    path = config_dir / file
    path.write_text(path.read_text(encoding="utf-8") + "\n" + LAUGHS + "\n", encoding="utf-8")

    problems = check_config(config_dir, {}, cwd=config_dir.parent)

    [problem] = [p for p in problems if "aliases" in p]
    assert problem.startswith(f"config/{file}: line ")
    assert problem.endswith("invalid YAML: more than 20 aliases (*name): write the values out")


def test_a_file_over_the_size_limit_is_refused_naming_the_file(config_dir: Path) -> None:
    path = config_dir / "recipients.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "#" * (1024 * 1024), encoding="utf-8")

    problems = check_config(config_dir, {}, cwd=config_dir.parent)

    assert problems == ["config/recipients.yaml: larger than 1024 KiB: not a configuration file"]


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        (
            "vanthu@sở-khcn.demo.gov.vn",
            "'vanthu@sở-khcn.demo.gov.vn' holds letters other than ASCII: internationalised "
            "addresses (SMTPUTF8) are not supported; write the domain in ASCII: "
            "vanthu@xn--s-khcn-bp8b.demo.gov.vn",
        ),
        (
            "thư@demo.gov.vn",
            "'thư@demo.gov.vn' holds letters other than ASCII: internationalised addresses "
            "(SMTPUTF8) are not supported",
        ),
    ],
)
def test_check_config_refuses_what_delivery_cannot_send(
    config_dir: Path, address: str, problem: str
) -> None:
    edit(config_dir / "recipients.yaml", "vanthu.stp@demo.gov.vn", address)

    problems = check_config(config_dir, {}, cwd=config_dir.parent)

    assert [p.partition(": ")[2].partition(": ")[2] for p in problems] == [problem]


@pytest.mark.parametrize(
    "address",
    [
        "vanthu@demo.gov.vn",
        "Van.Thu+bc@sub.demo.gov.vn",
        "vanthu@sở-khcn.demo.gov.vn",
        "thư@demo.gov.vn",
        "a b@demo.gov.vn",
        "abc@",
        '"quoted"@demo.gov.vn',
        "vanthu@[127.0.0.1]",
        "x@demo.gov.vn, y@demo.gov.vn",
        "vanthu@demo.gov.vn\nBcc: z@evil.example",
    ],
)
def test_check_config_and_delivery_apply_one_rule(address: str) -> None:
    try:
        check_address(address)
        sendable = True
    except UnsafeHeaderValue:
        sendable = False

    assert (address_problem(address) is None) == sendable
