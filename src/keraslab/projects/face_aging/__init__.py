"""Photo aging: a CycleGAN that turns young faces old and back, trained on unpaired faces.

What it teaches: unpaired image-to-image translation, cycle-consistency and identity losses, PatchGAN critics,
and measuring a generative model in the units that matter (years of age, identity kept, realism). ``data`` reads
faces (UTKFace, folders, CelebA or ``procedural`` ones), ``cyclegan`` and ``builder`` define the model, ``age`` is
the age regressor that measures it, ``photo`` finds, crops and pastes faces, ``task``, ``wrapper`` and
``commands`` (``keraslab age``) train, serve and apply it.
"""

from keraslab.registry import Components

COMPONENTS = Components(
    datasets={"faces": f"{__name__}.data"},
    builders={"cyclegan": f"{__name__}.builder"},
    tasks={"image_translation": f"{__name__}.task"},
    wrappers={"image_translation": f"{__name__}.wrapper"},
    commands=(f"{__name__}.commands",),
)
