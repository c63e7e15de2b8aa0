#!/usr/bin/env bash
# Installs and starts a local libvirtd with QEMU, as root, on Debian 12 — without
# libvirt-daemon-system, whose udev dependency fails to install in containers. Does what its
# post-install would: the libvirt-qemu user, the runtime folders, the daemons. Also installs
# what guests need on the host: the offline image builder's tools (mmdebstrap, mkfs, mtools,
# SYSLINUX, sfdisk), xorriso for cloud-init seeds, OpenSSH's client, virtiofsd (in Debian 12's
# qemu-system-common) and Packer. Idempotent.
set -euo pipefail
# Under `env -i` PATH is bash's default but not exported: Python, pip and dpkg need it exported.
export PATH
PACKAGES=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-utils
          dnsmasq-base libvirt-dev pkg-config gcc python3-dev libxml2-utils iptables iproute2
          mmdebstrap e2fsprogs dosfstools mtools syslinux syslinux-common fdisk xorriso openssh-client
          qemu-system-common packer)
if [ "$(id -u)" -ne 0 ]; then
  echo "libvirt-up: run as root (it installs packages and starts libvirtd)" >&2
  exit 1
fi
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "libvirt-up: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
getent group kvm >/dev/null || groupadd -r kvm
getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
id libvirt-qemu >/dev/null 2>&1 || useradd -r -g libvirt-qemu -G kvm -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
# What Debian's udev rule does on a normal host: QEMU (user libvirt-qemu, group kvm) may use
# KVM. Without it libvirt re-probes QEMU on every define (about a minute each) and falls back
# to TCG.
if [ -c /dev/kvm ]; then
  chgrp kvm /dev/kvm && chmod 0660 /dev/kvm || echo "libvirt-up: cannot open /dev/kvm to group kvm; VMs will use TCG" >&2
fi
mkdir -p /var/log/libvirt/qemu /run/libvirt /var/lib/libvirt/images /var/lib/libvirt/qemu
pgrep -x virtlogd >/dev/null || virtlogd -d
if ! pgrep -x libvirtd >/dev/null; then
  libvirtd -d
fi
for _ in $(seq 1 30); do
  virsh -c qemu:///system version >/dev/null 2>&1 && exit 0
  sleep 1
done
echo "libvirt-up: libvirtd did not answer on qemu:///system; see /var/log/libvirt" >&2
exit 1
