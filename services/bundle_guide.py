"""The texts that travel with a bundle: VERIFY.md and the statement about the TSAs that issued its tokens.

Both are written from what was recorded for each token when it was stamped, never from the
exporting process's settings, so the same export always gets the same texts.
"""

from __future__ import annotations

from verifier import REQUIREMENTS, layout

LOCAL_STATEMENT = (
    "下列 RFC 3161 时间戳由本系统内置的本地时间戳服务（LOCAL TSA）签发。"
    "它只证明本服务器的时钟，不是受信任的第三方时间戳机构（如国家授时中心可溯源的 TSA）。\n"
    "The RFC 3161 timestamps below were issued by the server's BUILT-IN LOCAL TSA. They attest "
    "this server's clock only; it is not a trusted third-party time-stamping authority.\n"
)

ISSUER_KEYS = ("kind", "tsa_name", "tsa_url", "anchor", "anchor_sha256", "anchor_subject", "chain")

# The log checks with the standard library only, shown in full in VERIFY.md (RFC 9162 §2.1.3.2, §2.1.4.2).
CHECK_LOG_PY = '''\
import base64, glob, hashlib, json, os

def leaf(data): return hashlib.sha256(b"\\x00" + data).digest()
def node(left, right): return hashlib.sha256(b"\\x01" + left + right).digest()

def inclusion(h, index, size, path, root):  # RFC 9162 2.1.3.2
    if index >= size: return False
    fn, sn, r = index, size - 1, h
    for p in path:
        if sn == 0: return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while fn and not fn & 1: fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root

def consistency(m, n, old_root, new_root, path):  # RFC 9162 2.1.4.2, 0 < m <= n
    if m == n: return not path and old_root == new_root
    if m & (m - 1) == 0: path = [old_root] + path
    fn, sn = m - 1, n - 1
    while fn & 1: fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0: return False
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            if not fn & 1:
                while fn and not fn & 1: fn, sn = fn >> 1, sn >> 1
        else:
            sr = node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root

def checkpoint(name, out):  # writes the signed body and the bare Ed25519 signature for openssl
    note = open(name, encoding="utf-8").read()
    body, _, sig = note.partition("\\n\\n")
    open(out + ".body", "wb").write((body + "\\n").encode())
    open(out + ".sig", "wb").write(base64.b64decode(sig.strip().rsplit(" ", 1)[1])[4:])
    _, size, root = body.split("\\n")[:3]
    return int(size), base64.b64decode(root)

os.makedirs("../verify-work", exist_ok=True)
size, root = checkpoint("log/checkpoint.txt", "../verify-work/checkpoint")
ok = True
for name in sorted(glob.glob("proofs/*.json")):
    proof = json.load(open(name, encoding="utf-8"))
    for e in proof["events"]:
        good = leaf(e["entry"].encode()).hex() == e["leaf_hash"] and inclusion(
            bytes.fromhex(e["leaf_hash"]), e["leaf_index"], size, [bytes.fromhex(h) for h in e["path"]], root)
        ok &= good
        print(name, "leaf", e["leaf_index"], e["event_type"], "OK" if good else "FAILED")
if os.path.exists("log/checkpoint-timestamp.json"):
    b = json.load(open("log/checkpoint-timestamp.json", encoding="utf-8"))
    m, m_root = checkpoint(b["note"], "../verify-work/timestamped-checkpoint")
    e = b["event"]
    logged = json.loads(e["entry"])["payload"]
    good = (consistency(m, size, m_root, root, [bytes.fromhex(h) for h in b["consistency"]["path"]])
            and inclusion(leaf(e["entry"].encode()), e["leaf_index"], size, [bytes.fromhex(h) for h in e["path"]], root)
            and logged["tsa_token_sha256"] == hashlib.sha256(open(b["token"], "rb").read()).hexdigest()
            and logged["note_sha256"] == hashlib.sha256(open(b["note"], "rb").read()).hexdigest())
    ok &= good
    print("checkpoint token bound into the log:", "OK" if good else "FAILED")
print("ALL PROOFS OK" if ok else "SOME PROOFS FAILED")
'''


def distinct_issuers(stamps: list[dict]) -> list[dict]:
    """The distinct TSAs among the tokens' recorded issuers, each with how many tokens it issued."""
    issuers: dict[tuple, dict] = {}
    for stamp in stamps:
        key = tuple(stamp.get(k) for k in ISSUER_KEYS)
        entry = issuers.setdefault(key, {**{k: stamp.get(k) for k in ISSUER_KEYS}, "tokens": 0})
        entry["tokens"] += 1
    return sorted(issuers.values(), key=lambda i: (i["kind"] or "", i["tsa_url"] or "", i["anchor_sha256"] or ""))


def _describe(issuer: dict, what: str) -> str:
    lines = []
    if issuer.get("kind") == "local":
        lines.append(LOCAL_STATEMENT.rstrip("\n"))
        lines.append(f"TSA: {issuer.get('tsa_name')}")
    else:
        lines.append(f"外部时间戳服务 EXTERNAL TSA: {issuer.get('tsa_url') or issuer.get('tsa_name')}")
    lines.append(f"签发 issued: {what}")
    if issuer.get("anchor"):
        lines.append(f"根证书 root: {issuer['anchor_subject']}  ({issuer['anchor']})")
        lines.append(f"根证书 SHA-256 指纹 fingerprint: {issuer['anchor_sha256']}")
    else:
        lines.append(
            "盖戳时未配置该 TSA 的根证书（TSA_CA_FILE），包内没有其根证书；请向该 TSA 索取后用 openssl 校验。\n"
            "No root certificate was configured for this TSA when the tokens were stamped; obtain it "
            "from the TSA to check the chain."
        )
    return "\n".join(lines)


def tsa_statement(issuers: list[dict], checkpoint_issuer: dict | None) -> str:
    """Which TSA issued which tokens (local or external, its root and fingerprint), from what was recorded."""
    if not issuers and not checkpoint_issuer:
        return "本证据包中没有 RFC 3161 时间戳。 This bundle holds no RFC 3161 timestamp.\n"
    everyone = issuers + ([checkpoint_issuer] if checkpoint_issuer else [])
    names = list(
        dict.fromkeys(
            "本地 TSA LOCAL（仅证明本服务器时钟 this server's clock only）"
            if i.get("kind") == "local"
            else (i.get("tsa_url") or i.get("tsa_name") or "?")
            for i in everyone
        )
    )
    # the first line is the summary the report's cover shows
    head = (
        f"时间戳签发者 TSA: {'；'.join(names)}\n"
        "本证据包的时间戳来自以下时间戳服务（按各令牌盖戳时的记录）。"
        "The timestamps in this bundle come from these TSAs, as recorded when each token was stamped."
    )
    parts = [head]
    for issuer in issuers:
        parts.append(_describe(issuer, f"{issuer['tokens']} 张照片的时间戳 photo token(s)"))
    if checkpoint_issuer:
        parts.append(
            _describe(checkpoint_issuer, f"证据日志检查点的时间戳 the log checkpoint token ({layout.CHECKPOINT_TOKEN})")
        )
    return "\n\n".join(parts) + "\n"


def _openssl_ts(data: str, token: str, issuer: dict) -> str:
    ca = f" -CAfile {issuer['anchor']}" if issuer.get("anchor") else " -CAfile TSA-ROOT.pem"
    untrusted = f" -untrusted {issuer['chain']}" if issuer.get("chain") else ""
    return f"openssl ts -verify -data {data} -in {token}{ca}{untrusted}"


def _colon(fingerprint: str) -> str:
    return ":".join(fingerprint[i : i + 2] for i in range(0, len(fingerprint), 2)).upper()


def _photo_section(item: dict) -> str:
    files, stamp = item["files"], item.get("timestamp") or {}
    lines = [
        f"### {item['evidence_no']}",
        "",
        "```",
        f"sha256sum {files['original']}",
        "```",
        f"应为 expected: `{item['sha256']}`",
        "",
    ]
    if files.get("token"):
        lines += [
            "```",
            _openssl_ts(files["original"], files["token"], stamp),
            f"openssl ts -reply -in {files['token']} -text",
            "```",
            "",
            "第一条应显示 `Verification: OK`；第二条显示令牌时间 (Time stamp)。"
            "The first must print `Verification: OK`; the second shows the token's time.",
        ]
        if stamp.get("anchor"):
            lines += [
                "",
                "```",
                f"openssl x509 -in {stamp['anchor']} -noout -subject -fingerprint -sha256",
                "```",
                f"应为 expected: `{_colon(stamp['anchor_sha256'])}` — 与 TSA 或本单位公布的根证书指纹核对 / "
                "compare with the fingerprint the TSA or the archive publishes.",
            ]
        else:
            lines += [
                "",
                "盖戳时未记录该 TSA 的根证书：请向 TSA 索取其根证书，保存为 `TSA-ROOT.pem` 后执行上面的命令。"
                " No root was recorded for this TSA: obtain its root certificate, save it as `TSA-ROOT.pem`, "
                "then run the command above.",
            ]
    else:
        lines.append(f"此照片没有时间戳令牌（状态 {stamp.get('status')}）。 This photo has no timestamp token.")
    return "\n".join(lines)


def verify_guide(items: list[dict], binding: dict | None) -> str:
    """VERIFY.md: every command spelled out per photo, with the bundle's own file names."""
    photos = "\n\n".join(_photo_section(item) for item in items)
    if binding:
        checkpoint = f"""```
{_openssl_ts(binding['note'], binding['token'], binding['tsa'])}
```

应显示 `Verification: OK`。此令牌盖在 `{binding['note']}`（日志前 {binding['timestamped_checkpoint']['tree_size']}
条记录）上；它的 SHA-256 作为日志第 {binding['event']['leaf_index']} 号记录（从 0 编号）写入日志，由
`{layout.CHECKPOINT}` 的签名覆盖（第 5 步的脚本会检查）。It must print `Verification: OK`. The token stamps
`{binding['note']}`; its SHA-256 is log entry {binding['event']['leaf_index']} (numbered from 0), which the signature on
`{layout.CHECKPOINT}` covers (step 5 checks it)."""
    else:
        checkpoint = "本证据包的检查点没有时间戳（导出时 TSA 不可用）。 The checkpoint of this bundle has no timestamp."
    stamped_sig = ""
    if binding:
        stamped_sig = (
            "\nopenssl pkeyutl -verify -pubin -inkey log/public-key.pem -rawin "
            "-in ../verify-work/timestamped-checkpoint.body -sigfile ../verify-work/timestamped-checkpoint.sig"
        )
    return f"""# 如何校验本证据包 / How to verify this evidence bundle

本包可以在没有网络、没有本系统的情况下独立校验。先把 ZIP 解压到一个目录，以下命令都在该目录中执行，
命令中的文件名都是本包中的真实文件名，可以原样复制执行。
Everything below runs offline. Unpack the ZIP into a directory and run each command in it, exactly as
written: every file name is a real file of this bundle.

## 内容 / Contents

| 文件 file | 内容 content |
| --- | --- |
| `originals/` | 原始照片，与接收时逐字节相同 / original photos, byte for byte as received |
| `{layout.MANIFEST}` | 每张照片的编号、客户、检查员、设备、全部时间来源与推定拍摄时间及标记、原始 EXIF、SHA-256 与 SM3、时间戳签发者、审核决定 |
| `{layout.SUMS}` | 包内每个文件的 SHA-256 |
| `tokens/` | 每张照片 SHA-256 的 RFC 3161 时间戳令牌（DER TimeStampResp） |
| `tsa/roots/`, `tsa/chains/` | 各令牌盖戳时记录的 TSA 根证书与证书链（以 SHA-256 指纹命名） |
| `{layout.TSA_STATEMENT}` | 哪个 TSA（本地或外部）签发了哪些令牌 |
| `proofs/` | 每张照片各证据事件在 Merkle 证据日志中的包含证明 |
| `{layout.CHECKPOINT}` | 证据日志的签名检查点（Ed25519 signed note） |
| `{layout.CHECKPOINT_TIMESTAMPED}`, `{layout.CHECKPOINT_TOKEN}`, `{layout.CHECKPOINT_BINDING}` | 盖了时间戳的检查点、其令牌、以及把令牌写入日志的证明 |
| `{layout.PUBLIC_KEY_PEM}`, `{layout.PUBLIC_KEY_JSON}` | 证据日志的公钥 |
| `custody/` | 每张照片的保管链（接收、盖戳、审核、查看、导出） |
| `{layout.REPORT}` | 中文报告（仅供阅读） |
| `tools/verifier/` | 离线校验程序的源代码 |

## 1. 文件完整性 / File integrity

```
sha256sum -c {layout.SUMS}
```

每一行都应显示 `OK`。Every line must say `OK`. (Windows: `certutil -hashfile FILE SHA256` per file.)

## 2. 每张照片 / Each photo: hash and trusted timestamp

{photos}

## 3. 检查点的时间戳 / The checkpoint's timestamp

{checkpoint}

## 4. 证据日志公钥 / The evidence log's public key

```
openssl pkey -pubin -in {layout.PUBLIC_KEY_PEM} -outform DER | sha256sum
```

把结果与本单位公布的证据日志公钥指纹（`flask --app wsgi evidence anchors`，法务页面“信任锚”）核对。
包内的公钥只能证明“出自持有该私钥者”，必须与独立获得的指纹一致才可信。
Compare the result with the log key fingerprint the archive publishes; a key found inside the bundle
proves nothing until it matches one obtained independently.

## 5. Merkle 包含证明与检查点签名 / Merkle proofs and checkpoint signatures

把下面的 Python 程序（只用标准库）原样保存为解压目录旁边的 `../check_log.py`（不要放进解压目录），在解压目录中运行：
Save this program (standard library only) as `../check_log.py`, next to (not inside) the unpacked directory,
and run it from the unpacked directory:

```python
{CHECK_LOG_PY}```

```
python3 ../check_log.py
openssl pkeyutl -verify -pubin -inkey log/public-key.pem -rawin -in ../verify-work/checkpoint.body -sigfile ../verify-work/checkpoint.sig{stamped_sig}
```

程序应以 `ALL PROOFS OK` 结束；openssl 每条应显示 `Signature Verified Successfully`。
The program must end with `ALL PROOFS OK`; each openssl command must print `Signature Verified Successfully`.

## 6. 离线校验程序 / The bundled verifier

需要 Python ≥ 3.9（Windows、macOS、Linux）以及以下固定版本的软件包：
Needs Python ≥ 3.9 (Windows, macOS, Linux) and exactly these packages:

```
python3 -m pip install {" ".join(REQUIREMENTS)}
cd tools
python3 -m verifier .. --tsa-ca TSA-ROOT.pem --log-key LOG-KEY.pem
```

`TSA-ROOT.pem`（可多次给出 `--tsa-ca`）与 `LOG-KEY.pem` 必须是从 TSA 和本单位独立获得的根证书与公钥，
不要使用包内的文件。It checks every file hash, each original's SHA-256/SM3/size against the manifest, each
token's imprint and chain, the checkpoint signatures, the checkpoint token's binding into the log, every
Merkle inclusion proof, the logged 'received' hash, the logged manifest hash and the custody logs.

退出码 / exit status: `0` 全部通过且已用固定的信任锚校验 / everything checked against the pinned anchors;
`2` 内容一致但信任锚未固定（程序列出包内根证书与公钥的指纹，请与公布的核对）/ consistent, anchors not
pinned (the fingerprints found in the bundle are printed); `1` 有校验失败，逐项列出文件与原因 / a check
failed, each failure named with its file.
"""
