"""The transformer language model project: tokenizers, KV-cached decoding, the ``generate`` command."""
