"""Repo-root conftest: pytest loads it whether it is pointed at tests/ or docs/."""

pytest_plugins = ["tests.docs_harness"]
