"""The run plan: what one run does for a period (departments, Centre summary, dry run, resend) and its results."""
