"""supplysim: a Monte Carlo supply-chain simulator (just-in-time vs safety stock vs hybrid)."""

__all__: list[str] = []
