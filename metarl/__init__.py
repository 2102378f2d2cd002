"""metarl: meta-reinforcement learning task families and agents on Gymnasium and torch."""

__version__ = "0.1.0"
