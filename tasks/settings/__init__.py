"""The configuration: the YAML files, their environment overrides, secrets and department keys."""
