"""The public-service portal: the HTTP client (paging, retries, re-login) and the dossier records it serves."""
