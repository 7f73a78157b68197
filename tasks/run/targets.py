"""Who a run reports to: each department, and the Centre (its summary), as typed targets.

The Centre is not a department key: `CentreTarget` is its own type, recorded in the ledger
under `CENTRE_KEY`, which check-config refuses as a department key (tasks/settings/keys.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from tasks.settings.keys import CENTRE_KEY


@dataclass(frozen=True)
class DepartmentTarget:
    """A department (sở, ban, ngành): its report goes to its own recipients."""

    key: str
    name: str

    @property
    def ledger_key(self) -> str:
        """Return the key its deliveries and documents are recorded under: its own key."""
        return self.key


@dataclass(frozen=True)
class CentreTarget:
    """The Public Administration Service Centre: the summary over every department goes to it."""

    name: str

    @property
    def key(self) -> str:
        """Return the key shown for the Centre in tables and failure lists."""
        return CENTRE_KEY

    @property
    def ledger_key(self) -> str:
        """Return the key its deliveries and documents are recorded under."""
        return CENTRE_KEY


Target = DepartmentTarget | CentreTarget
