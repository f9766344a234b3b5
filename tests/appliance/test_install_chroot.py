"""The one install script, proved in a clean Debian 12 chroot (slow; `make test-slow`).

debootstrap makes a minimal bookworm (amd64) with the Debian packages install.sh asks for
(read from the script itself, so the two cannot drift apart); the finished base is cached
as a tarball under ~/.cache/ivrbox/ so a rerun only unpacks it. The repo's release files
are copied in, `hw/install/install.sh --no-start --hostname ivrbox` runs inside the chroot
(systemd is not running there: the script links the units by hand), and then, as the
`ivrbox` service user, `ivrbox selftest --line sim` and a scripted `ivrbox call` must work.

When debootstrap cannot run (not root, no debootstrap, no Debian mirror reachable), the
test says so loudly -- on stderr, as a warning and as the skip reason -- never silently.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MIRROR = os.environ.get("IVRBOX_DEBIAN_MIRROR", "http://deb.debian.org/debian")
SUITE = "bookworm"
CACHE = Path(os.environ.get("IVRBOX_CACHE", Path.home() / ".cache" / "ivrbox"))
RELEASE_FILES = ("firmware", "audio", "config", "hw", "setup.py", "README.md")
EXTRA_DEBS = ("ca-certificates", "procps")  # pip over HTTPS; `ps` for debugging
# Daemons whose maintainer scripts need a running system: left to install.sh's own apt
# step inside the chroot (with policy-rc.d refusing to start them), which that step
# then proves too.
APT_IN_CHROOT = ("avahi-daemon", "libnss-mdns")
MOUNTS = ("proc", "sys", "dev", "dev/pts")


def _loud_skip(reason: str) -> None:
    message = f"SLOW TEST NOT RUN: the install script was NOT proved in a chroot: {reason}"
    print(f"\n{'!' * 78}\n{message}\n{'!' * 78}", file=sys.stderr)
    warnings.warn(message, stacklevel=2)
    pytest.skip(message)


def _runtime_debs() -> list[str]:
    text = (REPO / "hw" / "install" / "install.sh").read_text(encoding="utf-8")
    match = re.search(r"RUNTIME_DEBS=\(([^)]*)\)", text)
    assert match, "install.sh no longer lists RUNTIME_DEBS=(...)"
    return match.group(1).split()


def _preconditions() -> None:
    if os.geteuid() != 0:
        _loud_skip("debootstrap and chroot need root (run `sudo make test-slow`)")
    if shutil.which("debootstrap") is None:
        _loud_skip("debootstrap is not installed (`apt-get install debootstrap`)")
    try:
        with urllib.request.urlopen(f"{MIRROR}/dists/{SUITE}/Release", timeout=15) as reply:
            reply.read(64)
    except OSError as exc:
        _loud_skip(f"the Debian mirror {MIRROR} is not reachable ({exc})")


def _base_tarball(debs: list[str]) -> Path:
    """The finished debootstrap, cached by suite and package list; one builder at a time
    (a second test run waits for the first one's tarball instead of clobbering it)."""
    import fcntl

    key = hashlib.sha256(" ".join(sorted(debs)).encode()).hexdigest()[:12]
    tarball = CACHE / f"debootstrap-{SUITE}-amd64-{key}.tar.gz"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"build-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not tarball.exists():
            _debootstrap(debs, key, tarball)
    return tarball


def _debootstrap(debs: list[str], key: str, tarball: Path) -> None:
    build = CACHE / f"build-{key}"
    shutil.rmtree(build, ignore_errors=True)
    proc = subprocess.run(
        ["debootstrap", "--variant=minbase", "--arch=amd64", f"--include={','.join(debs)}",
         SUITE, str(build), MIRROR], capture_output=True, text=True)
    if proc.returncode != 0:
        log = build / "debootstrap" / "debootstrap.log"
        detail = log.read_text(errors="replace")[-3000:] if log.exists() else proc.stderr[-3000:]
        shutil.rmtree(build, ignore_errors=True)
        pytest.fail(f"debootstrap failed (the mirror was reachable):\n{detail}")
    for name in MOUNTS[::-1]:  # debootstrap unmounts these; make sure before tarring
        subprocess.run(["umount", "-l", str(build / name)], capture_output=True, check=False)

    def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        parts = Path(info.name).parts
        if len(parts) > 2 and parts[1] in ("proc", "sys", "dev"):
            return None  # bind-mounted from the host when used
        if info.name.endswith(".deb") and "/var/cache/apt/archives/" in info.name:
            return None  # installed already; the cache only makes the tarball larger
        return info

    partial = tarball.with_suffix(".partial")
    with tarfile.open(partial, "w:gz") as tar:
        tar.add(build, arcname=".", filter=keep)
    partial.rename(tarball)
    shutil.rmtree(build, ignore_errors=True)


@contextlib.contextmanager
def _mounted(root: Path) -> Iterator[None]:
    done: list[Path] = []
    try:
        for name in MOUNTS:
            target = root / name
            target.mkdir(parents=True, exist_ok=True)
            subprocess.run(["mount", "--bind", f"/{name}", str(target)], check=True)
            done.append(target)
        pip_cache = CACHE / "pip"
        pip_cache.mkdir(parents=True, exist_ok=True)
        target = root / "root" / ".cache" / "pip"
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "--bind", str(pip_cache), str(target)], check=True)
        done.append(target)
        yield
    finally:
        for target in reversed(done):
            subprocess.run(["umount", "-l", str(target)], check=False)


def _chroot(root: Path, *command: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "HOME": "/root", "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    if (root / "etc" / "ssl" / "host-ca-bundle.crt").exists():
        env["PIP_CERT"] = "/etc/ssl/host-ca-bundle.crt"
    return subprocess.run(["chroot", str(root), *command], capture_output=True, text=True,
                          env=env, timeout=timeout)


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_install_script_in_a_clean_debian_chroot(tmp_path: Path) -> None:
    _preconditions()
    started = time.monotonic()
    tarball = _base_tarball([d for d in _runtime_debs() if d not in APT_IN_CHROOT]
                            + list(EXTRA_DEBS))
    root = tmp_path / "bookworm"
    root.mkdir()
    with tarfile.open(tarball) as tar:
        tar.extractall(root)  # our own tarball: trusted
    src = root / "root" / "ivrbox-src"
    src.mkdir(parents=True)
    for name in RELEASE_FILES:
        item = REPO / name
        if item.is_dir():
            shutil.copytree(item, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(item, src / name)
    shutil.copy2("/etc/resolv.conf", root / "etc" / "resolv.conf")
    # pip inside the chroot trusts what the host's pip trusts (a proxy's CA, if any).
    host_ca = Path(os.environ.get("PIP_CERT", "/etc/ssl/certs/ca-certificates.crt"))
    if host_ca.is_file():
        shutil.copy2(host_ca, root / "etc" / "ssl" / "host-ca-bundle.crt")
    policy = root / "usr" / "sbin" / "policy-rc.d"  # no daemons start inside the chroot
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    with _mounted(root):
        install = _chroot(root, "/root/ivrbox-src/hw/install/install.sh", "--no-start",
                          "--hostname", "ivrbox")
        print(install.stdout[-4000:], install.stderr[-4000:], sep="\n")
        assert install.returncode == 0, f"install.sh failed:\n{install.stderr[-3000:]}"
        # Links inside the chroot are absolute: read them, do not follow them from here.
        current = os.readlink(root / "opt/ivrbox/current")
        assert (root / current.lstrip("/") / "venv/bin/ivrbox").exists()
        wants = root / "etc/systemd/system/multi-user.target.wants/ivrbox-engine.service"
        assert os.readlink(wants) == "/etc/systemd/system/ivrbox-engine.service"
        assert (root / "etc/systemd/system/ivrbox-engine.service").exists()
        assert (root / "etc/hostname").read_text().strip() == "ivrbox"
        assert (root / "var/lib/ivrbox/config/current.yaml").exists()

        selftest = _chroot(root, "runuser", "-u", "ivrbox", "--", "ivrbox", "selftest",
                           "--line", "sim", "--data", "/var/lib/ivrbox", timeout=600)
        print(selftest.stdout, selftest.stderr, sep="\n")
        assert selftest.returncode == 0, selftest.stdout + selftest.stderr
        assert "PASS    dial tone" in selftest.stdout

        call = _chroot(root, "runuser", "-u", "ivrbox", "--", "ivrbox", "call",
                       "--data", "/var/lib/ivrbox/call-test",
                       "--config", "/var/lib/ivrbox/config/current.yaml",
                       "--script", "wait 1; press 1; wait 5; hangup", timeout=600)
        print(call.stdout[-3000:], call.stderr[-3000:], sep="\n")
        assert call.returncode == 0, call.stdout + call.stderr
        assert "digit=1" in call.stdout and "call_end" in call.stdout
    print(f"chroot install test took {time.monotonic() - started:.0f} s", file=sys.stderr)


def test_a_skipped_chroot_test_says_so_loudly(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Not slow: the skip path itself. Without root there is a skip, a warning and a
    banner on stderr, all naming the reason."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.warns(UserWarning, match="NOT proved"), \
            pytest.raises(pytest.skip.Exception, match="need root"):
        _preconditions()
    assert "SLOW TEST NOT RUN" in capsys.readouterr().err
