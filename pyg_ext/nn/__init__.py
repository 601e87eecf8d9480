"""Graph layers built from the shared blocks, and the models composed from them."""
from pyg_ext.nn import autoencoder, conv, models, recurrent, temporal

__all__ = ['autoencoder', 'conv', 'models', 'recurrent', 'temporal']
