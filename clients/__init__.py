"""Tablet-side clients of the sync and tus protocols: the reference device client and the demo tablets."""
