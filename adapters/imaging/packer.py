"""The ``ImageBuilder`` port with Packer: the QEMU builder from a Debian genericcloud image,
provisioned by the image's Ansible role (``packer/golden-image.pkr.hcl``, ``-var image=<name>``)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from ai_how.app.errors import InfrastructureError
from ai_how.app.ports import BuiltImage, ImageBuilder, ImageRecipe

from ..host_tools import require, run
from .scratch import install, scratch

PACKER_DIR = Path(__file__).resolve().parents[2] / "packer"
# Debian's genericcloud images: the suite's latest, verified against Debian's SHA512SUMS.
CLOUD_IMAGES = {
    "trixie": "https://cloud.debian.org/images/cloud/trixie/latest/debian-13-genericcloud-amd64.qcow2",
    "bookworm": "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2",
}


class PackerImageBuilder(ImageBuilder):
    name = "packer"

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.env = os.environ if env is None else env

    TEMPLATE = "golden-image.pkr.hcl"
    IMAGES = ("hpc-base", "cloud-base")  # the template's validation of var.image

    def template(self) -> Path:
        return Path(self.env.get("AI_HOW_PACKER_DIR") or PACKER_DIR) / self.TEMPLATE

    @property
    def version(self) -> str:
        digest = hashlib.sha256()
        for path in sorted(Path(self.env.get("AI_HOW_PACKER_DIR") or PACKER_DIR).rglob("*")):
            if path.is_file():
                digest.update(path.read_bytes())
        return "packer-1+" + digest.hexdigest()[:12]

    def check(self) -> None:
        require(["packer", "qemu-img"], "ai-how image build --with packer")

    def build(self, recipe: ImageRecipe, destination: Path, progress: Callable[[str], None]) -> BuiltImage:
        self.check()
        template = self.template()
        if not template.exists():
            raise InfrastructureError(f"no Packer template: {template} is missing")
        if recipe.name not in self.IMAGES:
            raise InfrastructureError(f"the Packer template builds {' and '.join(self.IMAGES)}, not {recipe.name}")
        with scratch(destination, "packer") as (work, log):
            output = work / "output"
            url = self.env.get("AI_HOW_CLOUD_IMAGE_URL") or CLOUD_IMAGES[recipe.suite]
            checksum = self.env.get("AI_HOW_CLOUD_IMAGE_CHECKSUM") or f"file:{url.rsplit('/', 1)[0]}/SHA512SUMS"
            progress(f"packer build {template.name} from {url}")
            run(["packer", "build", "-color=false", f"-var=image={recipe.name}", f"-var=output_directory={output}",
                 f"-var=image_name={destination.name}", f"-var=cloud_image_url={url}",
                 f"-var=cloud_image_checksum={checksum}", str(template)], f"packer build of {recipe.name}", log)
            built = output / destination.name
            if not built.exists():
                raise InfrastructureError(f"packer finished but wrote no {built.name}; see {log}")
            return install(built, destination)
