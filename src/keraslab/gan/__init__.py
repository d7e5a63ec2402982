"""What the course's two GANs share: image helpers, Fréchet distance and inception score, and the replica-mean
loss reduction used under distribution strategies. The GANs themselves live in ``keraslab.projects.gan_mnist``
and ``keraslab.projects.face_aging``."""
