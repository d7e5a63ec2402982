"""GANs of the course: the basic GAN on MNIST (DCGAN, k discriminator steps per generator step) and the
photo-aging CycleGAN (young <-> old), with procedural faces, face crop/paste and the metrics that judge them."""
