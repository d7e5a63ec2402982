"""The course's basic GAN: DCGAN generator and discriminator inside ``dcgan.GAN``.

``d_steps`` is the course's k: discriminator steps per generator step (each on its own minibatch, so a training
batch holds ``d_steps × batch_size`` images). Adam with the DCGAN paper's 2e-4, β1 = 0.5 for both networks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    import keras


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input_shape: tuple[int, int, int] = Field((28, 28, 1), description="set by the data: the images' shape")
    num_classes: int = Field(10, description="set by the data; unused by the GAN")
    latent_dim: int = Field(64, ge=1, le=1024)
    generator_width: int = Field(64, ge=1, le=1024, description="filters of the last upsampling layer")
    discriminator_width: int = Field(64, ge=1, le=1024, description="filters of the first conv layer")
    discriminator_dropout: float = Field(0.3, ge=0.0, lt=1.0)
    d_steps: int = Field(1, ge=1, le=10, description="k: discriminator steps per generator step")
    learning_rate: float = Field(2e-4, gt=0, le=1)
    d_learning_rate: float | None = Field(None, gt=0, le=1, description="None: learning_rate")
    beta_1: float = Field(0.5, ge=0, lt=1)
    seed: int = Field(0, description="seed of the noise the model draws")


def build(params: Mapping[str, Any]) -> keras.Model:
    """The compiled ``GAN`` for ``params`` (a plain mapping of ``Params`` fields)."""
    import keras

    from keraslab.projects.gan_mnist.dcgan import GAN, discriminator, generator

    shape = tuple(params["input_shape"])
    model = GAN(
        generator(params["latent_dim"], shape, params["generator_width"]),
        discriminator(shape, params["discriminator_width"], params["discriminator_dropout"]),
        d_steps=params["d_steps"],
        seed=params["seed"],
        name="gan",
    )
    d_lr = params["d_learning_rate"] or params["learning_rate"]
    model.compile(
        d_optimizer=keras.optimizers.Adam(d_lr, beta_1=params["beta_1"]),
        g_optimizer=keras.optimizers.Adam(params["learning_rate"], beta_1=params["beta_1"]),
    )
    return model
