"""The documents: the report (.docx), its wording and numbers, the data form (.xlsx), charts, the Centre summary, PDF."""
