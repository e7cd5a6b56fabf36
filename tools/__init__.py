"""Tooling for the site: reading pages as the site renders them, building notebooks."""
