"""Photo-aging CycleGAN: ResNet generators young <-> old and PatchGAN critics (``cyclegan``).

keras-io's settings by default: width 64, 9 residual blocks (the paper's choice for 256×256; 6 for 128), 3
critic layers, λ_cycle = 10, λ_identity = 0.5, Adam 2e-4 with β1 = 0.5; ``attention`` generators (a mask that
limits the change, ``mask_penalty`` × its mean in the loss) are off by default. ``training.lr_decay_start`` is the
fraction of the epochs after which both learning rates fall linearly to zero (the paper: 100 constant + 100
decaying).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

if TYPE_CHECKING:
    import keras


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input_shape: tuple[int, int, int] = Field((64, 64, 3), description="set by the data: the faces' shape")
    generator_width: int = Field(64, ge=1, le=512)
    residual_blocks: int = Field(9, ge=0, le=16)
    attention: bool = Field(False, description="generators paint a mask and change only what it covers")
    mask_penalty: float = Field(0.1, ge=0, description="attention: weight of the mean mask in the generator loss")
    critic_width: int = Field(64, ge=1, le=512)
    critic_layers: int = Field(3, ge=1, le=5, description="stride-2 layers of each PatchGAN critic")
    lambda_cycle: float = Field(10.0, ge=0)
    lambda_identity: float = Field(0.5, ge=0, description="identity loss weight, as a fraction of lambda_cycle")
    learning_rate: float = Field(2e-4, gt=0, le=1)
    beta_1: float = Field(0.5, ge=0, lt=1)

    @field_validator("input_shape")
    @classmethod
    def _divisible(cls, shape: tuple[int, int, int]) -> tuple[int, int, int]:
        if shape[0] % 4 or shape[1] % 4:
            raise ValueError(f"height and width must be multiples of 4 (two stride-2 steps), got {shape}")
        return shape


def build(params: Mapping[str, Any]) -> keras.Model:
    """The compiled ``CycleGAN`` for ``params`` (a plain mapping of ``Params`` fields)."""
    import keras

    from keraslab.projects.face_aging.cyclegan import CycleGAN, patch_discriminator, resnet_generator

    shape = tuple(params["input_shape"])
    g_width, blocks = params["generator_width"], params["residual_blocks"]
    d_width, layers = params["critic_width"], params["critic_layers"]
    attention = {"attention": params["attention"], "mask_penalty": params["mask_penalty"]}
    model = CycleGAN(
        resnet_generator(shape, g_width, blocks, "young_to_old", **attention),
        resnet_generator(shape, g_width, blocks, "old_to_young", **attention),
        patch_discriminator(shape, d_width, layers, "old_critic"),
        patch_discriminator(shape, d_width, layers, "young_critic"),
        lambda_cycle=params["lambda_cycle"],
        lambda_identity=params["lambda_identity"],
        name="cyclegan",
    )
    adam = lambda: keras.optimizers.Adam(params["learning_rate"], beta_1=params["beta_1"])  # noqa: E731
    model.compile(d_optimizer=adam(), g_optimizer=adam())
    return model
