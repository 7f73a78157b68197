"""Where the configuration and the templates are: names the command line needs before it loads anything heavy."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG_DIR = PROJECT_ROOT / "config"
# Read by the CLI for --config, so it is not a settings override.
CONFIG_DIR_VARIABLE = "TTHC_CONFIG_DIR"
TEMPLATES_DIR = PROJECT_ROOT / "templates"
REPORT_TEMPLATE = TEMPLATES_DIR / "report.docx"
SUMMARY_TEMPLATE = TEMPLATES_DIR / "centre_summary.docx"
