"""Make the synthetic COCO-format shapes dataset (see mmattn/datasets/synthetic/synthetic_coco.py).

    python tools/misc/make_synthetic_coco.py data/synthetic_coco --num-train 400 --num-val 100
    # COCO 2017's file names and 80 categories, for the COCO configs as they are:
    python tools/misc/make_synthetic_coco.py data/coco --layout coco
"""
import argparse

from mmattn.datasets.synthetic import make_synthetic_coco


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir')
    parser.add_argument('--num-train', type=int, default=400)
    parser.add_argument('--num-val', type=int, default=100)
    parser.add_argument('--image-size', type=int, default=128)
    parser.add_argument('--max-objects', type=int, default=4)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--layout', choices=('synthetic', 'coco'), default='synthetic',
                        help="'coco': COCO 2017's file names and 80 categories (the shapes "
                             'are labelled book, kite, sports ball, frisbee)')
    args = parser.parse_args()
    paths = make_synthetic_coco(args.out_dir, num_train=args.num_train, num_val=args.num_val,
                                image_size=args.image_size, max_objects=args.max_objects,
                                seed=args.seed, layout=args.layout)
    for split, path in paths.items():
        print(f'{split}: {path}')


if __name__ == '__main__':
    main()
