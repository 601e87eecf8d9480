"""OGB link property prediction (ogbl-ddi, ogbl-collab).

Follows OGB's examples/linkproppred/ddi/gnn.py (learnable node embeddings, GCN or GraphSAGE,
2 layers, hidden 256, dropout 0.5, lr 0.005, batch 64*1024, 200 epochs, evaluation every 5,
10 runs, Hits@20) and collab/gnn.py (node features, 3 layers, dropout 0, lr 0.001, Hits@50),
with OGB's link predictor (an MLP on h_i * h_j) and ogb's Evaluator.

    python benchmarks/ogb/link_property.py ogbl-ddi --model sage --root data
"""
import argparse

from pyg_ext.malloc import apply_malloc_option
from pyg_ext.ogb import link_property
from pyg_ext.ogb.options import add_arguments


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args()
    apply_malloc_option(args)
    results = link_property.run(args)
    print(f"{args.dataset} {args.model}: test {results['summary']['test_text']} "
          f"(valid {results['summary']['valid_text']}, {results['summary']['metric']})")


if __name__ == '__main__':
    main()
