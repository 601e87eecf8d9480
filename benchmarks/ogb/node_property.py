"""OGB node property prediction (ogbn-arxiv full batch, ogbn-products with neighbour sampling).

ogbn-arxiv follows OGB's examples/nodeproppred/arxiv/gnn.py (GCN or GraphSAGE, 3 layers,
hidden 256, batch norm, dropout 0.5, lr 0.01, 500 epochs, 10 runs); ogbn-products follows
PyG's ogbn_products_sage.py (GraphSAGE, neighbours 15-10-5, batch 1024, lr 0.003, 20 epochs).

    python benchmarks/ogb/node_property.py ogbn-arxiv --model gcn --root data

Mini-batch training (--num-neighbors, the default on ogbn-products) also runs on several
processes with DistributedDataParallel, each sampling its own shard of the training seeds:

    torchrun --nproc_per_node 4 benchmarks/ogb/node_property.py ogbn-products --root data
"""
import argparse

from pyg_ext import distributed
from pyg_ext.malloc import apply_malloc_option
from pyg_ext.ogb import node_property
from pyg_ext.ogb.options import add_arguments


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args()
    apply_malloc_option(args)
    results = node_property.run(args)
    if distributed.is_main_process():  # the group ended inside run()
        print(f"{args.dataset} {args.model}: test {results['summary']['test_text']} "
              f"(valid {results['summary']['valid_text']}, {results['summary']['metric']})")


if __name__ == '__main__':
    main()
