"""The figures: every count and rate of one agency for one period (docs/kpi-rules.md), and the period type."""
