"""Training the models and keeping the trained ones.

- ``engine``: ``train()``, the training loop every model of the book goes through (chapter 03 explains
  it; solutions 03 and 06 call it), with ``compiled_step`` (the optional compiled loss),
  ``distributed`` (DDP), ``run_config`` (what identifies a run, so a checkpoint resumes only its own),
  ``schedule`` (the learning rate) and ``errors`` (divergence, a foreign checkpoint).
- ``zoo``: ``zoo.get(...)``, the trained-model cache every chapter from 02 on loads its models
  from, with ``variant`` (``zoo.Variant``: how a model departs from the plain one), ``zoo_models``
  (the model builders), ``model_files`` (data-only model files and
  checkpoints), ``model_archive`` (pack and unpack the trained models) and ``lock`` (one trainer
  per model across processes).
- ``train_model``: ``python -m ood_lib.training.train_model MODEL DATA ...``, one zoo model from the shell.
- ``outlier_exposure``, ``perturbation``: the training variants of chapter 08 (outlier exposure,
  likelihood-ratio background models).

Nothing is imported here, so that ``python -m ood_lib.training.model_files`` (and every other module
run as a command) starts from a package that has not imported it yet: use ``from ood_lib.training
import zoo`` and ``from ood_lib.training.engine import train``.
"""
