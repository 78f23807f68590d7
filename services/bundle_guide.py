"""The texts that travel with a bundle: VERIFY.md and the statement about the TSA."""
from __future__ import annotations

from verifier import layout

LOCAL_STATEMENT = (
    "本证据包中的 RFC 3161 时间戳由本系统内置的本地时间戳服务（LOCAL TSA）签发。"
    "它只证明本服务器的时钟，不是受信任的第三方时间戳机构（如国家授时中心可溯源的 TSA）。\n"
    "The RFC 3161 timestamps in this bundle were issued by the server's BUILT-IN LOCAL TSA. They attest "
    "this server's clock only; it is not a trusted third-party time-stamping authority.\n")


def tsa_statement(kind: str, name: str, has_roots: bool) -> str:
    """Whether the TSA is the built-in local one or external, and what that means."""
    if kind == "local":
        return LOCAL_STATEMENT + f"TSA: {name}\n"
    text = (f"本证据包中的 RFC 3161 时间戳由外部时间戳服务签发：{name}。\n"
            f"The RFC 3161 timestamps in this bundle were issued by an EXTERNAL TSA: {name}.\n")
    if not has_roots:
        text += ("本系统未配置该 TSA 的根证书，包内不含证书链；请向该 TSA 索取根证书后用 openssl 校验。\n"
                 "No root certificate of this TSA was configured, so the chain is not bundled; obtain it from "
                 "the TSA to run openssl ts -verify.\n")
    return text


def verify_guide(example: dict | None, has_roots: bool, has_tsa_cert: bool) -> str:
    """VERIFY.md: step by step with sha256sum, openssl and the bundled verifier."""
    original = example["files"]["original"] if example else "originals/<证据编号>.jpg"
    token = (example or {}).get("files", {}).get("token") or "tokens/<证据编号>.tsr"
    untrusted = f" -untrusted {layout.TSA_CERT}" if has_tsa_cert else ""
    ca = f"-CAfile {layout.TSA_CA}" if has_roots else "-CAfile <TSA根证书.pem>"
    return f"""# 如何校验本证据包 / How to verify this evidence bundle

本包可以在没有网络、没有本系统的情况下独立校验。以下命令在解压后的目录中执行。
Everything below runs offline, in the directory the ZIP was unpacked into.

## 内容 / Contents

| 文件 file | 内容 content |
| --- | --- |
| `originals/` | 原始照片，与接收时逐字节相同 / original photos, byte for byte as received |
| `{layout.MANIFEST}` | 每张照片的编号、客户、检查员、设备、全部时间来源与推定拍摄时间及标记、原始 EXIF、SHA-256 与 SM3、审核决定 |
| `{layout.SUMS}` | 包内每个文件的 SHA-256 |
| `tokens/` | 每张照片 SHA-256 的 RFC 3161 时间戳令牌（DER TimeStampResp） |
| `tsa/` | 时间戳服务的证书链与说明（本地或外部 TSA），见 `{layout.TSA_STATEMENT}` |
| `proofs/` | 每张照片各证据事件在 Merkle 证据日志中的包含证明 |
| `{layout.CHECKPOINT}` | 证据日志的签名检查点（Ed25519 signed note） |
| `{layout.CHECKPOINT_TOKEN}` | 检查点的 RFC 3161 时间戳令牌 |
| `{layout.PUBLIC_KEY_PEM}`, `{layout.PUBLIC_KEY_JSON}` | 证据日志的公钥 |
| `custody/` | 每张照片的保管链（接收、盖戳、审核、查看、导出） |
| `{layout.REPORT}` | 中文报告（仅供阅读） |
| `tools/` | 离线校验程序的源代码 |

## 1. 文件完整性 / File integrity (sha256sum)

```
sha256sum -c {layout.SUMS}
```

每一行都应显示 `OK`。Every line must say `OK`.

## 2. 可信时间戳 / Trusted timestamps (openssl)

对每张照片 / for each photo:

```
openssl ts -verify -data {original} -in {token} {ca}{untrusted}
```

应显示 `Verification: OK`。令牌中的时间可用
`openssl ts -reply -in {token} -text` 查看。检查点的时间戳：

```
openssl ts -verify -data {layout.CHECKPOINT} -in {layout.CHECKPOINT_TOKEN} {ca}{untrusted}
```

## 3. 离线校验程序 / The bundled verifier

需要 Python 3.11 以及 `cryptography`、`rfc3161-client`、`asn1crypto`
（`pip install cryptography rfc3161-client asn1crypto`）。

```
cd tools
python3 -m verifier ../证据包.zip        # 或解压后的目录 / or the unpacked directory
```

它校验：每个文件的 SHA-256；每张原始照片的 SHA-256、SM3 与大小是否与清单一致；每个时间戳令牌的签名、
证书链和所覆盖的哈希；检查点的 Ed25519 签名与其时间戳；每个证据事件的 Merkle 包含证明；
“接收”事件记录的哈希与原始照片一致；“导出”事件记录的清单哈希与 `{layout.MANIFEST}` 一致；
保管链中的日志事件与证明一致。全部通过时退出码为 0，否则逐项列出失败的文件与原因并以非 0 退出。

It checks every file hash, each original's SHA-256/SM3/size against the manifest, each token's
signature, chain and imprint, the checkpoint signature and its token, every Merkle inclusion
proof, that the logged 'received' hash matches the original, that the logged 'exported' manifest
hash matches `{layout.MANIFEST}`, and that the custody log's events match the proofs. Exit status 0
only when everything checks; otherwise each failure is named with its file.

## 4. 公钥的来源 / Where the public key comes from

检查点签名只证明它出自持有该私钥者。请将 `{layout.PUBLIC_KEY_JSON}` 中的 `key_hint` 与本单位公开或
另行保存的证据日志公钥核对。Compare the key with the one the archive publishes or deposited elsewhere.
"""
