"""CycleGAN (Zhu et al. 2017) for unpaired young <-> old faces, after keras-io's ``examples/generative/cyclegan.py``.

Two ResNet generators (``young_to_old``, ``old_to_young``) and two PatchGAN discriminators (``old_critic`` judges
old faces, ``young_critic`` young ones). Losses: least-squares GAN, cycle consistency (L1, λ_cycle) and identity
(L1, λ_cycle × λ_identity). An *attention* generator (``attention=True``; Mejjati et al. 2018, GANimation) also
paints a mask and changes the face only where the mask is on: ``mask × new + (1 − mask) × input``; the mean
mask, weighted by ``mask_penalty``, joins the generator loss, so it changes no more than aging needs.
Instance normalisation is ``GroupNormalization(groups=-1)``. ``model.optimizer``
updates both generators, ``model.d_optimizer`` both discriminators (Adam 2e-4, β1 0.5; the learning rates decay
linearly to zero per epoch, see ``task``). A batch is ``(young, old)``, images in
[−1, 1]. Validation reports ``cycle_l1`` and, as ``loss``, the Fréchet distance of aged young faces to real old
ones on 8×8 pooled pixels (so ``val_loss`` picks the best epoch: Keras infers "lower is better" only for
``loss`` and compiled metrics).
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from keraslab.gan.metrics import FrechetDistance, pooled_pixels
from keraslab.gan.replicas import replica_mean

FD_GRID = 8
NETWORKS = ("young_to_old", "old_to_young", "old_critic", "young_critic")
INIT = keras.initializers.RandomNormal(stddev=0.02)


@keras.saving.register_keras_serializable(package="keraslab")
class ReflectionPadding2D(keras.layers.Layer):
    """Pad height and width by mirroring the border (no new edges for the convolutions to see)."""

    def __init__(self, padding: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.padding = padding

    def call(self, x: tf.Tensor) -> tf.Tensor:
        p = self.padding
        return keras.ops.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

    def compute_output_shape(self, shape: tuple) -> tuple:
        grow = lambda n: None if n is None else n + 2 * self.padding  # noqa: E731
        return shape[0], grow(shape[1]), grow(shape[2]), shape[3]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": self.padding}


def instance_norm() -> keras.layers.Layer:
    return keras.layers.GroupNormalization(groups=-1, gamma_initializer=keras.initializers.RandomNormal(1.0, 0.02))


def conv(x: tf.Tensor, filters: int, kernel: int, strides: int = 1, padding: str = "same") -> tf.Tensor:
    return keras.layers.Conv2D(filters, kernel, strides, padding=padding, kernel_initializer=INIT, use_bias=False)(x)


def residual_block(x: tf.Tensor) -> tf.Tensor:
    filters = x.shape[-1]
    y = x
    for i in range(2):
        y = conv(ReflectionPadding2D()(y), filters, 3, padding="valid")
        y = instance_norm()(y)
        if i == 0:
            y = keras.layers.ReLU()(y)
    return keras.layers.Add()([x, y])


@keras.saving.register_keras_serializable(package="keraslab")
class AttentionBlend(keras.layers.Layer):
    """(image, 4 channels) -> ``mask × tanh(rgb) + (1 − mask) × image`` with ``mask = sigmoid(4th channel)``;
    in training it adds ``penalty × mean(mask)`` to the layer's losses (``CycleGAN.translate`` reads them)."""

    def __init__(self, penalty: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.penalty = penalty

    def call(self, inputs: list[tf.Tensor], training: bool = False) -> tf.Tensor:
        image, raw = inputs
        mask = keras.ops.sigmoid(raw[..., -1:])
        if training and self.penalty:
            self.add_loss(self.penalty * keras.ops.mean(mask))
        return mask * keras.ops.tanh(raw[..., :-1]) + (1.0 - mask) * image

    def compute_output_shape(self, shapes: list[tuple]) -> tuple:
        return shapes[0]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "penalty": self.penalty}


def resnet_generator(
    image_shape: tuple[int, int, int],
    width: int,
    residual_blocks: int,
    name: str,
    attention: bool = False,
    mask_penalty: float = 0.0,
) -> keras.Model:
    """c7s1-w, d2w, d4w, R4w × n, u2w, uw, c7s1-3 (tanh): Johnson et al.'s network, as in the CycleGAN paper;
    with ``attention`` the last layer has a 4th channel, the mask of an ``AttentionBlend``."""
    images = keras.Input(image_shape, name="image")
    x = conv(ReflectionPadding2D(3)(images), width, 7, padding="valid")
    x = keras.layers.ReLU()(instance_norm()(x))
    for factor in (2, 4):
        x = keras.layers.ReLU()(instance_norm()(conv(x, width * factor, 3, strides=2)))
    for _ in range(residual_blocks):
        x = residual_block(x)
    for factor in (2, 1):
        x = keras.layers.Conv2DTranspose(
            width * factor, 3, strides=2, padding="same", kernel_initializer=INIT, use_bias=False
        )(x)
        x = keras.layers.ReLU()(instance_norm()(x))
    channels = image_shape[-1] + int(attention)
    x = keras.layers.Conv2D(channels, 7, padding="valid", kernel_initializer=INIT)(ReflectionPadding2D(3)(x))
    if attention:
        return keras.Model(images, AttentionBlend(mask_penalty)([images, x]), name=name)
    return keras.Model(images, keras.layers.Activation("tanh")(x), name=name)


def patch_discriminator(image_shape: tuple[int, int, int], width: int, layers: int, name: str) -> keras.Model:
    """PatchGAN: C(w) (no norm), C(2w), …, each 4×4 stride 2 with LeakyReLU, then a stride-1 layer and a
    1-channel map: one real/fake score per receptive-field patch."""
    images = keras.Input(image_shape, name="image")
    x = keras.layers.LeakyReLU(0.2)(conv(images, width, 4, strides=2))
    for i in range(1, layers):
        x = keras.layers.LeakyReLU(0.2)(instance_norm()(conv(x, width * 2**i, 4, strides=2)))
    x = keras.layers.LeakyReLU(0.2)(instance_norm()(conv(x, width * 2**layers, 4)))
    scores = keras.layers.Conv2D(1, 4, padding="same", kernel_initializer=INIT)(x)
    return keras.Model(images, scores, name=name)


@keras.saving.register_keras_serializable(package="keraslab")
class CycleGAN(keras.Model):
    def __init__(
        self,
        young_to_old: keras.Model,
        old_to_young: keras.Model,
        old_critic: keras.Model,
        young_critic: keras.Model,
        lambda_cycle: float = 10.0,
        lambda_identity: float = 0.5,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.young_to_old, self.old_to_young = young_to_old, old_to_young
        self.old_critic, self.young_critic = old_critic, young_critic
        self.lambda_cycle, self.lambda_identity = lambda_cycle, lambda_identity
        names = ("g_loss", "d_loss", "adversarial", "cycle", "identity", "mask")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}
        self.fd = FrechetDistance(FD_GRID * FD_GRID * young_to_old.outputs[0].shape[-1], name="fd_aged")
        self.cycle_l1 = keras.metrics.Mean(name="cycle_l1")
        self.built = True

    def call(self, young: tf.Tensor, training: bool = False) -> tf.Tensor:
        """Age ``young`` faces (the direction a plain call serves)."""
        return self.young_to_old(young, training=training)

    def compile(self, d_optimizer: keras.optimizers.Optimizer, g_optimizer: keras.optimizers.Optimizer) -> None:
        """``g_optimizer`` (both generators) becomes ``model.optimizer``; ``d_optimizer`` updates both critics."""
        super().compile(optimizer=g_optimizer)
        self.d_optimizer = d_optimizer
        self.optimizer.build(self.generator_variables())
        self.d_optimizer.build(self.critic_variables())

    def generator_variables(self) -> list[tf.Variable]:
        return self.young_to_old.trainable_variables + self.old_to_young.trainable_variables

    def critic_variables(self) -> list[tf.Variable]:
        return self.old_critic.trainable_variables + self.young_critic.trainable_variables

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return [*self.trackers.values(), self.fd, self.cycle_l1]

    def train_step(self, data: tuple[tf.Tensor, tf.Tensor]) -> dict[str, tf.Tensor]:
        young, old = data[:2]  # (young, old[, sample_weight])
        with tf.GradientTape(persistent=True) as tape:
            aged, mask_aged = self.translate(self.young_to_old, young)
            rejuvenated, mask_rejuvenated = self.translate(self.old_to_young, old)
            cycled_young = self.old_to_young(aged, training=True)
            cycled_old = self.young_to_old(rejuvenated, training=True)
            same_old = self.young_to_old(old, training=True)
            same_young = self.old_to_young(young, training=True)
            mask = mask_aged + mask_rejuvenated

            fake_old_scores = self.old_critic(aged, training=True)
            fake_young_scores = self.young_critic(rejuvenated, training=True)
            adversarial = lsgan(fake_old_scores, 1.0) + lsgan(fake_young_scores, 1.0)
            cycle = l1(young, cycled_young) + l1(old, cycled_old)
            identity = l1(old, same_old) + l1(young, same_young)
            g_loss = adversarial + self.lambda_cycle * (cycle + self.lambda_identity * identity) + mask

            d_loss = 0.5 * (
                lsgan(self.old_critic(old, training=True), 1.0)
                + lsgan(fake_old_scores, 0.0)
                + lsgan(self.young_critic(young, training=True), 1.0)
                + lsgan(fake_young_scores, 0.0)
            )
            scaled_g, scaled_d = replica_mean(g_loss), replica_mean(d_loss)
        generators, critics = self.generator_variables(), self.critic_variables()
        self.optimizer.apply(tape.gradient(scaled_g, generators), generators)
        self.d_optimizer.apply(tape.gradient(scaled_d, critics), critics)
        del tape
        values = {"g_loss": g_loss, "d_loss": d_loss, "adversarial": adversarial, "cycle": cycle, "identity": identity}
        values["mask"] = mask
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    @staticmethod
    def translate(generator: keras.Model, images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """``generator`` in training mode on ``images``, and the mask penalty of that call (0 without attention)."""
        translated = generator(images, training=True)
        return translated, tf.add_n([tf.zeros(()), *generator.losses])

    def test_step(self, data: tuple[tf.Tensor, tf.Tensor]) -> dict[str, tf.Tensor]:
        young, old = data[:2]  # (young, old[, sample_weight])
        aged = self.young_to_old(young, training=False)
        self.fd.update_state(pooled_pixels(old, FD_GRID), pooled_pixels(aged, FD_GRID))
        self.cycle_l1.update_state(l1(young, self.old_to_young(aged, training=False)))
        return {"loss": self.fd.result(), self.cycle_l1.name: self.cycle_l1.result()}

    def get_config(self) -> dict[str, Any]:
        networks = {name: keras.saving.serialize_keras_object(getattr(self, name)) for name in NETWORKS}
        return {
            "name": self.name,
            **networks,
            "lambda_cycle": self.lambda_cycle,
            "lambda_identity": self.lambda_identity,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> CycleGAN:
        config = dict(config)
        networks = {name: keras.saving.deserialize_keras_object(config.pop(name)) for name in NETWORKS}
        return cls(**networks, **config)


def lsgan(scores: tf.Tensor, target: float) -> tf.Tensor:
    """Per-example least-squares GAN loss: mean over the patch map of (score − target)²."""
    return tf.reduce_mean(tf.square(scores - target), axis=[1, 2, 3])


def l1(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """Per-example mean absolute difference."""
    return tf.reduce_mean(tf.abs(a - b), axis=[1, 2, 3])
