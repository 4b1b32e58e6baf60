package imagefile

// PNG row filters (PNG specification, section 9) and the choice among them.

// filterRow fills filt[f][1:] with cur filtered by each filter f that it
// tries (prev is the raw row above, zeros for the first row; bpp is bytes
// per pixel) and returns the filter whose output has the smallest sum of
// absolute values, the bytes read as signed: libpng's heuristic, which
// image/png uses too. Filters are tried in the order most likely to win
// (Up, Paeth, None, Sub, Average) and a sum stops as soon as it cannot win,
// so a loser's buffer may be left partly written; ties go to the earlier.
func filterRow(filt *[nFilter][]byte, cur, prev []byte, bpp int) int {
	n := len(cur)
	up, paf, none, sub, avg := filt[ftUp][1:1+n], filt[ftPaeth][1:1+n], filt[ftNone][1:1+n], filt[ftSub][1:1+n], filt[ftAverage][1:1+n]
	prev = prev[:n]

	best, bestSum := ftUp, 0
	for i := range n {
		up[i] = cur[i] - prev[i]
		bestSum += abs8(up[i])
	}

	sum := 0
	for i := 0; i < bpp; i++ {
		paf[i] = cur[i] - prev[i] // a = c = 0 at the left edge: Paeth predicts b
		sum += abs8(paf[i])
	}
	// Paeth: x is the byte, a its left, b its upper and c its upper-left
	// neighbour; the prediction is whichever of a, b, c is closest to
	// p = a + b - c, preferring a, then b. Written out here (a function is
	// too big for the inliner) with conditional moves, not branches: on
	// noisy rows the winner is unpredictable and mispredictions cost more
	// than the arithmetic.
	x, a, b, c, out := cur[bpp:], cur[:n-bpp], prev[bpp:], prev[:n-bpp], paf[bpp:]
	a, b, c, out = a[:len(x)], b[:len(x)], c[:len(x)], out[:len(x)]
	for i := 0; i < len(x) && sum < bestSum; i++ {
		ia, ib, ic := int(a[i]), int(b[i]), int(c[i])
		da, db := ib-ic, ia-ic // p - a, p - b
		pa, pb, pc := absInt(da), absInt(db), absInt(da+db)
		pred := ic
		if pb <= pc {
			pred = ib
		}
		if pa <= min(pb, pc) {
			pred = ia
		}
		d := x[i] - uint8(pred)
		out[i] = d
		sum += abs8(d)
	}
	if sum < bestSum {
		best, bestSum = ftPaeth, sum
	}

	sum = 0
	for i := 0; i < n && sum < bestSum; i++ {
		sum += abs8(cur[i])
	}
	if sum < bestSum {
		copy(none, cur)
		best, bestSum = ftNone, sum
	}

	sum = 0
	for i := 0; i < bpp; i++ {
		sub[i] = cur[i]
		sum += abs8(sub[i])
	}
	for i := bpp; i < n && sum < bestSum; i++ {
		sub[i] = cur[i] - cur[i-bpp]
		sum += abs8(sub[i])
	}
	if sum < bestSum {
		best, bestSum = ftSub, sum
	}

	sum = 0
	for i := 0; i < bpp; i++ {
		avg[i] = cur[i] - prev[i]/2
		sum += abs8(avg[i])
	}
	for i := bpp; i < n && sum < bestSum; i++ {
		avg[i] = cur[i] - uint8((int(cur[i-bpp])+int(prev[i]))/2)
		sum += abs8(avg[i])
	}
	if sum < bestSum {
		best = ftAverage
	}
	return best
}

// abs8 is |b| with b read as a signed byte, without a branch (filtered
// photo bytes are small of either sign at random, so a branch mispredicts).
func abs8(b uint8) int {
	x := int(int8(b))
	m := x >> 63
	return (x ^ m) - m
}

// absInt is |x| without a branch.
func absInt(x int) int {
	m := x >> 63
	return (x ^ m) - m
}
