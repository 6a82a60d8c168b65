#!/usr/bin/env python3
"""No network access anywhere in Twinscope (docs/SECURITY.md).

Two checks: (1) no crate whose job is network access (HTTP clients and
servers, TLS, raw sockets, DNS, WebSocket, mail) is in the dependency tree of
any workspace member on Linux, as `cargo tree` resolves it from Cargo.lock;
(2) no source file of ours uses std::net or a socket type. `--self-test`
shows that both checks catch a planted offender.
"""
import re
import subprocess
import sys
from pathlib import Path

NETWORK_CRATES = {
    "reqwest", "ureq", "hyper", "hyper-util", "h2", "h3", "quinn", "curl", "curl-sys",
    "isahc", "surf", "attohttpc", "rustls", "native-tls", "openssl", "openssl-sys",
    "tungstenite", "tokio-tungstenite", "websocket", "socket2", "zmq", "lettre",
    "trust-dns-resolver", "hickory-resolver", "hickory-proto", "mdns-sd", "axum",
    "actix-web", "warp", "tiny_http", "rouille", "libp2p", "ssh2", "libssh2-sys",
    "tokio-native-tls", "tokio-rustls", "web-sys-net",
}
SOURCE_PATTERN = re.compile(
    r"\bstd::net\b|\bTcpStream\b|\bTcpListener\b|\bUdpSocket\b|\bToSocketAddrs\b")


def crates_in_tree(root: Path) -> set:
    out = subprocess.run(
        ["cargo", "tree", "--locked", "--workspace", "-e", "normal,build",
         "--target", "x86_64-unknown-linux-gnu", "--prefix", "none", "-f", "{p}"],
        cwd=root, check=True, capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def network_crates(names: set) -> list:
    return sorted(names & NETWORK_CRATES)


def socket_uses(root: Path) -> list:
    found = []
    for folder in ("app", "crates", "tests", "bench", "fuzz"):
        for path in sorted((root / folder).rglob("*.rs")):
            if "target" in path.parts:
                continue
            for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                if SOURCE_PATTERN.search(line) and not line.lstrip().startswith("//"):
                    found.append(f"{path.relative_to(root)}:{n}: {line.strip()}")
    return found


def self_test() -> None:
    assert network_crates({"serde", "ureq", "rustls"}) == ["rustls", "ureq"]
    assert network_crates({"serde", "dicom"}) == []
    assert SOURCE_PATTERN.search("let s = std::net::TcpStream::connect(addr);")
    assert SOURCE_PATTERN.search("use std::net::UdpSocket;")
    assert not SOURCE_PATTERN.search("let network = 3; // a NetworkModel")
    print("check-network self-test: ok")


def main() -> int:
    if "--self-test" in sys.argv:
        self_test()
        return 0
    root = Path(__file__).resolve().parent.parent
    names = crates_in_tree(root)
    bad = network_crates(names)
    uses = socket_uses(root)
    for name in bad:
        print(f"network crate in the dependency tree: {name} (cargo tree -i {name})")
    for use in uses:
        print(f"socket use in our code: {use}")
    if bad or uses:
        return 1
    print(f"no network: {len(names)} crates in the Linux dependency tree, none for network "
          "access; no socket use in our sources")
    return 0


if __name__ == "__main__":
    sys.exit(main())
