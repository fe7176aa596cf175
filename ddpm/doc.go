// Package ddpm implements denoising diffusion probabilistic models (Ho et al. 2020):
// noise schedules, the forward (noising) process and its training loss, and the
// reverse process with its samplers: DDPM's ancestral steps, DDIM (Song et al.
// 2021) and DPM-Solver++ 2M, 3M and SDE-2M (Lu et al. 2022). On top of them:
// classifier-free guidance (Guided), inpainting (Inpaint) and SDEdit-style
// editing of a drawn digit (NewEditProcess).
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
