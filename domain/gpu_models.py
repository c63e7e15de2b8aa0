"""Marketing names of common NVIDIA cards by PCI device id (vendor 10de)."""

NVIDIA_VENDOR_ID = "10de"

NVIDIA_MODELS = {
    "1db6": "Tesla V100 PCIe 32GB",
    "1eb8": "Tesla T4",
    "20b0": "A100 SXM4 40GB",
    "20b1": "A100 PCIe 40GB",
    "20b2": "A100 SXM4 80GB",
    "20b5": "A100 PCIe 80GB",
    "20f1": "A100 PCIe 40GB",
    "2204": "GeForce RTX 3090",
    "2206": "GeForce RTX 3080",
    "2230": "RTX A6000",
    "2236": "A10",
    "2330": "H100 SXM5 80GB",
    "2331": "H100 PCIe",
    "2684": "GeForce RTX 4090",
    "26b1": "RTX 6000 Ada Generation",
    "27b8": "L4",
}


def model_name(vendor_id: str | None, device_id: str | None) -> str:
    if vendor_id is None or device_id is None:
        return "unknown device"
    vendor_id, device_id = vendor_id.lower(), device_id.lower()
    if vendor_id == NVIDIA_VENDOR_ID:
        return f"NVIDIA {NVIDIA_MODELS[device_id]}" if device_id in NVIDIA_MODELS else f"NVIDIA 10de:{device_id}"
    return f"{vendor_id}:{device_id}"
