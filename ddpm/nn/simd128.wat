;; WebAssembly SIMD kernels for the browser build (GOOS=js GOARCH=wasm).
;;
;; Go's WebAssembly port has no SIMD and no assembler for it, so the hot loops
;; of the network in the browser (convolutions, the attention's products and
;; softmax, SiLU, GroupNorm) live here, in hand-written WebAssembly with
;; 128-bit vectors. simd_js.go instantiates this module with its own memory,
;; copies the operands in, calls it and copies the result out.
;;
;; Build: go generate ./ddpm/nn (runs wat2wasm from the wabt npm package);
;; TestSIMDModuleUpToDate checks that simd128.wasm matches this file.
(module
  (memory (export "mem") 1)

  ;; gemmInd computes, for each of nimg images,
  ;;
  ;;   C[i, j] = Σ_p A[i, p] · B[offs[p] + j],   0 ≤ i < m, 0 ≤ j < n,
  ;;
  ;; the indirect GEMM of conv.go's directConv: row p of the column matrix is
  ;; the image read from offset offs[p]. A is packed in panels of 4 rows,
  ;; k-major (4 values per step, as packA with mr = 4 lays it out); m is a
  ;; multiple of 4 and n of 8. offs holds byte offsets. Image g reads B from
  ;; b + g·bstride and writes its m×n row-major C at c + g·cstride. All other
  ;; arguments are byte addresses too.
  ;;
  ;; Each 4×8 tile keeps eight f32x4 accumulators and sums over p in order,
  ;; with a separate multiply and add like Go's portable kernel, so the
  ;; results are the same bits.
  (func (export "gemmInd")
    (param $k i32) (param $a i32) (param $m i32) (param $offs i32)
    (param $b i32) (param $n i32) (param $c i32)
    (param $nimg i32) (param $bstride i32) (param $cstride i32)
    (local $g i32) (local $ir i32) (local $jr i32)
    (local $ap i32) (local $op i32) (local $oend i32) (local $bp i32) (local $cp i32)
    (local $bimg i32) (local $bbase i32) (local $cimg i32) (local $ldc i32) (local $panel i32)
    (local $b0 v128) (local $b1 v128) (local $av v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)

    (if (i32.or (i32.le_s (local.get $k) (i32.const 0)) (i32.le_s (local.get $nimg) (i32.const 0)))
      (then (return)))
    (local.set $ldc (i32.shl (local.get $n) (i32.const 2)))     ;; bytes per row of C
    (local.set $panel (i32.shl (local.get $k) (i32.const 4)))   ;; bytes per 4-row panel of A
    (local.set $oend (i32.add (local.get $offs) (i32.shl (local.get $k) (i32.const 2))))

    (local.set $g (i32.const 0))
    (loop $images
      (local.set $bimg (i32.add (local.get $b) (i32.mul (local.get $g) (local.get $bstride))))
      (local.set $cimg (i32.add (local.get $c) (i32.mul (local.get $g) (local.get $cstride))))
      (local.set $ir (i32.const 0))
      (loop $rows
        (local.set $jr (i32.const 0))
        (loop $cols
          (local.set $c00 (v128.const i32x4 0 0 0 0))
          (local.set $c01 (v128.const i32x4 0 0 0 0))
          (local.set $c10 (v128.const i32x4 0 0 0 0))
          (local.set $c11 (v128.const i32x4 0 0 0 0))
          (local.set $c20 (v128.const i32x4 0 0 0 0))
          (local.set $c21 (v128.const i32x4 0 0 0 0))
          (local.set $c30 (v128.const i32x4 0 0 0 0))
          (local.set $c31 (v128.const i32x4 0 0 0 0))
          ;; A panel of rows ir..ir+3; B columns jr..jr+7 of this image.
          (local.set $ap (i32.add (local.get $a) (i32.mul (i32.shr_u (local.get $ir) (i32.const 2)) (local.get $panel))))
          (local.set $op (local.get $offs))
          (local.set $bbase (i32.add (local.get $bimg) (i32.shl (local.get $jr) (i32.const 2))))
          (loop $steps
            (local.set $bp (i32.add (local.get $bbase) (i32.load (local.get $op))))
            (local.set $b0 (v128.load align=4 (local.get $bp)))
            (local.set $b1 (v128.load offset=16 align=4 (local.get $bp)))
            (local.set $av (v128.load32_splat (local.get $ap)))
            (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $av) (local.get $b0))))
            (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $av) (local.get $b1))))
            (local.set $av (v128.load32_splat offset=4 (local.get $ap)))
            (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $av) (local.get $b0))))
            (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $av) (local.get $b1))))
            (local.set $av (v128.load32_splat offset=8 (local.get $ap)))
            (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $av) (local.get $b0))))
            (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $av) (local.get $b1))))
            (local.set $av (v128.load32_splat offset=12 (local.get $ap)))
            (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $av) (local.get $b0))))
            (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $av) (local.get $b1))))
            (local.set $ap (i32.add (local.get $ap) (i32.const 16)))
            (local.set $op (i32.add (local.get $op) (i32.const 4)))
            (br_if $steps (i32.lt_u (local.get $op) (local.get $oend))))
          ;; Store the tile: row i at cimg + (ir+i)·ldc + jr·4.
          (local.set $cp (i32.add (local.get $cimg)
            (i32.add (i32.mul (local.get $ir) (local.get $ldc)) (i32.shl (local.get $jr) (i32.const 2)))))
          (v128.store align=4 (local.get $cp) (local.get $c00))
          (v128.store offset=16 align=4 (local.get $cp) (local.get $c01))
          (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))
          (v128.store align=4 (local.get $cp) (local.get $c10))
          (v128.store offset=16 align=4 (local.get $cp) (local.get $c11))
          (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))
          (v128.store align=4 (local.get $cp) (local.get $c20))
          (v128.store offset=16 align=4 (local.get $cp) (local.get $c21))
          (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))
          (v128.store align=4 (local.get $cp) (local.get $c30))
          (v128.store offset=16 align=4 (local.get $cp) (local.get $c31))
          (local.set $jr (i32.add (local.get $jr) (i32.const 8)))
          (br_if $cols (i32.lt_s (local.get $jr) (local.get $n))))
        (local.set $ir (i32.add (local.get $ir) (i32.const 4)))
        (br_if $rows (i32.lt_s (local.get $ir) (local.get $m))))
      (local.set $g (i32.add (local.get $g) (i32.const 1)))
      (br_if $images (i32.lt_s (local.get $g) (local.get $nimg))))
  )

;; pad copies nimg images of cin planes h×w (contiguous at src) into dst
  ;; zero-padded: image i at dst + i·imgBytes, plane c at + c·hp·wp floats
  ;; (hp = h + 2·pad, wp = w + 2·pad); the rest of each image is zeroed.
  (func (export "pad") (param $src i32) (param $dst i32) (param $nimg i32) (param $cin i32)
    (param $h i32) (param $w i32) (param $pad i32) (param $imgBytes i32)
    (local $wp i32) (local $planeBytes i32) (local $rowBytes i32) (local $i i32) (local $c i32) (local $y i32)
    (local $plane i32)
    (if (i32.or (i32.le_s (local.get $nimg) (i32.const 0)) (i32.le_s (local.get $cin) (i32.const 0)))
      (then (return)))
    (memory.fill (local.get $dst) (i32.const 0) (i32.mul (local.get $nimg) (local.get $imgBytes)))
    (local.set $wp (i32.add (local.get $w) (i32.shl (local.get $pad) (i32.const 1))))
    (local.set $planeBytes (i32.shl (i32.mul (i32.add (local.get $h) (i32.shl (local.get $pad) (i32.const 1))) (local.get $wp))
                                    (i32.const 2)))
    (local.set $rowBytes (i32.shl (local.get $w) (i32.const 2)))
    (local.set $i (i32.const 0))
    (loop $images
      (local.set $c (i32.const 0))
      (loop $planes
        ;; the first pixel of plane c's first padded row
        (local.set $plane (i32.add (i32.add (local.get $dst) (i32.mul (local.get $i) (local.get $imgBytes)))
          (i32.add (i32.mul (local.get $c) (local.get $planeBytes))
                   (i32.shl (i32.add (i32.mul (local.get $pad) (local.get $wp)) (local.get $pad)) (i32.const 2)))))
        (local.set $y (i32.const 0))
        (loop $rows
          (memory.copy (local.get $plane) (local.get $src) (local.get $rowBytes))
          (local.set $src (i32.add (local.get $src) (local.get $rowBytes)))
          (local.set $plane (i32.add (local.get $plane) (i32.shl (local.get $wp) (i32.const 2))))
          (local.set $y (i32.add (local.get $y) (i32.const 1)))
          (br_if $rows (i32.lt_s (local.get $y) (local.get $h))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br_if $planes (i32.lt_s (local.get $c) (local.get $cin))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $images (i32.lt_s (local.get $i) (local.get $nimg))))
  )

  ;; unpad gathers gemmInd's outputs, plus bias[c], into nimg contiguous
  ;; images of cout planes ho×wo at dst: image i's channel c row oy is wo
  ;; floats from src + i·cBytes + (c·ld + oy·pitch) floats.
  (func (export "unpad") (param $src i32) (param $dst i32) (param $nimg i32) (param $cout i32)
    (param $ho i32) (param $wo i32) (param $pitch i32) (param $ld i32) (param $cBytes i32) (param $bias i32)
    (local $i i32) (local $c i32) (local $y i32) (local $row i32) (local $p i32) (local $q i32) (local $end i32)
    (local $bs f32) (local $bv v128) (local $vecEnd i32)
    (if (i32.or (i32.le_s (local.get $nimg) (i32.const 0)) (i32.le_s (local.get $cout) (i32.const 0)))
      (then (return)))
    (local.set $i (i32.const 0))
    (loop $images
      (local.set $c (i32.const 0))
      (loop $channels
        (local.set $bs (f32.load (i32.add (local.get $bias) (i32.shl (local.get $c) (i32.const 2)))))
        (local.set $bv (f32x4.splat (local.get $bs)))
        (local.set $row (i32.add (i32.add (local.get $src) (i32.mul (local.get $i) (local.get $cBytes)))
                                 (i32.shl (i32.mul (local.get $c) (local.get $ld)) (i32.const 2))))
        (local.set $y (i32.const 0))
        (loop $rows
          (local.set $p (local.get $row))
          (local.set $end (i32.add (local.get $row) (i32.shl (local.get $wo) (i32.const 2))))
          (local.set $vecEnd (i32.add (local.get $row) (i32.shl (i32.and (local.get $wo) (i32.const -4)) (i32.const 2))))
          (block $vecDone
            (loop $vec
              (br_if $vecDone (i32.ge_u (local.get $p) (local.get $vecEnd)))
              (v128.store align=4 (local.get $dst) (f32x4.add (v128.load align=4 (local.get $p)) (local.get $bv)))
              (local.set $p (i32.add (local.get $p) (i32.const 16)))
              (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
              (br $vec)))
          (block $tailDone
            (loop $tail
              (br_if $tailDone (i32.ge_u (local.get $p) (local.get $end)))
              (f32.store (local.get $dst) (f32.add (f32.load (local.get $p)) (local.get $bs)))
              (local.set $p (i32.add (local.get $p) (i32.const 4)))
              (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
              (br $tail)))
          (local.set $row (i32.add (local.get $row) (i32.shl (local.get $pitch) (i32.const 2))))
          (local.set $y (i32.add (local.get $y) (i32.const 1)))
          (br_if $rows (i32.lt_s (local.get $y) (local.get $ho))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br_if $channels (i32.lt_s (local.get $c) (local.get $cout))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $images (i32.lt_s (local.get $i) (local.get $nimg))))
  )

  ;; expArray writes dst[i] = expf(sign·src[i]) for count floats (a multiple
  ;; of 4; dst may be src, sign is 1 or −1): nn.expf (expf.go) on four lanes,
  ;; the same operations in the same order, so each lane is the bits Go
  ;; computes. A loop rather than a function of one vector, so that no engine
  ;; pays a call per vector.
  (func $expArray (param $src i32) (param $dst i32) (param $count i32) (param $sign f32)
    (local $end i32) (local $sv v128)
    (local $x v128) (local $t v128) (local $k v128) (local $n v128) (local $r v128) (local $p v128) (local $k1 v128)
    (if (i32.le_s (local.get $count) (i32.const 0)) (then (return)))
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $count) (i32.const 2))))
    (local.set $sv (f32x4.splat (local.get $sign)))
    (loop $each
      (local.set $x (f32x4.mul (v128.load align=4 (local.get $src)) (local.get $sv)))
      ;; t = x·log₂e + 1.5·2²³; k = bits(t) − bits(1.5·2²³); n = t − 1.5·2²³
      (local.set $t (f32x4.add (f32x4.mul (local.get $x) (f32x4.splat (f32.const 0x1.715476p+00)))
                               (f32x4.splat (f32.const 0x1.8p+23))))
      (local.set $k (i32x4.sub (local.get $t) (i32x4.splat (i32.const 0x4b400000))))
      (local.set $n (f32x4.sub (local.get $t) (f32x4.splat (f32.const 0x1.8p+23))))
      ;; r = x − n·ln2hi − n·ln2lo
      (local.set $r (f32x4.sub
        (f32x4.sub (local.get $x) (f32x4.mul (local.get $n) (f32x4.splat (f32.const 0x1.62e4p-01))))
        (f32x4.mul (local.get $n) (f32x4.splat (f32.const 0x1.7f7d1cp-20)))))
      ;; p = 1 + r(1 + r(1/2 + r(1/6 + r(1/24 + r(1/120 + r(1/720 + r/5040))))))
      (local.set $p (f32x4.add (f32x4.splat (f32.const 0x1.6c16c2p-10))
                               (f32x4.mul (local.get $r) (f32x4.splat (f32.const 0x1.a01a02p-13)))))
      (local.set $p (f32x4.add (f32x4.splat (f32.const 0x1.111112p-07)) (f32x4.mul (local.get $r) (local.get $p))))
      (local.set $p (f32x4.add (f32x4.splat (f32.const 0x1.555556p-05)) (f32x4.mul (local.get $r) (local.get $p))))
      (local.set $p (f32x4.add (f32x4.splat (f32.const 0x1.555556p-03)) (f32x4.mul (local.get $r) (local.get $p))))
      (local.set $p (f32x4.add (f32x4.splat (f32.const 0x1p-01)) (f32x4.mul (local.get $r) (local.get $p))))
      (local.set $p (f32x4.add (f32x4.splat (f32.const 1)) (f32x4.mul (local.get $r) (local.get $p))))
      (local.set $p (f32x4.add (f32x4.splat (f32.const 1)) (f32x4.mul (local.get $r) (local.get $p))))
      ;; 2^k as 2^k1 · 2^(k−k1), k1 = k/2 rounded towards zero like Go's division.
      (local.set $k1 (i32x4.shr_s (i32x4.add (local.get $k) (i32x4.shr_u (local.get $k) (i32.const 31))) (i32.const 1)))
      (local.set $p (f32x4.mul
        (f32x4.mul (local.get $p)
          (i32x4.shl (i32x4.add (local.get $k1) (i32x4.splat (i32.const 127))) (i32.const 23)))
        (i32x4.shl (i32x4.add (i32x4.sub (local.get $k) (local.get $k1)) (i32x4.splat (i32.const 127))) (i32.const 23))))
      ;; x > 88.7 → +Inf, x < −87.3 → 0 (NaN stays NaN on its own).
      (local.set $p (v128.bitselect (f32x4.splat (f32.const inf)) (local.get $p)
        (f32x4.gt (local.get $x) (f32x4.splat (f32.const 0x1.62ccccp+06)))))
      (v128.store align=4 (local.get $dst)
        (v128.and (local.get $p) (v128.not (f32x4.lt (local.get $x) (f32x4.splat (f32.const -0x1.5d3334p+06))))))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (br_if $each (i32.lt_u (local.get $src) (local.get $end))))
  )

  ;; silu writes sig = σ(x) = 1/(1 + expf(−x)) and y = x·σ(x) for n floats,
  ;; n a multiple of 4, as CPU.SiLU does.
  (func (export "silu") (param $x i32) (param $y i32) (param $sig i32) (param $n i32)
    (local $end i32) (local $v v128) (local $s v128)
    (if (i32.le_s (local.get $n) (i32.const 0)) (then (return)))
    (call $expArray (local.get $x) (local.get $sig) (local.get $n) (f32.const -1))
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (loop $each
      (local.set $v (v128.load align=4 (local.get $x)))
      (local.set $s (f32x4.div (f32x4.splat (f32.const 1))
        (f32x4.add (f32x4.splat (f32.const 1)) (v128.load align=4 (local.get $sig)))))
      (v128.store align=4 (local.get $sig) (local.get $s))
      (v128.store align=4 (local.get $y) (f32x4.mul (local.get $v) (local.get $s)))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (local.set $sig (i32.add (local.get $sig) (i32.const 16)))
      (br_if $each (i32.lt_u (local.get $x) (local.get $end))))
  )

  ;; softmaxRows is CPU.SoftmaxRows over rows of d floats (d a multiple of
  ;; 4): y = expf(x − max)/Σ expf(x − max), with the sum in four lanes (so
  ;; the last bits can differ from Go's sequential sum). y may be x.
  (func (export "softmaxRows") (param $x i32) (param $y i32) (param $rows i32) (param $d i32)
    (local $row i32) (local $p i32) (local $q i32) (local $end i32) (local $bytes i32)
    (local $mx v128) (local $sum v128) (local $m f32) (local $inv v128)
    (if (i32.or (i32.le_s (local.get $rows) (i32.const 0)) (i32.le_s (local.get $d) (i32.const 0)))
      (then (return)))
    (local.set $bytes (i32.shl (local.get $d) (i32.const 2)))
    (local.set $row (i32.const 0))
    (loop $rowsLoop
      (local.set $end (i32.add (local.get $x) (local.get $bytes)))
      ;; the row's maximum
      (local.set $mx (v128.load align=4 (local.get $x)))
      (local.set $p (local.get $x))
      (loop $max
        (local.set $mx (f32x4.max (local.get $mx) (v128.load align=4 (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br_if $max (i32.lt_u (local.get $p) (local.get $end))))
      (local.set $m (f32.max (f32.max (f32x4.extract_lane 0 (local.get $mx)) (f32x4.extract_lane 1 (local.get $mx)))
                             (f32.max (f32x4.extract_lane 2 (local.get $mx)) (f32x4.extract_lane 3 (local.get $mx)))))
      (local.set $mx (f32x4.splat (local.get $m)))
      ;; e = expf(x − max) into y, and its sum
      (local.set $p (local.get $x))
      (local.set $q (local.get $y))
      (loop $shift
        (v128.store align=4 (local.get $q) (f32x4.sub (v128.load align=4 (local.get $p)) (local.get $mx)))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (local.set $q (i32.add (local.get $q) (i32.const 16)))
        (br_if $shift (i32.lt_u (local.get $p) (local.get $end))))
      (call $expArray (local.get $y) (local.get $y) (local.get $d) (f32.const 1))
      (local.set $sum (v128.const i32x4 0 0 0 0))
      (local.set $q (local.get $y))
      (local.set $end (i32.add (local.get $y) (local.get $bytes)))
      (loop $add
        (local.set $sum (f32x4.add (local.get $sum) (v128.load align=4 (local.get $q))))
        (local.set $q (i32.add (local.get $q) (i32.const 16)))
        (br_if $add (i32.lt_u (local.get $q) (local.get $end))))
      (local.set $inv (f32x4.splat (f32.div (f32.const 1)
        (f32.add (f32.add (f32x4.extract_lane 0 (local.get $sum)) (f32x4.extract_lane 1 (local.get $sum)))
                 (f32.add (f32x4.extract_lane 2 (local.get $sum)) (f32x4.extract_lane 3 (local.get $sum)))))))
      ;; y *= 1/sum
      (local.set $q (local.get $y))
      (loop $scale
        (v128.store align=4 (local.get $q) (f32x4.mul (v128.load align=4 (local.get $q)) (local.get $inv)))
        (local.set $q (i32.add (local.get $q) (i32.const 16)))
        (br_if $scale (i32.lt_u (local.get $q) (local.get $end))))
      (local.set $x (i32.add (local.get $x) (local.get $bytes)))
      (local.set $y (i32.add (local.get $y) (local.get $bytes)))
      (local.set $row (i32.add (local.get $row) (i32.const 1)))
      (br_if $rowsLoop (i32.lt_s (local.get $row) (local.get $rows))))
  )

  ;; groupNorm is CPU.GroupNorm for count = N·groups groups of per channels of
  ;; size floats each (size a multiple of 4): the mean and variance summed in
  ;; float64 (in two pairs of lanes, so the last bits can differ from Go's
  ;; sequential sums), then y = x·a + b per channel with a = rstd·γ and
  ;; b = β − mean·a. mean and rstd get one float32 per group.
  (func (export "groupNorm")
    (param $x i32) (param $y i32) (param $count i32) (param $groups i32) (param $per i32) (param $size i32)
    (param $gamma i32) (param $beta i32) (param $mean i32) (param $rstd i32) (param $eps f64)
    (local $ng i32) (local $p i32) (local $end i32) (local $ci i32) (local $cend i32) (local $g0 i32)
    (local $v v128) (local $s0 v128) (local $s1 v128) (local $d v128) (local $muv v128)
    (local $mu f64) (local $r f64) (local $gsize f64) (local $av v128) (local $bv v128) (local $a f32)
    (if (i32.le_s (local.get $count) (i32.const 0)) (then (return)))
    (local.set $gsize (f64.convert_i32_s (i32.mul (local.get $per) (local.get $size))))
    (local.set $ng (i32.const 0))
    (loop $groupsLoop
      (local.set $end (i32.add (local.get $x) (i32.shl (i32.mul (local.get $per) (local.get $size)) (i32.const 2))))
      ;; mean
      (local.set $s0 (v128.const i64x2 0 0))
      (local.set $s1 (v128.const i64x2 0 0))
      (local.set $p (local.get $x))
      (loop $sum
        (local.set $v (v128.load align=4 (local.get $p)))
        (local.set $s0 (f64x2.add (local.get $s0) (f64x2.promote_low_f32x4 (local.get $v))))
        (local.set $s1 (f64x2.add (local.get $s1) (f64x2.promote_low_f32x4
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br_if $sum (i32.lt_u (local.get $p) (local.get $end))))
      (local.set $s0 (f64x2.add (local.get $s0) (local.get $s1)))
      (local.set $mu (f64.div (f64.add (f64x2.extract_lane 0 (local.get $s0)) (f64x2.extract_lane 1 (local.get $s0)))
                              (local.get $gsize)))
      ;; variance
      (local.set $muv (f64x2.splat (local.get $mu)))
      (local.set $s0 (v128.const i64x2 0 0))
      (local.set $s1 (v128.const i64x2 0 0))
      (local.set $p (local.get $x))
      (loop $sumsq
        (local.set $v (v128.load align=4 (local.get $p)))
        (local.set $d (f64x2.sub (f64x2.promote_low_f32x4 (local.get $v)) (local.get $muv)))
        (local.set $s0 (f64x2.add (local.get $s0) (f64x2.mul (local.get $d) (local.get $d))))
        (local.set $d (f64x2.sub (f64x2.promote_low_f32x4
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))) (local.get $muv)))
        (local.set $s1 (f64x2.add (local.get $s1) (f64x2.mul (local.get $d) (local.get $d))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br_if $sumsq (i32.lt_u (local.get $p) (local.get $end))))
      (local.set $s0 (f64x2.add (local.get $s0) (local.get $s1)))
      (local.set $r (f64.div (f64.const 1) (f64.sqrt (f64.add
        (f64.div (f64.add (f64x2.extract_lane 0 (local.get $s0)) (f64x2.extract_lane 1 (local.get $s0))) (local.get $gsize))
        (local.get $eps)))))
      (f32.store (local.get $mean) (f32.demote_f64 (local.get $mu)))
      (f32.store (local.get $rstd) (f32.demote_f64 (local.get $r)))
      ;; y = x·a + b, channel by channel
      (local.set $g0 (i32.mul (i32.rem_u (local.get $ng) (local.get $groups)) (local.get $per)))
      (local.set $ci (i32.const 0))
      (loop $channels
        (local.set $a (f32.mul (f32.demote_f64 (local.get $r))
          (f32.load (i32.add (local.get $gamma) (i32.shl (i32.add (local.get $g0) (local.get $ci)) (i32.const 2))))))
        (local.set $bv (f32x4.splat (f32.sub
          (f32.load (i32.add (local.get $beta) (i32.shl (i32.add (local.get $g0) (local.get $ci)) (i32.const 2))))
          (f32.mul (f32.demote_f64 (local.get $mu)) (local.get $a)))))
        (local.set $av (f32x4.splat (local.get $a)))
        (local.set $cend (i32.add (local.get $x) (i32.shl (local.get $size) (i32.const 2))))
        (loop $pixels
          (v128.store align=4 (local.get $y)
            (f32x4.add (f32x4.mul (v128.load align=4 (local.get $x)) (local.get $av)) (local.get $bv)))
          (local.set $x (i32.add (local.get $x) (i32.const 16)))
          (local.set $y (i32.add (local.get $y) (i32.const 16)))
          (br_if $pixels (i32.lt_u (local.get $x) (local.get $cend))))
        (local.set $ci (i32.add (local.get $ci) (i32.const 1)))
        (br_if $channels (i32.lt_s (local.get $ci) (local.get $per))))
      (local.set $mean (i32.add (local.get $mean) (i32.const 4)))
      (local.set $rstd (i32.add (local.get $rstd) (i32.const 4)))
      (local.set $ng (i32.add (local.get $ng) (i32.const 1)))
      (br_if $groupsLoop (i32.lt_s (local.get $ng) (local.get $count))))
  )
)
