#include "textflag.h"

// func siluAVX2(x, y, sig *float32, n int, c *[16][8]uint32)
// For n (a positive multiple of 8) values: sig = σ(x) = 1/(1+expf(−x)) and
// y = x·sig, with the same operations in the same order as expf and sigmoid
// in expf.go (no FMA), so the results are those of the scalar code bit for
// bit. c holds each constant 8 times (siluConsts).
TEXT ·siluAVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ sig+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ c+32(FP), AX
	VMOVUPS 0(AX), Y8    // log2e
	VMOVUPS 32(AX), Y9   // magic, 1.5·2²³
	VMOVUPS 64(AX), Y10  // ln2hi
	VMOVUPS 96(AX), Y11  // ln2lo
	VMOVUPS 128(AX), Y12 // 1
	VMOVUPS 160(AX), Y13 // 88.7: above, expf is +Inf
	VMOVUPS 192(AX), Y14 // −87.3: below, expf is 0
	VMOVUPS 224(AX), Y15 // sign bit

loop:
	VMOVUPS (SI), Y0     // v
	VXORPS Y15, Y0, Y1   // x = −v
	VMULPS Y8, Y1, Y2
	VADDPS Y9, Y2, Y2    // t = x·log2e + magic
	VPSUBD Y9, Y2, Y3    // k = bits(t) − bits(magic)
	VSUBPS Y9, Y2, Y2    // n = t − magic
	VMULPS Y10, Y2, Y4
	VSUBPS Y4, Y1, Y4    // x − n·ln2hi
	VMULPS Y11, Y2, Y5
	VSUBPS Y5, Y4, Y4    // r = x − n·ln2hi − n·ln2lo
	VMULPS 256(AX), Y4, Y5
	VADDPS 288(AX), Y5, Y5 // 1/720 + r/5040
	VMULPS Y4, Y5, Y5
	VADDPS 320(AX), Y5, Y5 // 1/120 + r·(…)
	VMULPS Y4, Y5, Y5
	VADDPS 352(AX), Y5, Y5 // 1/24 + r·(…)
	VMULPS Y4, Y5, Y5
	VADDPS 384(AX), Y5, Y5 // 1/6 + r·(…)
	VMULPS Y4, Y5, Y5
	VADDPS 416(AX), Y5, Y5 // 1/2 + r·(…)
	VMULPS Y4, Y5, Y5
	VADDPS Y12, Y5, Y5     // 1 + r·(…)
	VMULPS Y4, Y5, Y5
	VADDPS Y12, Y5, Y5     // p = 1 + r·(…)
	VPSRLD $31, Y3, Y6
	VPADDD Y3, Y6, Y6
	VPSRAD $1, Y6, Y6      // k1 = k/2, truncated like Go's
	VPSUBD Y6, Y3, Y7      // k − k1
	VPADDD 448(AX), Y6, Y6
	VPSLLD $23, Y6, Y6     // 2^k1
	VPADDD 448(AX), Y7, Y7
	VPSLLD $23, Y7, Y7     // 2^(k−k1)
	VMULPS Y6, Y5, Y5
	VMULPS Y7, Y5, Y5      // e = p·2^k1·2^(k−k1)
	VCMPPS $0x1e, Y13, Y1, Y6 // x > 88.7
	VBLENDVPS Y6, 480(AX), Y5, Y5
	VCMPPS $0x11, Y14, Y1, Y6 // x < −87.3
	VANDNPS Y5, Y6, Y5
	VADDPS Y12, Y5, Y5
	VDIVPS Y5, Y12, Y5     // s = 1/(1+e)
	VMOVUPS Y5, (DX)
	VMULPS Y5, Y0, Y0      // y = v·s
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, DX
	SUBQ $8, CX
	JNZ loop
	VZEROUPPER
	RET

// func siluBackwardAVX2(dx, dy, x, sig *float32, n int, one *[8]uint32)
// dx = (dy·σ)·(1 + x·(1 − σ)) for n (a positive multiple of 8) values, in
// SiLUBackward's order, so the same bits.
TEXT ·siluBackwardAVX2(SB), NOSPLIT, $0-48
	MOVQ dx+0(FP), DI
	MOVQ dy+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ sig+24(FP), BX
	MOVQ n+32(FP), CX
	MOVQ one+40(FP), AX
	VMOVUPS (AX), Y8

bloop:
	VMOVUPS (BX), Y0     // s
	VSUBPS Y0, Y8, Y1    // 1 − s
	VMULPS (DX), Y1, Y1  // x·(1 − s)
	VADDPS Y8, Y1, Y1    // 1 + x·(1 − s)
	VMULPS (SI), Y0, Y0  // dy·s
	VMULPS Y1, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, BX
	SUBQ $8, CX
	JNZ bloop
	VZEROUPPER
	RET

// func addAVX2(y, a, b *float32, n int)
// y = a + b for n (a positive multiple of 8) values.
TEXT ·addAVX2(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX

aloop:
	VMOVUPS (SI), Y0
	VADDPS (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	SUBQ $8, CX
	JNZ aloop
	VZEROUPPER
	RET
