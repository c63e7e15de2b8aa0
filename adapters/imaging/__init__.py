"""Golden images without a cloud: root filesystems from Debian's mirror (mmdebstrap), made
into disks that boot the way a Debian cloud image does; cloud-init seeds; Packer."""
