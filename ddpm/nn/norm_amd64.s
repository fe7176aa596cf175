#include "textflag.h"

// HSUMPD sums the four float64 lanes of y (whose low half is x) into X0,
// using X1.
#define HSUMPD(y, x) \
	VEXTRACTF128 $1, y, X1; \
	VADDPD X1, x, X0; \
	VUNPCKHPD X0, X0, X1; \
	VADDSD X1, X0, X0

// The GroupNorm helpers of norm_amd64.go. Each takes n, a positive
// multiple of its block (16 or 8 floats); sums run in float64.

// func sumAVX2(x *float32, n int) float64
TEXT ·sumAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3

sumloop:
	VCVTPS2PD (SI), Y4
	VCVTPS2PD 16(SI), Y5
	VCVTPS2PD 32(SI), Y6
	VCVTPS2PD 48(SI), Y7
	VADDPD Y4, Y0, Y0
	VADDPD Y5, Y1, Y1
	VADDPD Y6, Y2, Y2
	VADDPD Y7, Y3, Y3
	ADDQ $64, SI
	SUBQ $16, CX
	JNZ sumloop
	VADDPD Y1, Y0, Y0
	VADDPD Y3, Y2, Y2
	VADDPD Y2, Y0, Y0
	HSUMPD(Y0, X0)
	VZEROUPPER
	MOVSD X0, ret+16(FP)
	RET

// func sumSqDevAVX2(x *float32, n int, mu float64) float64
TEXT ·sumSqDevAVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSD mu+16(FP), Y8
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3

sqloop:
	VCVTPS2PD (SI), Y4
	VCVTPS2PD 16(SI), Y5
	VCVTPS2PD 32(SI), Y6
	VCVTPS2PD 48(SI), Y7
	VSUBPD Y8, Y4, Y4
	VSUBPD Y8, Y5, Y5
	VSUBPD Y8, Y6, Y6
	VSUBPD Y8, Y7, Y7
	VFMADD231PD Y4, Y4, Y0
	VFMADD231PD Y5, Y5, Y1
	VFMADD231PD Y6, Y6, Y2
	VFMADD231PD Y7, Y7, Y3
	ADDQ $64, SI
	SUBQ $16, CX
	JNZ sqloop
	VADDPD Y1, Y0, Y0
	VADDPD Y3, Y2, Y2
	VADDPD Y2, Y0, Y0
	HSUMPD(Y0, X0)
	VZEROUPPER
	MOVSD X0, ret+24(FP)
	RET

// func affineAVX2(y, x *float32, n int, a, b float32)
// y = x·a + b, 8 floats a step.
TEXT ·affineAVX2(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS a+24(FP), Y1
	VBROADCASTSS b+28(FP), Y2

affloop:
	VMOVUPS (SI), Y0
	VFMADD213PS Y2, Y1, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ affloop
	VZEROUPPER
	RET

// func normGradSumsAVX2(dy, x *float32, n int, gm, mu, r float32) (gx, gs float64)
// gx = Σ g·(x − mu)·r and gs = Σ g with g = dy·gm, 8 floats a step.
TEXT ·normGradSumsAVX2(SB), NOSPLIT, $0-56
	MOVQ dy+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ n+16(FP), CX
	VBROADCASTSS gm+24(FP), Y8
	VBROADCASTSS mu+28(FP), Y9
	VBROADCASTSS r+32(FP), Y10
	VXORPD Y12, Y12, Y12
	VXORPD Y13, Y13, Y13
	VXORPD Y14, Y14, Y14
	VXORPD Y15, Y15, Y15

gsloop:
	VMULPS (SI), Y8, Y0    // g
	VMOVUPS (DI), Y1
	VSUBPS Y9, Y1, Y1
	VMULPS Y0, Y1, Y1
	VMULPS Y10, Y1, Y1     // g·(x − mu)·r
	VCVTPS2PD X1, Y2
	VEXTRACTF128 $1, Y1, X3
	VCVTPS2PD X3, Y3
	VADDPD Y2, Y12, Y12
	VADDPD Y3, Y13, Y13
	VCVTPS2PD X0, Y4
	VEXTRACTF128 $1, Y0, X5
	VCVTPS2PD X5, Y5
	VADDPD Y4, Y14, Y14
	VADDPD Y5, Y15, Y15
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ gsloop
	VADDPD Y13, Y12, Y12
	HSUMPD(Y12, X12)
	MOVSD X0, gx+40(FP)
	VADDPD Y15, Y14, Y14
	HSUMPD(Y14, X14)
	MOVSD X0, gs+48(FP)
	VZEROUPPER
	RET

// func normDxAVX2(dx, dy, x *float32, n int, gm, mu, r, m1, m2 float32)
// dx = r·(dy·gm − m1 − (x − mu)·r·m2), 8 floats a step.
TEXT ·normDxAVX2(SB), NOSPLIT, $0-52
	MOVQ dx+0(FP), DX
	MOVQ dy+8(FP), SI
	MOVQ x+16(FP), DI
	MOVQ n+24(FP), CX
	VBROADCASTSS gm+32(FP), Y8
	VBROADCASTSS mu+36(FP), Y9
	VBROADCASTSS r+40(FP), Y10
	VBROADCASTSS m1+44(FP), Y11
	VBROADCASTSS m2+48(FP), Y12

dxloop:
	VMULPS (SI), Y8, Y0
	VSUBPS Y11, Y0, Y0     // dy·gm − m1
	VMOVUPS (DI), Y1
	VSUBPS Y9, Y1, Y1
	VMULPS Y10, Y1, Y1     // x̂
	VFNMADD231PS Y12, Y1, Y0 // − x̂·m2
	VMULPS Y10, Y0, Y0
	VMOVUPS Y0, (DX)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, DX
	SUBQ $8, CX
	JNZ dxloop
	VZEROUPPER
	RET
