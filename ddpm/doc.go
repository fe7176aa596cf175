// Package ddpm implements denoising diffusion probabilistic models (Ho et al. 2020)
// and the DDIM sampler (Song et al. 2021): noise schedules, the forward (noising)
// process and its training loss, and reverse-process step functions.
//
// The package follows the diffusers split of scheduler / model / pipeline: a
// Sampler only sees images and the noise a network predicted for them, never the
// network itself. The network lives in ddpm/unet, its kernels in ddpm/nn, weights
// I/O in ddpm/safetensors and MNIST loading in ddpm/mnist.
//
// Timesteps are code indices t = 0..T-1 for the paper's steps 1..T.
// Nothing here uses syscall/js or cgo: it builds and is tested natively and
// under GOOS=js GOARCH=wasm.
package ddpm
