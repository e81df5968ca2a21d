"""Kakehashi: a static site generator for bilingual (Japanese/English) cited reports."""

__version__ = "0.2.0"
