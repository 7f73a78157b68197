"""The national portal's service-quality index (Bộ chỉ số 766): client, parsing, ranking, checks."""
