"""The run database (figures history, documents written, delivery ledger) and the period lock."""
