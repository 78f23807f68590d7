"""The offline verifier of Dangan evidence bundles: no database, no network, no web framework.

``python -m verifier BUNDLE.zip`` (or an unpacked bundle directory) checks every hash, timestamp
token, Merkle inclusion proof and checkpoint signature, prints a verdict per item and exits 0
only when everything checks.
"""
