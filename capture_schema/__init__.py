"""Versioned marshmallow schemas of the inspection forms and their photo metadata."""
