"""Use cases: each public function is one operation that HTTP handlers and the CLI call."""
