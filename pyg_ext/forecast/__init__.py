"""``pyg-ext forecast``: train, evaluate and compare spatio-temporal forecasters.

Modules: :mod:`~pyg_ext.forecast.arguments` (the command line, importable without torch, so
that ``pyg-ext --help`` stays fast), :mod:`~pyg_ext.forecast.command` (the run, top to
bottom), :mod:`~pyg_ext.forecast.trainer` (:class:`Trainer`),
:mod:`~pyg_ext.forecast.horizon_metrics` (:class:`HorizonMetrics`),
:mod:`~pyg_ext.forecast.evaluation` (the loss, :func:`evaluate_windows`),
:mod:`~pyg_ext.forecast.models` and :mod:`~pyg_ext.forecast.datasets` (the registries by
name), :mod:`~pyg_ext.forecast.report`, :mod:`~pyg_ext.forecast.plots`,
:mod:`~pyg_ext.forecast.checkpoint`; the ``torchrun`` helpers are in
:mod:`~pyg_ext.distributed`.

Nothing is re-exported here: importing this package must not import torch (the ``pyg-ext``
command line builds every subcommand's parser on start).
"""
