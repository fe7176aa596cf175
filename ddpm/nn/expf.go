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
	t := x*log2e + magic
	k := int32(math.Float32bits(t)) - int32(math.Float32bits(magic))
	n := t - magic
	r := x - n*ln2hi - n*ln2lo
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720+r*(1.0/5040)))))))
	// 2^k as two factors keeps each exponent field in range at both ends.
	k1 := k / 2
	return p * math.Float32frombits(uint32(k1+127)<<23) * math.Float32frombits(uint32(k-k1+127)<<23)
}

func sigmoid(x float32) float32 { return 1 / (1 + expf(-x)) }
