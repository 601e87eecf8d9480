"""Datasets in their published layouts, windowing, splits, scalers, covariates and metrics."""
from pyg_ext.data.covariates import day_of_week, time_covariates, time_of_day, time_slot
from pyg_ext.data.custom_dataset import load_custom
from pyg_ext.data.dcrnn_datasets import (
    DCRNN_FILES,
    load_dcrnn_dataset,
    load_metr_la,
    load_pems_bay,
    read_dcrnn_graph,
)
from pyg_ext.data.graph import dense_to_edges, edges_from_distances, gaussian_kernel_weights
from pyg_ext.data.metrics import accuracy, masked_mae, masked_mape, masked_rmse
from pyg_ext.data.min_max_scaler import MinMaxScaler
from pyg_ext.data.pems_datasets import load_pems, read_pems_graph
from pyg_ext.data.pyg_temporal_datasets import (
    load_chickenpox,
    load_england_covid,
    load_pedalme_london,
)
from pyg_ext.data.spatiotemporal_series import SpatioTemporalSeries
from pyg_ext.data.splits import chronological_split, forecasting_windows
from pyg_ext.data.standard_scaler import StandardScaler
from pyg_ext.data.tgcn_datasets import build_los_loop_builtin, load_los_loop, load_sz_taxi
from pyg_ext.data.window_dataset import WindowDataset

__all__ = [
    'SpatioTemporalSeries',
    'WindowDataset',
    'StandardScaler',
    'MinMaxScaler',
    'chronological_split',
    'forecasting_windows',
    'DCRNN_FILES',
    'load_dcrnn_dataset',
    'load_metr_la',
    'load_pems_bay',
    'read_dcrnn_graph',
    'load_pems',
    'read_pems_graph',
    'load_los_loop',
    'load_sz_taxi',
    'build_los_loop_builtin',
    'load_chickenpox',
    'load_pedalme_london',
    'load_england_covid',
    'load_custom',
    'masked_mae',
    'masked_rmse',
    'masked_mape',
    'accuracy',
    'time_of_day',
    'day_of_week',
    'time_slot',
    'time_covariates',
    'dense_to_edges',
    'gaussian_kernel_weights',
    'edges_from_distances',
]
