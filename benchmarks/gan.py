"""GAN benchmark: ``keraslab train gan-mnist`` and ``face-aging`` through the one trainer, judged side by side.

MNIST GAN (real digits from ``--data-dir``): a scorer CNN (the spine's ``cnn`` builder, one epoch on the training
digits) gives the MNIST "Inception Score" (confidence × class spread, at most 10) and the Fréchet distance of
its penultimate features to real training digits, for the trained generator, an untrained generator (the
random-generator baseline) and real test digits (the ceiling).

Face aging (procedural faces, 64×64): the wrinkle/grey detector score of young faces, of those faces aged by
the trained CycleGAN and of real old faces; the Fréchet distance (8×8 pooled pixels) to real old faces before
and after aging; cycle reconstruction L1/SSIM; generator images per second. Runs are tracked into a temporary
MLflow store (sample grids per epoch), and the final grids are written next to the results.

Face aging on UTKFace (only with ``--utkface DIR``, a folder of ``age_gender_race_datetime.jpg[.chip.jpg]``): the
mean age predicted by the project's age regressor (trained on the training faces of every age) for young faces,
the same faces aged, real old faces and rejuvenated ones; the shift aged − young (target ≥ +15 years); the
regressor's MAE on held-out faces; identity kept as cycle L1/SSIM.

    python benchmarks/gan.py --data-dir /work/shared/data            # ~15-20 min on 2 shared cores
    python benchmarks/gan.py --data-dir DIR --gan-epochs 1 --aging-epochs 1   # a quick look
    python benchmarks/gan.py --data-dir DIR --utkface ~/UTKFace --utkface-set data.options.image_size=64

Results go to ``benchmarks/results/gan.md`` (and ``gan_mnist_samples.png``, ``gan_aging_samples.png``).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SAMPLES = 2000


def train_project(project: str, overrides: list[str], data_dir: str | None) -> tuple[object, object, float]:
    from keraslab import registry
    from keraslab.training.trainer import train

    spec = registry.load(project, overrides)
    started = time.perf_counter()
    result = train(spec, data_dir=data_dir, verbose=2)
    return spec, result, time.perf_counter() - started


def mnist_gan(data_dir: str, epochs: int, overrides: list[str]) -> tuple[list[str], dict]:
    import keras

    from keraslab import data, models
    from keraslab.gan.images import apply, to_uint8
    from keraslab.projects.gan_mnist.scorer import scores, train_scorer
    from keraslab.projects.gan_mnist.task import sample_figure

    spec, result, wall = train_project("gan-mnist", [f"training.epochs={epochs}", *overrides], data_dir)
    splits = data.load(spec.data, data_dir, spec.training.seed)
    started = time.perf_counter()
    scorer = train_scorer(splits.x_train, splits.y_train, 10, epochs=1)
    scorer_seconds = time.perf_counter() - started
    accuracy = scorer.evaluate(splits.x_test / np.float32(255), splits.y_test, verbose=0)[1]
    noise = np.random.default_rng(1).standard_normal((SAMPLES, result.model.latent_dim), np.float32)
    keras.utils.set_random_seed(7)
    untrained = models.build("dcgan", {**spec.builder_params(), **splits.info.model_params})
    reference = splits.x_train[:SAMPLES]

    def samples(model: keras.Model) -> np.ndarray:
        return to_uint8(apply(model.generator, noise))

    rows = [
        ("random generator (untrained, baseline)", scores(scorer, samples(untrained), reference)),
        (f"GAN after {result.epochs_run} epochs", scores(scorer, samples(result.model), reference)),
        ("real test digits (ceiling)", scores(scorer, splits.x_test[:SAMPLES], reference)),
    ]
    sample_figure(result.model, noise[:64], f"gan-mnist after {result.epochs_run} epochs").savefig(
        RESULTS / "gan_mnist_samples.png"
    )
    lines = [
        f"### MNIST GAN (`keraslab train gan-mnist --epochs {epochs}`, real MNIST)",
        "",
        f"Scorer: the spine's `cnn` builder (2 conv blocks 16/32, dense 64), 1 epoch on {len(splits.x_train):,} "
        f"training digits in {scorer_seconds:.0f} s, test accuracy {accuracy:.2%}. {SAMPLES:,} samples each; "
        f"Fréchet distance to {SAMPLES:,} real training digits on the scorer's 64 penultimate features.",
        "",
        "| images | MNIST-IS (max 10) ↑ | Fréchet distance ↓ | IS / real | FD / random |",
        "|---|---:|---:|---:|---:|",
    ]
    real_is, random_fd = rows[2][1]["mnist_is"], rows[0][1]["fid"]
    for name, s in rows:
        ratios = f"{s['mnist_is'] / real_is:.2f} | {s['fid'] / random_fd:.3f}"
        lines.append(f"| {name} | {s['mnist_is']:.2f} | {s['fid']:.2f} | {ratios} |")
    lines += [
        "",
        f"Training: {result.epochs_run} epochs, {result.train_samples_per_second:.0f} images/s, "
        f"wall {wall / 60:.1f} min including evaluation. The trainer's own test metrics: "
        + ", ".join(f"{k} {v:.2f}" for k, v in result.test_metrics.items()),
        "",
    ]
    return lines, {"wall": wall}


def face_aging(epochs: int, overrides: list[str]) -> tuple[list[str], dict]:
    from keraslab import data
    from keraslab.projects.face_aging.task import domains, translation_grid

    spec, result, wall = train_project("face-aging", [f"training.epochs={epochs}", *overrides], None)
    m = result.test_metrics
    splits = data.load(spec.data, None, spec.training.seed)
    young, old = domains(splits.x_test, splits.y_test)
    translation_grid(result.model, young[:8], old[:8], f"face-aging after {result.epochs_run} epochs").savefig(
        RESULTS / "gan_aging_samples.png"
    )
    p = {**spec.builder_params(), **splits.info.model_params}
    gap = (m["test_age_score_aged"] - m["test_age_score_young"]) / (m["test_age_score_old"] - m["test_age_score_young"])
    lines = [
        f"### Face aging CycleGAN (`keraslab train face-aging --epochs {epochs}`, procedural faces)",
        "",
        f"{spec.data.options['count']} faces per domain at {p['input_shape'][0]}×{p['input_shape'][1]}; "
        f"generators width {p['generator_width']} with {p['residual_blocks']} residual blocks, critics width "
        f"{p['critic_width']}; batch {spec.training.batch_size}; {len(young)} young and {len(old)} old test faces.",
        "",
        "| test faces | detector score (0 young … 1 old) | Fréchet distance to real old (8×8 pixels) ↓ |",
        "|---|---:|---:|",
        f"| young, unaged (baseline) | {m['test_age_score_young']:.3f} | {m['test_fd_young']:.2f} |",
        f"| young, aged by the CycleGAN | {m['test_age_score_aged']:.3f} | {m['test_fd_aged']:.2f} |",
        f"| real old (target) | {m['test_age_score_old']:.3f} | 0 |",
        f"| old, rejuvenated | {m['test_age_score_rejuvenated']:.3f} | – |",
        "",
        f"Detector gap closed by aging: {gap:.0%} (aged − young) / (old − young). Fréchet distance to old faces: "
        f"{m['test_fd_aged'] / m['test_fd_young']:.2f}× the unaged one.",
        "",
        f"Identity kept (cycle young→old→young and old→young→old): L1 {m['test_cycle_l1']:.4f} (pixels in [0, 1]), "
        f"SSIM {m['test_cycle_ssim']:.3f}. Generator speed: {m['test_images_per_second']:.0f} images/s "
        f"({p['input_shape'][0]}×{p['input_shape'][1]}, batch 32, CPU). Training: {result.epochs_run} epochs, "
        f"{result.fit_seconds / 60:.1f} min fit, {result.train_samples_per_second:.1f} images/s; "
        f"wall {wall / 60:.1f} min including evaluation.",
        "",
    ]
    return lines, {"wall": wall}


def face_aging_utkface(folder: str, epochs: int, overrides: list[str]) -> list[str]:
    source = ["data.options.source=utkface", f"data.options.path={folder}"]
    spec, result, wall = train_project("face-aging", [f"training.epochs={epochs}", *source, *overrides], None)
    m, opts = result.test_metrics, spec.data.options
    return [
        f"### Face aging CycleGAN on UTKFace (`{folder}`, {epochs} epochs)",
        "",
        f"Domains: young ≤ {opts.get('young_max_age', 30)}, old ≥ {opts.get('old_min_age', 50)} years. The age "
        f"regressor (spine `cnn`, linear head) trained on the training faces of every age: MAE "
        f"{m['test_age_regressor_mae']:.1f} years on held-out faces.",
        "",
        "| test faces | mean predicted age (years) |",
        "|---|---:|",
        f"| young, unaged | {m['test_age_young']:.1f} |",
        f"| young, aged by the CycleGAN | {m['test_age_aged']:.1f} |",
        f"| real old | {m['test_age_old']:.1f} |",
        f"| old, rejuvenated | {m['test_age_rejuvenated']:.1f} |",
        "",
        f"Age shift aged − young: **{m['test_age_shift']:+.1f} years** (target ≥ +15). Identity kept: cycle L1 "
        f"{m['test_cycle_l1']:.4f}, SSIM {m['test_cycle_ssim']:.3f}. Wall {wall / 60:.1f} min.",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="folder with mnist/ (the official IDX files)")
    parser.add_argument("--gan-epochs", type=int, default=5)
    parser.add_argument("--aging-epochs", type=int, default=8)
    parser.add_argument("--gan-set", action="append", default=[], help="override for gan-mnist")
    parser.add_argument("--aging-set", action="append", default=[], help="override for face-aging")
    parser.add_argument("--utkface", help="a UTKFace folder: also age real faces and report the age shift")
    parser.add_argument("--utkface-set", action="append", default=[], help="override for face-aging on UTKFace")
    args = parser.parse_args()

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as store:
        os.chdir(store)  # ./mlruns: a throwaway tracking store and checkpoints
        gan_lines, _ = mnist_gan(args.data_dir, args.gan_epochs, args.gan_set)
        aging_lines, _ = face_aging(args.aging_epochs, args.aging_set)
        if args.utkface:
            aging_lines += face_aging_utkface(args.utkface, args.aging_epochs, args.utkface_set)
    total = time.perf_counter() - started
    header = [
        "# GAN benchmark (issue 8)",
        "",
        f"`python benchmarks/gan.py --data-dir {args.data_dir} --gan-epochs {args.gan_epochs} "
        f"--aging-epochs {args.aging_epochs}`: {total / 60:.1f} min in all on {platform.machine()} with "
        f"{os.cpu_count()} CPU cores **shared with other agents' jobs** (wall times are inflated and noisy; the "
        "quality numbers are not timing-dependent). One run each; seeds fixed.",
        "",
    ]
    text = "\n".join(header + gan_lines + aging_lines)
    (RESULTS / "gan.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
