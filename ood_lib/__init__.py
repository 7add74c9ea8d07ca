"""ood_lib: the small shared library behind the ood-textbook chapters, laid out like the book.

Packages, lowest first; a package imports only from packages below it (``tests/test_layout.py``):

- ``settings``: where files live (``paths``), which device (``device``), the compute profiles
  smoke/quick/full with every size and budget (``profiles``). Every chapter.
- ``data``: registry, verified downloads, parsers, loaders, dequantization, pixel interventions.
  Chapter 00 and every chapter after it.
- ``models``: the density models: ``flows`` (Glow and its layers, chapters 02-03), ``pixelcnn``,
  ``vae``, ``pixel_models`` (per-pixel baselines, chapter 01), ``bpd`` (bits per dimension).
- ``training``: the engine (``engine.train``), run identity, distributed training, the trained-model
  zoo, model files and archives, the ``train_model`` command line, outlier exposure and perturbed
  inputs. Chapter 03 and every chapter that loads a trained model.
- ``analysis``: Jacobians (chapters 02, 05), the log-likelihood's terms (05-07), second-order
  predictions and the closed-form CV-Glow curvature (06-07), image statistics (00, 06-08).
- ``ood``: scoring data sets, metrics and bootstrap intervals (chapter 04 on), typicality,
  ensembles/WAIC, likelihood ratio and input complexity (chapter 08).
- ``book``: chapter plumbing: the header and footer cells, plots, pinned findings.

``analysis``, ``ood`` and ``training`` are siblings: none imports another.
"""

__version__ = "0.1.0"
