"""Generative adversarial networks: a generator and a discriminator in one graph, trained against each other.

- `structure.py` (torch-free): which graphs are GANs, how their two networks are told apart, and the plain
  errors of a malformed one (the editor and `inspect` show them on the node).
- `model.py`: the graph as a `GanModule`, whose state_dict is keyed by node id like a classifier's, with the
  generator and the discriminator as two ordinary `GraphModule`s sharing its layers.
- `trainer.py`: `GanTrainer`, the alternating training loop (same controls, callbacks and checkpoints as the
  classifier `Trainer`).
- `judge.py`: the frozen digit classifier that says how many samples are recognisable, and of how many classes.
- `samples.py`: fixed noise, pixels from generator outputs, sample grids and latent walks.
- `plane.py`: a GAN on 2-D points over the plane (the discriminator's verdict, the generated points and where the
  generator pushes them: GAN Lab's picture), and how near its points lie to the real ones (its judge, in effect).

Kept light: importing this package imports none of them (the graph validator imports `structure` alone).
"""
