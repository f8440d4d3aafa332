"""Make a small synthetic classification set in mmpretrain's ImageNet layout
(see mmattn/datasets/synthetic/synthetic_imagenet.py).

    python tools/misc/make_synthetic_imagenet.py data/synthetic_imagenet
"""
import argparse

from mmattn.datasets.synthetic import make_synthetic_imagenet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir')
    parser.add_argument('--num-classes', type=int, default=6, help='2..6, one texture each')
    parser.add_argument('--train-per-class', type=int, default=100)
    parser.add_argument('--val-per-class', type=int, default=25)
    parser.add_argument('--image-size', type=int, default=64)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    paths = make_synthetic_imagenet(args.out_dir, num_classes=args.num_classes,
                                    train_per_class=args.train_per_class,
                                    val_per_class=args.val_per_class,
                                    image_size=args.image_size, seed=args.seed)
    for split, path in paths.items():
        print(f'{split}: {path}')


if __name__ == '__main__':
    main()
