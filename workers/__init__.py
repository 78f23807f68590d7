"""Background jobs on RQ: small pure functions plus thin job wrappers that take ids."""
