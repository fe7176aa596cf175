package nn

import "math"

// expf is a float32 exp accurate to a few ulp: e^x = 2^n·e^r with
// |r| ≤ ln2/2 and a degree-7 Taylor polynomial for e^r. It is several times
// faster than math.Exp, which dominated SiLU and softmax.
func expf(x float32) float32 {
	switch {
	case x > 88.7:
		return float32(math.Inf(1))
	case x < -87.3:
		return 0
	case x != x:
		return x
	}
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693145751953125 // ln 2 split so that n·ln2hi is exact
		ln2lo = 1.42860682030941723212e-6
	)
	// Adding 1.5·2²³ rounds x·log₂e to an integer held in the low mantissa bits.
	const magic = 12582912
	// Every product is rounded on its own (the float32 conversions forbid
	// fused multiply-adds), so the AVX2 SiLU (silu_amd64.s) gives the same
	// bits on every GOAMD64 level.
	t := float32(x*log2e) + magic
	k := int32(math.Float32bits(t)) - int32(math.Float32bits(magic))
	n := t - magic
	r := x - float32(n*ln2hi) - float32(n*ln2lo)
	p := float32(r * (1.0 / 5040)) // Horner: p = 1 + r·(1 + r·(1/2 + … + r/5040))
	p = float32(r * (1.0/720 + p))
	p = float32(r * (1.0/120 + p))
	p = float32(r * (1.0/24 + p))
	p = float32(r * (1.0/6 + p))
	p = float32(r * (1.0/2 + p))
	p = float32(r * (1 + p))
	p = 1 + p
	// 2^k as two factors keeps each exponent field in range at both ends.
	k1 := k / 2
	return p * math.Float32frombits(uint32(k1+127)<<23) * math.Float32frombits(uint32(k-k1+127)<<23)
}

func sigmoid(x float32) float32 { return 1 / (1 + expf(-x)) }
