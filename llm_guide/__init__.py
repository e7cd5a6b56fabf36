"""LLM Guide: the code behind the chapters, one module per concept."""

__version__ = "0.1.0"
