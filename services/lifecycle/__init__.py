"""The archive lifecycle: filing deadlines, use and borrowing, retention, destruction, boxes, quality.

Modules: ``working_days`` (pure statutory calendar arithmetic), ``settings`` (configurable rules),
``obligations``, ``events_import``, ``borrowing``, ``retention`` (closing, eligibility, legal
holds), ``destruction``, ``boxes``, ``quality`` and ``charts`` (server-drawn SVG).
"""
