"""ood_lib: the small shared library behind the ood-textbook chapters.

Modules: ``data`` (registry, download, parse, load), ``profile`` (compute
profiles and chapter header/footer), ``device``, ``flows`` (Glow and its
layers), ``train`` (training engine), ``zoo`` (trained-model cache).
"""

__version__ = "0.1.0"
