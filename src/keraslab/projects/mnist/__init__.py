"""MNIST digits, the course's first two networks: a feed-forward MLP and a CNN.

What it teaches: dense versus convolutional layers, regularisation (dropout, batch norm, L1/L2), optimisers and
learning rates, and reading learning curves and a confusion matrix. Both use the core's ``mlp``/``cnn`` builders
and ``classification`` task; this package adds the MNIST reader (the official IDX files, or tfds), which the GAN
and AirCalc projects reuse.
"""

from keraslab.registry import Components

COMPONENTS = Components(datasets={"mnist": f"{__name__}.data"})
