"""The offline verifier of Dangan evidence bundles: no database, no network, no web framework.

``python -m verifier BUNDLE.zip --tsa-ca ROOT.pem --log-key KEY.pem`` (or an unpacked bundle
directory) checks every hash, timestamp token, Merkle inclusion proof and checkpoint signature,
prints a verdict per item and exits 0 only when everything checked against the pinned anchors,
2 when the bundle is consistent but its anchors were not pinned, 1 on any failure.

It runs on Python >= 3.9 on Linux, macOS and Windows and imports nothing of the server.
"""

# the only packages the verifier needs, pinned as in the server's requirements.txt
REQUIREMENTS = ("cryptography==46.0.3", "rfc3161-client==1.0.9")
