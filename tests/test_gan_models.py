"""GAN networks and metrics on tiny inputs: shapes, the k-step loop, a CycleGAN step, the metrics' math."""

from __future__ import annotations

import itertools
from pathlib import Path

import keras
import numpy as np
import pytest

from keraslab import models
from keraslab.gan.metrics import FrechetDistance, features_fd, inception_score
from keraslab.projects.face_aging.procedural import age_score, procedural_face, procedural_faces
from keraslab.projects.gan_mnist.scorer import SCORER_PARAMS, scores
from keraslab.training.schedules import linear_decay_factor

TINY_DCGAN = {"input_shape": (16, 16, 1), "latent_dim": 8, "generator_width": 4, "discriminator_width": 4}
TINY_CYCLEGAN = {
    "input_shape": (16, 16, 3),
    "generator_width": 4,
    "residual_blocks": 1,
    "critic_width": 4,
    "critic_layers": 2,
}


def test_dcgan_shapes_and_k_discriminator_steps_per_generator_step() -> None:
    gan = models.build("dcgan", {**TINY_DCGAN, "d_steps": 3})
    gan.run_eagerly = True  # the same train_step without tracing (the trainer tests run it compiled)
    assert gan(np.zeros((5, 8), np.float32)).shape == (5, 16, 16, 1)
    assert gan.discriminator(np.zeros((5, 16, 16, 1), np.float32)).shape == (5, 1)
    real = np.random.default_rng(0).uniform(-1, 1, (4 * 12, 16, 16, 1)).astype(np.float32)
    history = gan.fit(real, batch_size=12, epochs=1, verbose=0).history  # 4 batches of 3 minibatches of 4

    assert int(gan.d_optimizer.iterations) == 12 and int(gan.optimizer.iterations) == 4
    assert all(np.isfinite(v[0]) for v in history.values())
    assert {"d_loss", "g_loss", "d_real", "d_fake"} <= set(history)


def test_cyclegan_step_changes_all_four_networks_and_keeps_losses_finite() -> None:
    model = models.build("cyclegan", TINY_CYCLEGAN)
    model.run_eagerly = True
    networks = [model.young_to_old, model.old_to_young, model.old_critic, model.young_critic]
    before = [[w.copy() for w in net.get_weights()] for net in networks]
    rng = np.random.default_rng(1)
    young, old = (rng.uniform(-1, 1, (4, 16, 16, 3)).astype(np.float32) for _ in range(2))

    logs = model.train_on_batch(young, old, return_dict=True)

    assert model(young).shape == (4, 16, 16, 3)
    assert model.old_critic(old).shape == (4, 4, 4, 1)  # one score per patch: 16 / 2² (two stride-2 layers)
    assert all(np.isfinite(v) for v in logs.values()) and logs["g_loss"] > logs["cycle"]
    for net, weights in zip(networks, before, strict=True):
        assert any(not np.allclose(a, b) for a, b in zip(weights, net.get_weights(), strict=True)), net.name


def test_cyclegan_round_trips_through_keras_saving(tmp_path: Path) -> None:
    model = models.build("cyclegan", TINY_CYCLEGAN)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", compile=False)
    faces = np.zeros((1, 16, 16, 3), np.float32)
    np.testing.assert_allclose(loaded.old_to_young(faces), model.old_to_young(faces), atol=1e-6)


def test_inception_score_and_frechet_distance_math() -> None:
    confident = np.eye(10)[np.arange(200) % 10]
    assert inception_score(confident) == pytest.approx(10.0, rel=1e-6)
    assert inception_score(np.full((50, 10), 0.1)) == pytest.approx(1.0)

    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(500, 6)), rng.normal(size=(500, 6)) + 2.0
    assert features_fd(a, a) == pytest.approx(0.0, abs=1e-6)
    assert features_fd(a, b) == pytest.approx(24.0, rel=0.15)  # ‖μ1 − μ2‖² = 6 × 2²
    metric = FrechetDistance(6)
    for i in range(0, 500, 100):
        metric.update_state(a[i : i + 100], b[i : i + 100])
    assert float(metric.result()) == pytest.approx(features_fd(a, b), rel=1e-4)


def test_scorer_fid_of_a_set_with_itself_is_zero() -> None:
    scorer = models.build("cnn", {**SCORER_PARAMS, "input_shape": (28, 28, 1), "num_classes": 10})  # untrained
    digits = np.random.default_rng(3).integers(0, 256, (80, 28, 28, 1)).astype(np.uint8)
    result = scores(scorer, digits, digits)
    assert result["fid"] == pytest.approx(0.0, abs=1e-3)
    assert 1.0 <= result["mnist_is"] <= 10.0


def test_procedural_faces_are_deterministic_and_the_detector_tells_old_from_young() -> None:
    np.testing.assert_array_equal(procedural_face(7, old=True, size=32), procedural_face(7, old=True, size=32))
    assert not np.array_equal(procedural_face(7, old=True, size=32), procedural_face(8, old=True, size=32))
    young, old = procedural_faces(range(20), False, 64), procedural_faces(range(20, 40), True, 64)
    assert young.shape == (20, 64, 64, 3) and young.dtype == np.uint8
    assert age_score(old).mean() > age_score(young).mean() + 0.5


def test_linear_decay_holds_then_falls_towards_zero() -> None:
    factors = [linear_decay_factor(epoch, 10, 0.5) for epoch in range(10)]
    assert factors[:5] == [1.0] * 5
    assert all(a > b for a, b in itertools.pairwise(factors[4:])) and 0 < factors[-1] < 0.2


def test_evaluation_models_never_reseed_the_global_generators(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scorer and the age regressor train inside a run's evaluation: resetting global seeds there would make
    everything after them (the next tuning trial, say) depend on the evaluation instead of the run's seed."""
    import keras

    from keraslab.projects.face_aging.age import train_age_regressor
    from keraslab.projects.gan_mnist.scorer import train_scorer

    def forbidden(seed: int) -> None:
        raise AssertionError(f"set_random_seed({seed}) called during evaluation")

    monkeypatch.setattr(keras.utils, "set_random_seed", forbidden)
    rng = np.random.default_rng(0)
    train_scorer(rng.integers(0, 255, (16, 28, 28, 1), dtype=np.uint8), rng.integers(0, 10, 16), 10, epochs=1)
    train_age_regressor(rng.integers(0, 255, (8, 16, 16, 3), dtype=np.uint8), rng.uniform(1, 90, 8), epochs=1)


def test_attention_generator_changes_only_what_its_mask_covers(tmp_path: Path) -> None:
    model = models.build("cyclegan", {**TINY_CYCLEGAN, "attention": True, "mask_penalty": 0.5})
    generator = model.young_to_old
    faces = np.random.default_rng(4).uniform(-1, 1, (2, 16, 16, 3)).astype(np.float32)
    last = generator.layers[-2]  # the 4-channel convolution before the blend
    kernel, bias = last.get_weights()
    for mask_bias, expected in ((-30.0, faces), (30.0, None)):
        last.set_weights([np.zeros_like(kernel), np.array([0.5, 0.5, 0.5, mask_bias], np.float32)])
        out = np.asarray(generator(faces))
        if expected is not None:
            np.testing.assert_allclose(out, expected, atol=1e-5)  # mask off: the input, untouched
        else:
            np.testing.assert_allclose(out, np.tanh(0.5), atol=1e-5)  # mask on: the painted image
    last.set_weights([kernel, bias])

    model.run_eagerly = True
    logs = model.train_on_batch(faces, faces, return_dict=True)
    assert 0 < logs["mask"] <= 2 * 0.5  # two generators, each penalty × mean mask in [0, 1]
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", compile=False)
    np.testing.assert_allclose(loaded.young_to_old(faces), generator(faces), atol=1e-6)
