# The golden images, one template: hpc-base (a SLURM node: SLURM, MUNGE, OpenMPI, build tools)
# and cloud-base (a Kubernetes node: containerd's and kube-proxy's prerequisites).
# Packer's QEMU builder boots a Debian genericcloud image, cloud-init (http/) makes a build
# user, and the Ansible provisioner applies ansible/roles/<image>-packages: the same package
# list as 'ai-how image build <image>', which runs this with --with packer.
#   packer validate -var image=hpc-base golden-image.pkr.hcl
#   packer build -var image=hpc-base -var output_directory=OUT golden-image.pkr.hcl

variable "image" {
  type        = string
  description = "Which golden image: hpc-base or cloud-base (its playbook is image-<image>.yml)."
  validation {
    condition     = contains(["hpc-base", "cloud-base"], var.image)
    error_message = "The image must be hpc-base or cloud-base."
  }
}

variable "cloud_image_url" {
  type        = string
  description = "A Debian genericcloud qcow2 (trixie: Debian 13)."
  default     = "https://cloud.debian.org/images/cloud/trixie/latest/debian-13-genericcloud-amd64.qcow2"
}

variable "cloud_image_checksum" {
  type        = string
  description = "Its checksum, or file:URL of Debian's SHA512SUMS beside it."
  default     = "file:https://cloud.debian.org/images/cloud/trixie/latest/SHA512SUMS"
}

variable "output_directory" {
  type        = string
  description = "Where the image is written (default: output-<image>)."
  default     = ""
}

variable "image_name" {
  type        = string
  description = "The image's file name (default: <image>.qcow2)."
  default     = ""
}

locals {
  output_directory = var.output_directory != "" ? var.output_directory : "output-${var.image}"
  image_name       = var.image_name != "" ? var.image_name : "${var.image}.qcow2"
}

variable "disk_size" {
  type    = string
  default = "8G"
}

variable "accelerator" {
  type        = string
  description = "kvm where the host has it, tcg elsewhere."
  default     = "kvm"
}

source "qemu" "golden" {
  iso_url          = var.cloud_image_url
  iso_checksum     = var.cloud_image_checksum
  disk_image       = true
  disk_size        = var.disk_size
  format           = "qcow2"
  disk_compression = true
  accelerator      = var.accelerator
  headless         = true
  memory           = 2048
  cpus             = 2
  net_device       = "virtio-net"
  disk_interface   = "virtio"
  output_directory = local.output_directory
  vm_name          = local.image_name
  http_directory   = "${path.root}/http"
  # cloud-init's NoCloud datasource, served by Packer: the build user below.
  qemuargs = [["-smbios", "type=1,serial=ds=nocloud-net;s=http://{{ .HTTPIP }}:{{ .HTTPPort }}/"]]
  ssh_username     = "packer"
  ssh_password     = "packer"
  ssh_timeout      = "20m"
  shutdown_command = "sudo shutdown -P now"
}

build {
  sources = ["source.qemu.golden"]

  provisioner "ansible" {
    playbook_file = "${path.root}/../ansible/playbooks/image-${var.image}.yml"
    user          = "packer"
    use_proxy        = false
    extra_arguments  = ["--become"]
    ansible_env_vars = ["ANSIBLE_ROLES_PATH=${path.root}/../ansible/roles", "ANSIBLE_HOST_KEY_CHECKING=False"]
  }

  # What makes it a golden image: no build user, no host keys, no machine id, cloud-init
  # ready to run again from each VM's own seed.
  provisioner "shell" {
    execute_command = "sudo sh -c '{{ .Vars }} {{ .Path }}'"
    inline = [
      "rm -f /etc/ssh/ssh_host_*",
      "truncate -s 0 /etc/machine-id",
      "cloud-init clean --logs --seed",
      "passwd -l packer",
      "usermod --expiredate 1 packer",
    ]
  }
}
