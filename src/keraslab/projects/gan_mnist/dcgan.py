"""The course's GAN (Goodfellow et al. 2014) with DCGAN networks, trained by ``fit`` through ``train_step``.

Each training batch holds ``d_steps`` minibatches of real images (every k-th image): the discriminator takes one
step on each
(real vs freshly generated, binary cross-entropy), then the generator takes one step (the non-saturating loss
−log D(G(z))). ``model.optimizer`` is the generator's Adam, ``model.d_optimizer`` the discriminator's.
Validation reports as ``loss`` the Fréchet distance between real and generated images pooled to 7×7: a number
that falls as the samples improve, so ``val_loss`` picks the best epoch (Keras infers "lower is better" only
for ``loss`` and compiled metrics).
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from keraslab.gan.metrics import FrechetDistance, pooled_pixels
from keraslab.gan.replicas import replica_mean

FD_GRID = 7


def generator(latent_dim: int, image_shape: tuple[int, int, int], width: int) -> keras.Model:
    """z -> Dense -> (H/4 × W/4 × 2w) -> ConvT(w, stride 2) -> ConvT(channels, stride 2, tanh): images in [−1, 1]."""
    height, width_px, channels = image_shape
    if height % 4 or width_px % 4:
        raise ValueError(f"image_shape = {image_shape}: height and width must be multiples of 4")
    z = keras.Input((latent_dim,), name="noise")
    x = keras.layers.Dense(height // 4 * width_px // 4 * 2 * width, use_bias=False)(z)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.LeakyReLU(0.2)(x)
    x = keras.layers.Reshape((height // 4, width_px // 4, 2 * width))(x)
    x = keras.layers.Conv2DTranspose(width, 4, strides=2, padding="same", use_bias=False)(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.LeakyReLU(0.2)(x)
    images = keras.layers.Conv2DTranspose(channels, 4, strides=2, padding="same", activation="tanh")(x)
    return keras.Model(z, images, name="generator")


def discriminator(image_shape: tuple[int, int, int], width: int, dropout: float) -> keras.Model:
    """image -> Conv(w, stride 2) -> Conv(2w, stride 2) -> logit (real > 0)."""
    images = keras.Input(image_shape, name="image")
    x = images
    for filters in (width, 2 * width):
        x = keras.layers.Conv2D(filters, 4, strides=2, padding="same")(x)
        x = keras.layers.LeakyReLU(0.2)(x)
        if dropout:
            x = keras.layers.Dropout(dropout)(x)
    logit = keras.layers.Dense(1, name="logit")(keras.layers.Flatten()(x))
    return keras.Model(images, logit, name="discriminator")


@keras.saving.register_keras_serializable(package="keraslab")
class GAN(keras.Model):
    def __init__(
        self, generator: keras.Model, discriminator: keras.Model, d_steps: int = 1, seed: int = 0, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim = int(generator.inputs[0].shape[-1])
        self.d_steps, self.seed = d_steps, seed
        self.noise_seed = keras.random.SeedGenerator(seed)
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True, reduction=None)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("d_loss", "g_loss", "d_real", "d_fake")}
        self.fd = FrechetDistance(FD_GRID * FD_GRID * generator.outputs[0].shape[-1], name="fd_pixels")
        self.built = True

    def call(self, noise: tf.Tensor, training: bool = False) -> tf.Tensor:
        return self.generator(noise, training=training)

    def compile(self, d_optimizer: keras.optimizers.Optimizer, g_optimizer: keras.optimizers.Optimizer) -> None:
        """``g_optimizer`` becomes ``model.optimizer`` (what Keras's callbacks look at)."""
        super().compile(optimizer=g_optimizer)
        self.d_optimizer = d_optimizer
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.optimizer.build(self.generator.trainable_variables)

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return [*self.trackers.values(), self.fd]

    def noise(self, batch_size: tf.Tensor) -> tf.Tensor:
        return keras.random.normal((batch_size, self.latent_dim), seed=self.noise_seed)

    def train_step(self, data: Any) -> dict[str, tf.Tensor]:
        real = data[0] if isinstance(data, tuple) else data
        for k in range(self.d_steps):  # k discriminator steps, each on its own slice of the batch
            self.discriminator_step(real[k :: self.d_steps])
        self.generator_step(tf.maximum(tf.shape(real)[0] // self.d_steps, 1))
        return {name: self.trackers[name].result() for name in self.trackers}

    def discriminator_step(self, real: tf.Tensor) -> None:
        fake = self.generator(self.noise(tf.shape(real)[0]), training=True)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(fake, training=True)
            per_example = self.bce(tf.ones_like(real_logits), real_logits) + self.bce(
                tf.zeros_like(fake_logits), fake_logits
            )
            loss = replica_mean(per_example)
        variables = self.discriminator.trainable_variables
        self.d_optimizer.apply(tape.gradient(loss, variables), variables)
        self.trackers["d_loss"].update_state(per_example)
        self.trackers["d_real"].update_state(tf.sigmoid(real_logits))
        self.trackers["d_fake"].update_state(tf.sigmoid(fake_logits))

    def generator_step(self, batch_size: tf.Tensor) -> None:
        with tf.GradientTape() as tape:
            fake_logits = self.discriminator(self.generator(self.noise(batch_size), training=True), training=True)
            per_example = self.bce(tf.ones_like(fake_logits), fake_logits)
            loss = replica_mean(per_example)
        variables = self.generator.trainable_variables
        self.optimizer.apply(tape.gradient(loss, variables), variables)
        self.trackers["g_loss"].update_state(per_example)

    def test_step(self, data: Any) -> dict[str, tf.Tensor]:
        real = data[0] if isinstance(data, tuple) else data
        fake = self.generator(self.noise(tf.shape(real)[0]), training=False)
        self.fd.update_state(pooled_pixels(real, FD_GRID), pooled_pixels(fake, FD_GRID))
        return {"loss": self.fd.result()}

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "d_steps": self.d_steps,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> GAN:
        config = dict(config)
        networks = {
            key: keras.saving.deserialize_keras_object(config.pop(key)) for key in ("generator", "discriminator")
        }
        return cls(**networks, **config)
