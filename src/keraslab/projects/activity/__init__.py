"""Human activity recognition from accelerometer and gyroscope sequences with recurrent networks.

What it teaches: sequences as input, LSTM/GRU layers, masking of padded timesteps, standardisation, and
per-class evaluation. Datasets: ``basicmotions`` (a smartwatch, 4 activities), ``uci_har`` (a phone at the
waist, 6 activities, preprocessed signals) and ``hapt`` (the same phone's raw recordings, 6 or 12 classes);
``sequences`` holds what they share; ``task`` and ``wrapper`` train and serve them with the
core's ``rnn`` builder.
"""

from keraslab.registry import Components

COMPONENTS = Components(
    datasets={
        "basicmotions": f"{__name__}.basicmotions",
        "hapt": f"{__name__}.hapt",
        "uci_har": f"{__name__}.uci_har",
    },
    tasks={"activity": f"{__name__}.task"},
    wrappers={"activity": f"{__name__}.wrapper"},
)
