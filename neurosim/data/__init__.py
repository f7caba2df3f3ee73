"""Data set readers: mnist5k, IDX (MNIST, Fashion-MNIST), digits, CIFAR-10, HIGGS."""
