"""ABI layers: they decode a guest's call, ask the world, and encode the answer; nothing else."""

__all__: list[str] = []
