"""Generated projects: cookiecutter generation and hooks, config.toml, the output folder, run records."""
