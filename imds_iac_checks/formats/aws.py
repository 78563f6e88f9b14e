"""Facts about AWS services that more than one input format needs (docs/instance-sources.md says
where each was read)."""

# EKS AMI types whose AMIs are registered with ImdsSupport v2.0: instances launched from them
# require tokens (and EKS's own launch template keeps the hop limit at 1), so a managed node
# group without a launch template of its own is safe on them. AL2 and custom AMIs are not.
EKS_AMIS_REQUIRING_TOKENS = frozenset(
    {
        "AL2023_x86_64_STANDARD",
        "AL2023_ARM_64_STANDARD",
        "AL2023_x86_64_NEURON",
        "AL2023_x86_64_NVIDIA",
        "AL2023_ARM_64_NVIDIA",
    }
)
