"""The x86 CPU feature names libvirt knows (its ``cpu_map/x86_features.xml``, libvirt 9.0): the
names a domain's ``<feature name=...>`` may use. libvirt refuses a domain that names any other,
so ``validate`` refuses it first, naming the feature."""

X86_FEATURES = frozenset({
    "3dnow", "3dnowext", "3dnowprefetch", "abm", "acpi", "adx", "aes", "amd-no-ssb", "amd-ssbd", "amd-stibp",
    "amx-bf16", "amx-int8", "amx-tile", "apic", "arat", "arch-capabilities", "arch-lbr", "avic", "avx", "avx-vnni",
    "avx2", "avx512-4fmaps", "avx512-4vnniw", "avx512-bf16", "avx512-fp16", "avx512-vp2intersect",
    "avx512-vpopcntdq", "avx512bitalg", "avx512bw", "avx512cd", "avx512dq", "avx512er", "avx512f", "avx512ifma",
    "avx512pf", "avx512vbmi", "avx512vbmi2", "avx512vl", "avx512vnni", "bmi1", "bmi2", "bus-lock-detect", "cid",
    "cldemote", "clflush", "clflushopt", "clwb", "clzero", "cmov", "cmp_legacy", "cmt", "core-capability",
    "cr8legacy", "cvt16", "cx16", "cx8", "dca", "de", "decodeassists", "ds", "ds_cpl", "dtes64", "erms", "est",
    "extapic", "f16c", "flushbyasid", "fma", "fma4", "fpu", "fsgsbase", "fsrm", "fxsr", "fxsr_opt", "gfni", "hle",
    "ht", "hypervisor", "ia64", "ibpb", "ibrs", "ibrs-all", "ibs", "intel-pt", "intel-pt-lip", "invpcid", "invtsc",
    "la57", "lahf_lm", "lbrv", "lm", "lwp", "mbm_local", "mbm_total", "mca", "mce", "md-clear", "mds-no",
    "misalignsse", "mmx", "mmxext", "monitor", "movbe", "movdir64b", "movdiri", "mpx", "msr", "mtrr", "nodeid_msr",
    "npt", "nrip-save", "nx", "ospke", "osvw", "osxsave", "pae", "pat", "pause-filter", "pbe", "pcid", "pclmuldq",
    "pcommit", "pconfig", "pdcm", "pdpe1gb", "perfctr_core", "perfctr_nb", "pfthreshold", "pge", "pks", "pku", "pn",
    "pni", "popcnt", "pschange-mc-no", "pse", "pse36", "rdctl-no", "rdpid", "rdrand", "rdseed", "rdtscp", "rsba",
    "rtm", "sep", "serialize", "sgx", "sgx-debug", "sgx-exinfo", "sgx-kss", "sgx-mode64", "sgx-provisionkey",
    "sgx-tokenkey", "sgx1", "sgx2", "sgxlc", "sha-ni", "skinit", "skip-l1dfl-vmentry", "smap", "smep", "smx",
    "spec-ctrl", "split-lock-detect", "ss", "ssb-no", "ssbd", "sse", "sse2", "sse4.1", "sse4.2", "sse4a", "ssse3",
    "stibp", "svm", "svm-lock", "svme-addr-chk", "syscall", "taa-no", "tbm", "tce", "tm", "tm2", "topoext", "tsc",
    "tsc-deadline", "tsc-scale", "tsc_adjust", "tsx-ctrl", "tsx-ldtrk", "umip", "v-vmsave-vmload", "vaes", "vgif",
    "virt-ssbd", "vmcb-clean", "vme", "vmx", "vpclmulqdq", "waitpkg", "wbnoinvd", "wdt", "x2apic", "xfd", "xgetbv1",
    "xop", "xsave", "xsavec", "xsaveerptr", "xsaveopt", "xsaves", "xtpr",
})
