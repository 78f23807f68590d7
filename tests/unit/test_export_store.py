"""The local export store: where bundles live, what removing one takes away, finding bundles by content hash."""

import hashlib
import json
import zipfile

from ports.exportstore import LocalExportStore, bundle_name


def _bundle(store: LocalExportStore, export_id: int, originals: list[bytes]) -> None:
    store.root.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(store.path_for(export_id), "w") as zf:
        items = []
        for n, data in enumerate(originals):
            zf.writestr(f"originals/{n}.jpg", data)
            items.append({"sha256": hashlib.sha256(data).hexdigest(), "files": {"original": f"originals/{n}.jpg"}})
        zf.writestr("manifest.json", json.dumps({"items": items}))


def test_bundles_are_found_by_the_digests_their_manifest_lists(tmp_path):
    store = LocalExportStore(tmp_path / "exports")
    a, b = b"photo a", b"photo b"
    _bundle(store, 1, [a])
    _bundle(store, 2, [a, b])
    _bundle(store, 3, [b])
    digest_a = hashlib.sha256(a).hexdigest()
    assert store.stored() == [1, 2, 3]
    assert store.bundles_holding([digest_a]) == {1: [digest_a], 2: [digest_a]}
    assert store.bundles_holding([hashlib.sha256(b"never exported").hexdigest()]) == {}
    assert store.bundles_holding([]) == {}


def test_a_bundle_that_cannot_be_read_counts_as_holding_what_is_searched(tmp_path):
    store = LocalExportStore(tmp_path / "exports")
    store.root.mkdir()
    store.path_for(4).write_bytes(b"not a zip")
    wanted = hashlib.sha256(b"x").hexdigest()
    assert store.bundles_holding([wanted]) == {4: [wanted]}


def test_removing_a_bundle_takes_its_partial_files_and_nothing_else(tmp_path):
    store = LocalExportStore(tmp_path / "exports")
    _bundle(store, 7, [b"seven"])
    _bundle(store, 70, [b"seventy"])
    partial = store.root / f".{bundle_name(7)}.x1y2.part"
    partial.write_bytes(b"half a bundle")
    assert sorted(store.remove(7)) == sorted([bundle_name(7), partial.name])
    assert not store.exists(7) and not partial.exists() and store.exists(70)
    assert store.remove(7) == []
    assert LocalExportStore(tmp_path / "never-made").stored() == []
