"""The sync protocol: exactly-once push, cursor pull, resumable uploads. No Flask in here."""
