"""The figures: every count and rate of one agency for one period (docs/figures.md), and the period type."""
