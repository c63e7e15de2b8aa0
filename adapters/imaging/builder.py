"""The offline image builder: a Debian root filesystem from the apt mirror (mmdebstrap), made
into a disk that boots the way a Debian cloud image does.

The disk has an MBR with two partitions: a small FAT one holding the kernel, the initramfs and
SYSLINUX (what SeaBIOS boots), and the ext4 root filesystem, last, so that cloud-init's
growpart can grow it to the VM's disk on first boot. Both filesystems are made from files
(``mkfs.ext4 -d``, mtools), so the build needs no loop device and no mount. cloud-init
(NoCloud) configures the guest from the seed ISO ai-how attaches to each VM.

Everything happens in a scratch directory beside the destination; the image is moved into
place only when whole.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

from ai_how.app.errors import InfrastructureError
from ai_how.app.ports import BuiltImage, ImageBuilder, ImageRecipe

from ..host_tools import SYSLINUX_FILES, require, run
from .scratch import install, scratch

# What makes a bootable, configurable guest, beside the role's packages. Part of the recipe:
# changing it changes every image's digest (``version`` hashes this file).
SYSTEM_PACKAGES = (
    "linux-image-cloud-amd64", "initramfs-tools", "systemd-sysv", "udev", "dbus", "openssh-server",
    "cloud-init", "cloud-guest-utils", "fdisk", "e2fsprogs", "dosfstools", "ifupdown", "iproute2", "netbase",
    "sudo", "ca-certificates", "less", "procps",
)
TOOLS = ("mmdebstrap", "mkfs.ext4", "mkfs.vfat", "mcopy", "syslinux", "sfdisk", "qemu-img")
BOOT_MIB = 160
ROOT_SLACK = 1.3  # the root filesystem's room beyond its content; growpart grows it at first boot
ROOT_SPARE_MIB = 384
SECTOR = 512


def mirror_sources(env: dict[str, str] | os._Environ) -> list[str]:
    """The Debian mirror the host's apt uses (``AI_HOW_APT_MIRROR`` overrides)."""
    if env.get("AI_HOW_APT_MIRROR"):
        return [env["AI_HOW_APT_MIRROR"]]
    uris: list[str] = []
    candidates = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for path in candidates:
        try:
            text = path.read_text()
        except OSError:
            continue
        for line in text.splitlines():
            words = line.split("#", 1)[0].split()
            if path.suffix == ".sources" and words[:1] == ["URIs:"]:
                uris += words[1:]
            elif words[:1] == ["deb"]:
                uris += [w for w in words[1:] if "://" in w][:1]
    plain = [u for u in uris if "security" not in u]
    return plain[:1] or ["http://deb.debian.org/debian"]


def apt_proxy() -> str | None:
    """The host apt's HTTP proxy, if it has one."""
    try:
        out = subprocess.run(["apt-config", "shell", "P", "Acquire::http::Proxy"], capture_output=True,
                             text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = out.partition("=")[2].strip().strip("'\"")
    return value or None


# The modules what ai-how's seeds ask for need (hostname, users, SSH keys, growpart, mounts,
# write_files, runcmd), and no other: each module is loaded and run on a one-vCPU TCG guest's
# first boot, where Debian's lists (keyboard, locale, apt, keys-to-console...) cost ~6 s.
CLOUD_INIT_MODULES = (
    "cloud_init_modules: [write_files, growpart, resizefs, mounts, set_hostname, update_hostname, "
    "update_etc_hosts, users_groups, ssh]\n"
    "cloud_config_modules: [runcmd]\n"
    "cloud_final_modules: [scripts_per_once, scripts_per_boot, scripts_per_instance, scripts_user, "
    "final_message]\n")


def _customize(root: Path, root_uuid: str) -> None:
    """What turns an installed tree into a golden image (run on the host, on the tree)."""
    (root / "etc/fstab").write_text(f"UUID={root_uuid} / ext4 errors=remount-ro 0 1\n")
    (root / "etc/hostname").write_text("localhost\n")
    cloud = root / "etc/cloud/cloud.cfg.d"
    cloud.mkdir(parents=True, exist_ok=True)
    # Only the seed ai-how attaches: no probing of cloud metadata services, which on an
    # isolated network would only time out.
    (cloud / "90-ai-how.cfg").write_text(
        "# Written by ai-how's image builder.\n"
        "datasource_list: [NoCloud, None]\n"
        "growpart: {mode: auto, devices: ['/']}\n"
        "resize_rootfs: true\n"
        + CLOUD_INIT_MODULES)
    # The seeds lock every password; set-passwords, which would say this, is not run.
    sshd = root / "etc/ssh/sshd_config.d"
    sshd.mkdir(parents=True, exist_ok=True)
    (sshd / "ai-how.conf").write_text("# Written by ai-how's image builder: keys only.\nPasswordAuthentication no\n")
    (root / "etc/network/interfaces.d").mkdir(parents=True, exist_ok=True)
    interfaces = root / "etc/network/interfaces"
    if not interfaces.exists():
        interfaces.write_text("source /etc/network/interfaces.d/*\nauto lo\niface lo inet loopback\n")
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()  # each VM gets its own, pinned by the host, from its seed
    (root / "etc/machine-id").write_text("")
    dbus_id = root / "var/lib/dbus/machine-id"
    if dbus_id.exists() or dbus_id.is_symlink():
        dbus_id.unlink()
    for cache in (root / "var/cache/apt/archives").glob("*.deb"):
        cache.unlink()
    shutil.rmtree(root / "var/lib/apt/lists", ignore_errors=True)
    (root / "var/lib/apt/lists/partial").mkdir(parents=True, exist_ok=True)


# Off in every image: it removes leftovers of e2scrub runs, which never happen on these guests.
SYSTEM_SERVICES_OFF = ("e2scrub_reap",)


def _first_boot_trims(root: Path, services_off: tuple[str, ...], log: Path) -> None:
    """Work a guest's first boot would do for nothing, left out: each costs seconds of a
    one-vCPU TCG guest's boot. The services the recipe carries off are disabled (the deploy or
    the VM's seed turns them on where wanted); the stamps systemd-update-done writes say /etc
    and /var are up to date with /usr, so ldconfig and the journal catalog are not rebuilt."""
    units = [u for u in (*SYSTEM_SERVICES_OFF, *services_off)
             if any((root / d / f"{u}.service").exists() for d in ("usr/lib/systemd/system", "lib/systemd/system"))]
    if units:
        run(["chroot", str(root), "systemctl", "disable", "--quiet", *units], "turning off services in the image", log)
    usr = (root / "usr").stat().st_mtime_ns
    for folder in ("etc", "var"):
        stamp = root / folder / ".updated"
        stamp.write_text(f"# Written by ai-how's image builder, as systemd-update-done does.\nTIMESTAMP_NSEC={usr}\n")
        os.utime(stamp, ns=(usr, usr))


def _kernel(root: Path) -> tuple[Path, Path]:
    kernels = sorted((root / "boot").glob("vmlinuz-*"))
    if not kernels:
        raise InfrastructureError("the image has no kernel in /boot: linux-image-cloud-amd64 did not install")
    version = kernels[-1].name.removeprefix("vmlinuz-")
    initrd = root / "boot" / f"initrd.img-{version}"
    if not initrd.exists():
        raise InfrastructureError(f"the image has no initramfs for kernel {version}: update-initramfs did not run")
    return kernels[-1], initrd


def _tree_mib(root: Path) -> int:
    out = subprocess.run(["du", "-s", "--block-size=1M", "-x", str(root)], capture_output=True, text=True)
    return int(out.stdout.split()[0]) if out.returncode == 0 else 2048


def _boot_partition(work: Path, kernel: Path, initrd: Path, root_uuid: str, log: Path) -> Path:
    boot = work / "boot.img"
    run(["mkfs.vfat", "-n", "AIHOWBOOT", "-C", str(boot), str(BOOT_MIB * 1024)], "formatting the boot partition",
        log)
    config = work / "syslinux.cfg"
    config.write_text("DEFAULT debian\nPROMPT 0\nTIMEOUT 0\nLABEL debian\n  KERNEL /vmlinuz\n  INITRD /initrd.img\n"
                      f"  APPEND root=UUID={root_uuid} ro console=tty0 console=ttyS0,115200n8 net.ifnames=0\n")
    for source, name in ((kernel, "vmlinuz"), (initrd, "initrd.img"), (config, "syslinux.cfg")):
        run(["mcopy", "-i", str(boot), str(source), f"::{name}"], "filling the boot partition", log)
    run(["syslinux", "--install", str(boot)], "installing SYSLINUX", log)
    return boot


def _assemble(work: Path, boot: Path, root_fs: Path, log: Path) -> Path:
    """An MBR disk: the boot partition (active), then the root filesystem, last."""
    start = 2048
    boot_sectors = boot.stat().st_size // SECTOR
    root_start = start + boot_sectors
    root_sectors = root_fs.stat().st_size // SECTOR
    raw = work / "disk.raw"
    with raw.open("wb") as f:
        f.truncate((root_start + root_sectors) * SECTOR)
    table = (f"label: dos\nunit: sectors\n\nstart={start}, size={boot_sectors}, type=c, bootable\n"
             f"start={root_start}, size={root_sectors}, type=83\n")
    subprocess.run(["sfdisk", "--no-reread", "--no-tell-kernel", str(raw)], input=table, text=True,
                   capture_output=True, check=False)
    run(["sfdisk", "--dump", str(raw)], "writing the partition table", log)
    with raw.open("r+b") as disk:
        disk.write(SYSLINUX_FILES["mbr"].read_bytes()[:440])
        for part, offset in ((boot, start), (root_fs, root_start)):
            disk.seek(offset * SECTOR)
            with part.open("rb") as f:
                shutil.copyfileobj(f, disk, 1 << 22)
    return raw


class OfflineImageBuilder(ImageBuilder):
    """The ``ImageBuilder`` port with mmdebstrap, mkfs, mtools and SYSLINUX."""

    name = "mmdebstrap"

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.env = os.environ if env is None else env

    @property
    def version(self) -> str:
        return "offline-1+" + hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]

    def packages(self, recipe: ImageRecipe) -> list[str]:
        return sorted({*SYSTEM_PACKAGES, *recipe.packages})

    def check(self) -> None:
        require(TOOLS, "ai-how image build")
        if not SYSLINUX_FILES["mbr"].exists():
            raise InfrastructureError(f"{SYSLINUX_FILES['mbr']} is missing; install it with: "
                                      "apt-get install syslinux-common")

    def rootfs_args(self, recipe: ImageRecipe, target: Path) -> list[str]:
        args = ["mmdebstrap", "--variant=minbase", "--mode=root", "--format=directory",
                f"--include={','.join(self.packages(recipe))}", "--components=main",
                "--aptopt=Acquire::Retries \"3\"", "--aptopt=APT::Install-Recommends \"false\""]
        proxy = apt_proxy()
        if proxy:
            args.append(f'--aptopt=Acquire::http::Proxy "{proxy}"')
        return [*args, recipe.suite, str(target), *mirror_sources(self.env)]

    def build(self, recipe: ImageRecipe, destination: Path, progress: Callable[[str], None]) -> BuiltImage:
        self.check()
        with scratch(destination, "mmdebstrap") as (work, log):
            root = work / "root"
            progress(f"installing {len(self.packages(recipe))} packages from Debian {recipe.suite} (mmdebstrap)")
            run(self.rootfs_args(recipe, root), f"building the {recipe.name} root filesystem", log)
            root_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"ai-how-image:{recipe.digest}"))
            _customize(root, root_uuid)
            _first_boot_trims(root, recipe.services_off, log)
            kernel, initrd = _kernel(root)
            progress("making the boot partition (SYSLINUX) and the root filesystem (ext4)")
            boot = _boot_partition(work, kernel, initrd, root_uuid, log)
            root_mib = int(_tree_mib(root) * ROOT_SLACK) + ROOT_SPARE_MIB
            root_fs = work / "root.img"
            run(["mkfs.ext4", "-q", "-F", "-L", "aihow-root", "-U", root_uuid, "-d", str(root), str(root_fs),
                 f"{root_mib}M"], "making the root filesystem", log)
            shutil.rmtree(root)
            raw = _assemble(work, boot, root_fs, log)
            progress("converting to qcow2")
            image = work / destination.name
            run(["qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", str(raw), str(image)],
                "converting the disk to qcow2", log)
            return install(image, destination)
