"""The course's GAN on MNIST: a DCGAN trained with k discriminator steps per generator step.

What it teaches: adversarial training with a ``train_step`` override, the balance of generator and critic, and
judging samples (Fréchet distance and inception score by an MNIST classifier, ``scorer``). ``dcgan`` and
``builder`` define it, ``task`` trains and grids samples, ``wrapper`` serves generated digits.
"""

from keraslab.registry import Components

COMPONENTS = Components(
    builders={"dcgan": f"{__name__}.builder"},
    tasks={"gan": f"{__name__}.task"},
    wrappers={"gan": f"{__name__}.wrapper"},
)
