"""The inspection forms, one module per kind; each exposes ``SPECS`` (one FormSpec per version)."""
