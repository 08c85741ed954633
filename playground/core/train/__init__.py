"""Training: the Trainer, callbacks, metrics, checkpoints and probes (Qt-free)."""
