"""Human activity recognition from accelerometer and gyroscope sequences with recurrent networks.

What it teaches: sequences as input, LSTM/GRU layers, masking of padded timesteps, standardisation, and
per-class evaluation. Datasets: ``basicmotions`` (a smartwatch, 4 activities) and ``uci_har`` (a phone at the
waist, 6 activities); ``sequences`` holds what they share; ``task`` and ``wrapper`` train and serve them with the
core's ``rnn`` builder.
"""

from keraslab.registry import Components

COMPONENTS = Components(
    datasets={"basicmotions": f"{__name__}.basicmotions", "uci_har": f"{__name__}.uci_har"},
    tasks={"activity": f"{__name__}.task"},
    wrappers={"activity": f"{__name__}.wrapper"},
)
