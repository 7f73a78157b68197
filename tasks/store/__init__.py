"""The run database (figures history, documents written, delivery ledger and its claims) and the period lock.

database.py is the interface (RunStore); tables.py its schema and migration steps; engine.py
the connection to SQLite or PostgreSQL; hashing.py the documents' content hashes; run_lock.py
one run per period, held in the database.
"""
