"""The work of a run, one package per stage of the data's way, lowest first.

settings  the configuration: YAML files, environment overrides, secrets, department keys
portal    the public-service portal: its client and the dossier records it serves
figures   every figure and rate of a period, computed from the records; the period type
national_index  the national portal's index (Bộ chỉ số 766): client, parsing, ranking, cross-check
store     the run database: figures history, documents, delivery ledger, national index, the lock
documents the report, data form, charts and Centre summary, and their wording and numbers
delivery  e-mail: messages built as data, the mailers that send them, exactly once per recipient
run       the run plan: which departments, the Centre's summary, dry run and resend, failures

A package imports only packages listed above it here (checked by `lint-imports`).
"""
