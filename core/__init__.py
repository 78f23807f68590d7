"""The domain core: pure rules and algorithms (evidence, hashing, EXIF, time, Merkle, errors, roles).

No Flask, no database, no queue: everything here runs alone and is tested alone.
"""
