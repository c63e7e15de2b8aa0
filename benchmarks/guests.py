"""Golden images and real guests, as ratios measured side by side in one run.

    sudo .venv/bin/python benchmarks/guests.py [--suite trixie] [--skip-build]

1. ``ai-how image build hpc-base`` (a fresh image folder) against a plain ``mmdebstrap`` of
   the same package list into a directory: what making it a bootable disk adds (goal ≤ 1.2×).
2. The cache hit: the same build again, and a build of the same recipe into a new store (the
   file is found by its recipe's digest and recorded).
3. Boot to SSH: ``ai-how hpc start`` of a 3-VM cluster against a 1-VM cluster, from defined
   domains, on TCG (goal ≤ 1.5×), and on KVM where a KVM guest survives its boot here.

Needs root, libvirtd (scripts/libvirt-up.sh) and the image tools. Cleans up after itself.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
AI_HOW = str(Path(sys.executable).parent / "ai-how")
sys.path.insert(0, str(REPO))

from ai_how.adapters.imaging.builder import OfflineImageBuilder, mirror_sources  # noqa: E402
from ai_how.app.images.recipes import recipe  # noqa: E402


def timed(args: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,)) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(args, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if out.returncode not in ok:
        sys.exit(f"{' '.join(args)} failed ({out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return elapsed, out.stdout + out.stderr


def cluster_config(folder: Path, vms: int, tag: str) -> Path:
    node = {"cpu_cores": 1, "memory_gb": 1, "disk_gb": 4}
    hpc = {"name": f"bg{vms}-{tag}", "base_image": "hpc-base",
           "network": {"subnet": f"10.19{vms}.9.0/24", "bridge": f"aihowbg{vms}{tag}", "forward": "none"},
           "controller": {**node, "ip": f"10.19{vms}.9.10"},
           "compute_nodes": [{**node, "ip": f"10.19{vms}.9.{11 + i}"} for i in range(vms - 1)]}
    path = folder / f"bg{vms}.yaml"
    path.write_text(yaml.safe_dump({"clusters": {"hpc": hpc}}))
    return path


def boot_pair(folder: Path, env: dict[str, str], domain_type: str) -> tuple[float | None, float | None, str]:
    """Seconds to 'every guest answers SSH' for 1 VM and for 3 VMs, and the profile they ran on
    (None, None, why: when the start failed, e.g. every KVM profile died here)."""
    tag = os.urandom(2).hex()
    env = {**env, "AI_HOW_DOMAIN_TYPE": domain_type, "AI_HOW_STATE_DIR": str(folder / f"state-{domain_type}")}
    timed([AI_HOW, "image", "build", "hpc-base"], env)
    configs = {n: cluster_config(folder, n, tag) for n in (1, 3)}
    seconds, profile = {}, "?"
    try:
        for n, config in configs.items():
            # A first start: network, disks, seeds, and the first boot (cloud-init, growpart).
            start = time.perf_counter()
            out = subprocess.run([AI_HOW, "hpc", "start", str(config)], env=env, capture_output=True, text=True,
                                 stdin=subprocess.DEVNULL)
            seconds[n] = time.perf_counter() - start
            if out.returncode != 0:
                return None, None, out.stderr.strip().splitlines()[-1][:300]
            status = json.loads(subprocess.run([AI_HOW, "hpc", "status", str(config), "--json"], env=env,
                                               capture_output=True, text=True).stdout)
            profile = status["vms"][0]["guest"]
            timed([AI_HOW, "hpc", "stop", str(config), "--timeout", "60"], env)
    finally:
        for config in configs.values():
            subprocess.run([AI_HOW, "hpc", "destroy", str(config), "--yes", "--timeout", "0"], env=env,
                           capture_output=True)
    return seconds[1], seconds[3], profile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", default="trixie")
    parser.add_argument("--skip-build", action="store_true", help="Only the cache hit and the boots.")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ai-how-bench-guests-"))
    folder.chmod(0o755)  # QEMU (libvirt-qemu) reads the built image as its VMs' backing file
    images = folder / "images"
    env = {**os.environ, "AI_HOW_STATE_DIR": str(folder / "state"), "AI_HOW_LIBVIRT_URI": "qemu:///system",
           "AI_HOW_IMAGE_DIR": str(images), "AI_HOW_POOL_ROOT": "/var/lib/libvirt/images/ai-how-bench"}
    try:
        if not args.skip_build:
            builder = OfflineImageBuilder()
            wanted = recipe(REPO / "ansible", "hpc-base", args.suite, f"{builder.name}:{builder.version}")
            plain_dir = folder / "plain-root"
            plain = ["mmdebstrap", "--variant=minbase", "--mode=root", "--format=directory",
                     f"--include={','.join(builder.packages(wanted))}", args.suite, str(plain_dir),
                     *mirror_sources(os.environ)]
            plain_s, _ = timed(plain, env)
            shutil.rmtree(plain_dir, ignore_errors=True)
            build_s, _ = timed([AI_HOW, "image", "build", "hpc-base", "--suite", args.suite], env)
            print(f"image build     ai-how {build_s:6.1f} s · plain mmdebstrap {plain_s:6.1f} s · "
                  f"ratio {build_s / plain_s:.2f}×  (goal ≤ 1.2×)")
            built = json.loads(subprocess.run([AI_HOW, "image", "list", "--json"], env=env, capture_output=True,
                                              text=True).stdout)[0]
            print(f"image           {built['path']}: {built['size'] / 2**20:.0f} MiB (qcow2)")
        else:
            images = Path(os.environ.get("AI_HOW_IMAGE_DIR", "/var/cache/ai-how/images"))
            env["AI_HOW_IMAGE_DIR"] = str(images)
            timed([AI_HOW, "image", "build", "hpc-base", "--suite", args.suite], env)
        hit_s, _ = timed([AI_HOW, "image", "build", "hpc-base", "--suite", args.suite], env)
        adopt_s, _ = timed([AI_HOW, "image", "build", "hpc-base", "--suite", args.suite],
                           {**env, "AI_HOW_STATE_DIR": str(folder / "state-new")})
        print(f"cache hit       same store {hit_s:5.2f} s · new store (file found by digest, sha256) {adopt_s:5.2f} s")
        for domain_type in ("qemu", "kvm"):
            one, three, profile = boot_pair(folder, env, domain_type)
            if one is None or three is None:
                print(f"boot to SSH     {domain_type}: did not start here: {profile}")
                continue
            print(f"boot to SSH     {domain_type}: 1 VM {one:6.1f} s · 3 VMs together {three:6.1f} s · "
                  f"ratio {three / one:.2f}× (goal ≤ 1.5×) · ran on {profile}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
